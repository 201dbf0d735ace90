"""The store's ``validation`` group: tidy tables of per-site scores and network summaries.

Each sub-group holds variables of one dimension set only, so ``ds.to_dataframe()`` gives a
table without NaN padding (see ``docs/`` for the store layout):

====================  ====================  ======================================================
group                 dims                  content
====================  ====================  ======================================================
``sites``             ``(site)``            S1 days, temporal SD of S1, R(open-loop SM, S1)
``forward``           ``(operator, site)``  fit of each operator's simulation on open-loop SM to S1
``insitu``/``truth``  ``(run, site)``       R, anomaly R, RMSD, ubRMSD, bias, matched days
``improvement_*``     ``(run, site)``       DA runs only: Delta R and Delta anomaly R vs the OL
``network``           ``(reference, run)``  DA runs: network Delta R and share improved, 95 % CI
``increments``        ``(run, site)``       DA runs: analysis increments and innovation statistics
``ensemble``          ``(run, site)``       spread, collapsed-spread share, spread-skill
``rank_histogram``    ``(run, rank)``       ranks of the truth among the members (twin only)
====================  ====================  ======================================================

Scores follow Entekhabi et al. (2010): R, RMSD, ubRMSD and bias of the ensemble mean, every run
on the same matched days; anomaly R after removing a 35-day day-of-year climatology (Albergel
et al. 2009; Gruber et al. 2020); bootstrap intervals resample sites (Efron & Tibshirani 1993);
spread-skill and rank histograms after Fortin et al. (2014) and Hamill (2001).  Open-loop scores
live under the run label ``open_loop``, never under an operator label.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence

import attrs
import numpy as np
import xarray as xr

from s1da.framework import metrics, progress
from s1da.framework.randomness import Purpose, stream
from s1da.framework.store import EnsembleStore

OPEN_LOOP = "open_loop"
"""Run label of the open loop in every ``(run, ...)`` table."""

REFERENCES = ("insitu", "truth")
"""Soil-moisture references a store may hold (group name, variable below)."""

_REFERENCE_VARIABLE = {"insitu": "insitu_soil_moisture", "truth": "surface_soil_moisture"}

_LABELS = {
    "r": ("1", "temporal Pearson correlation of the ensemble mean with {ref}"),
    "anomaly_r": ("1", "temporal correlation of anomalies from the seasonal climatology with {ref}"),
    "rmsd": ("m3 m-3", "root-mean-square difference of the ensemble mean from {ref}"),
    "ubrmsd": ("m3 m-3", "unbiased root-mean-square difference of the ensemble mean from {ref}"),
    "bias": ("m3 m-3", "mean difference, ensemble mean minus {ref}"),
    "n_samples": ("1", "matched days (reference and every run valid) against {ref}"),
}


def _variable(values, dims, units: str, long_name: str) -> tuple:
    return (dims, np.asarray(values), {"units": units, "long_name": long_name})


class _SiteReader:
    """Groups of the store with a ``site`` dimension, cut to one store ``region`` (``{}``: all).
    Gridded stores ``(..., y, x)`` are read as sites too: one per cell that holds open-loop soil
    moisture, with the row-major cell id ``y * nx + x`` as the site id, so the tables are the
    same for both layouts.  ``keys`` orders the sites of every region as the whole store does
    (site positions, or cell ids)."""

    def __init__(self, store: EnsembleStore, region: Mapping[str, slice], given: Mapping[str, xr.Dataset] | None = None,
                 during_run: bool = False):
        self.store, self.region, self.during_run = store, dict(region), during_run
        self.cells: np.ndarray | None = None
        # groups supplied by the caller, already on the region's sites (site tables only)
        self.opened: dict[str, xr.Dataset] = dict(given or {})
        self.given = frozenset(self.opened)
        probe = self.open(OPEN_LOOP)
        if {"y", "x"} <= set(probe.dims) and "site" not in probe.dims:
            self.nx = probe.sizes["x"]
            self.y0, self.x0 = (self.region[dim].start or 0 if dim in self.region else 0 for dim in ("y", "x"))
            # the ensemble mean, when stored, is finite where the members are, at 1/M of the reading
            surface = self._cut(probe[["surface_soil_moisture_mean"]])["surface_soil_moisture_mean"] if "surface_soil_moisture_mean" in probe \
                else self._cut(probe[["surface_soil_moisture"]])["surface_soil_moisture"].isel(member=0)
            surface = surface.transpose("time", "y", "x")
            self.tile_nx = surface.sizes["x"]
            step = int(probe.attrs.get("chunk_days") or surface.sizes["time"])
            filled = np.zeros(surface.shape[1:], dtype=bool)
            for start in range(0, surface.sizes["time"], step):  # a store chunk at a time: memory follows the tile
                filled |= np.isfinite(surface.isel(time=slice(start, start + step)).values).any(axis=0)
            self.local = np.flatnonzero(filled.ravel())
            rows, columns = np.divmod(self.local, self.tile_nx)
            self.cells = (self.y0 + rows) * self.nx + self.x0 + columns
            self.keys = self.cells
        else:
            window = self.region.get("site", slice(None)).indices(probe.sizes["site"])
            self.keys = np.arange(*window)
        # numpy sums a (time, 1) array along time pairwise, a (time, n >= 2) one row by row: a
        # lone site is read twice, so that its scores round as in any other tile
        self.lone = self.keys.size == 1
        self.positions = np.repeat(self.keys, 2) if self.lone else self.keys

    def open(self, name: str) -> xr.Dataset:
        """Group ``name``, lazily (opened once per tile)."""
        if name not in self.opened:
            # during the run, this region is finished while other tasks still write theirs
            self.opened[name] = self.store.read(name, dask=False, allow_incomplete=self.during_run)
        return self.opened[name]

    def has(self, name: str) -> bool:
        return name in self.given or self.store.has_group(name)

    def _cut(self, dataset: xr.Dataset) -> xr.Dataset:
        return dataset.isel({dim: window for dim, window in self.region.items() if dim in dataset.dims})

    def read(self, name: str, variables: Sequence[str] | None = None, time: slice | None = None) -> xr.Dataset:
        """Group ``name`` (its ``variables``; days ``time``) on the region's sites, in memory."""
        dataset = self.open(name)
        dataset = dataset if variables is None else dataset[list(variables)]
        dataset = dataset if name in self.given else self._cut(dataset)
        if time is not None:
            dataset = dataset.isel(time=time)
        if self.cells is not None and "site" in dataset.dims:  # a grid's table of its land cells (calibration)
            dataset = dataset.sel(site=self.cells)
        if self.cells is None or "site" in dataset.dims or not {"y", "x"} <= set(dataset.dims):
            return dataset.isel(site=[0, 0]) if self.lone and "site" in dataset.dims else dataset
        coords = {key: dataset[key] for key in ("lat", "lon") if key in dataset.coords}
        flat = dataset.drop_vars(list(coords)).stack(cell=("y", "x")).reset_index("cell", drop=True)
        if self.local.size < flat.sizes["cell"]:  # a tile with sea or masked cells
            flat = flat.isel(cell=self.local)
        flat = flat.rename({"cell": "site"}).assign_coords(site=self.cells.astype(np.int64))
        # C order, as a whole-grid read gives: the scores' sums then round alike for any tile
        flat = flat.map(lambda variable: variable.copy(data=np.ascontiguousarray(variable.values)), keep_attrs=True)
        rows, columns = np.divmod(self.local, self.tile_nx)
        if "lat" in coords and coords["lat"].dims == ("y",):
            flat = flat.assign_coords(lat=("site", coords["lat"].values[rows]), lon=("site", coords["lon"].values[columns]))
            flat["lat"].attrs, flat["lon"].attrs = dict(coords["lat"].attrs), dict(coords["lon"].attrs)
        return flat.isel(site=[0, 0]) if self.lone else flat


def _site_index(sites: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Integer stream keys of the sites: the ids when integer, else their positions in the store."""
    return sites.astype(np.int64) if np.issubdtype(sites.dtype, np.integer) else np.asarray(positions, dtype=np.int64)


class _Ensembles:
    """Ensemble mean and spread ``(time, site)`` of each run's surface soil moisture, read one
    time chunk at a time (memory does not grow with members times years)."""

    def __init__(self, store: _SiteReader, runs: Sequence[str], truth: np.ndarray | None, tie_breaker: np.ndarray | None):
        self.mean: dict[str, np.ndarray] = {}
        self.spread: dict[str, np.ndarray] = {}
        self.ranks: dict[str, np.ndarray] = {}
        self.members: dict[str, int] = {}
        for run in runs:
            ds = store.open(run)  # lazily: sizes and attributes
            source = ds["surface_soil_moisture"]
            step = int(ds.attrs.get("chunk_days") or source.sizes["time"])
            shape = (source.sizes["time"], store.positions.size)
            mean, spread = np.empty(shape), np.empty(shape)
            ranks = np.full(shape, np.nan) if truth is not None else None
            for start in range(0, shape[0], step):  # one store chunk of days at a time
                window = slice(start, min(start + step, shape[0]))
                block = store.read(run, ["surface_soil_moisture"], time=window)["surface_soil_moisture"]
                block = block.transpose("time", "member", "site").values
                mean[window] = block.mean(axis=1)
                spread[window] = metrics.ensemble_spread(block)
                if ranks is not None:
                    ranks[window] = metrics.truth_ranks(block, truth[window], tie_breaker[window])
            self.mean[run], self.spread[run], self.members[run] = mean, spread, source.sizes["member"]
            if ranks is not None:
                self.ranks[run] = ranks


def _site_table(sites: np.ndarray, backscatter: np.ndarray, open_loop_mean: np.ndarray, min_samples: int,
                site_coords: Mapping[str, xr.DataArray]) -> xr.Dataset:
    s1_days = np.isfinite(backscatter).sum(axis=0)
    temporal_sd = metrics.temporal_sd(backscatter, min_samples=min_samples)
    return xr.Dataset(
        {
            "s1_days": _variable(s1_days, ("site",), "1", "days with a usable Sentinel-1 observation"),
            "s1_temporal_sd": _variable(temporal_sd, ("site",), "dB", "temporal standard deviation of Sentinel-1 VV"),
            "r_open_loop_backscatter": _variable(
                metrics.pearson_r(open_loop_mean, backscatter, min_samples=min_samples), ("site",), "1",
                "temporal R of open-loop ensemble-mean surface soil moisture with Sentinel-1 VV",
            ),
        },
        coords={"site": sites, **site_coords},
    )


def _forward_table(store: _SiteReader, operators: Sequence[str], sites: np.ndarray, backscatter: np.ndarray,
                   min_samples: int) -> xr.Dataset | None:
    if not operators or not store.has("calibration"):
        return None
    calibration = store.read("calibration", [f"{label}_simulated_backscatter" for label in operators])
    simulated = {label: calibration[f"{label}_simulated_backscatter"].transpose("time", "site").values for label in operators}
    common = metrics.matched_mask(backscatter, *simulated.values())
    observed = np.where(common, backscatter, np.nan)
    rows: dict[str, list[np.ndarray]] = {"r": [], "rmsd": [], "bias": [], "variance_ratio": [], "simulated_sd": []}
    for values in simulated.values():
        values = np.where(common, values, np.nan)
        rows["r"].append(metrics.pearson_r(values, observed, min_samples=min_samples))
        rows["rmsd"].append(metrics.rmsd(values, observed, min_samples=min_samples))
        rows["bias"].append(metrics.bias(values, observed, min_samples=min_samples))
        rows["variance_ratio"].append(metrics.variance_ratio(values, observed, min_samples=min_samples))
        rows["simulated_sd"].append(metrics.temporal_sd(values, min_samples=min_samples))
    meta = {
        "r": ("1", "temporal R of the operator's simulation with Sentinel-1 VV"),
        "rmsd": ("dB", "RMSD of the operator's simulation from Sentinel-1 VV"),
        "bias": ("dB", "mean of the simulation minus Sentinel-1 VV"),
        "variance_ratio": ("1", "variance of the simulation over the variance of Sentinel-1 VV"),
        "simulated_sd": ("dB", "temporal standard deviation of the simulated backscatter on S1 days"),
    }
    dims = ("operator", "site")
    return xr.Dataset(
        {key: _variable(np.stack(value), dims, *meta[key]) for key, value in rows.items()},
        coords={"operator": ("operator", list(operators), {"long_name": "observation operator", "units": "1"}), "site": sites},
    )


def _reference_table(means: Mapping[str, np.ndarray], reference: np.ndarray, day_of_year: np.ndarray, sites: np.ndarray,
                     reference_name: str, min_samples: int) -> xr.Dataset:
    common = metrics.matched_mask(reference, *means.values())
    observed = np.where(common, reference, np.nan)
    rows: dict[str, list[np.ndarray]] = {key: [] for key in _LABELS}
    for values in means.values():
        values = np.where(common, values, np.nan)
        rows["r"].append(metrics.pearson_r(values, observed, min_samples=min_samples))
        rows["anomaly_r"].append(metrics.anomaly_r(values, observed, day_of_year, min_samples=min_samples))
        rows["rmsd"].append(metrics.rmsd(values, observed, min_samples=min_samples))
        rows["ubrmsd"].append(metrics.ubrmsd(values, observed, min_samples=min_samples))
        rows["bias"].append(metrics.bias(values, observed, min_samples=min_samples))
        rows["n_samples"].append(common.sum(axis=0))
    what = "in-situ soil moisture" if reference_name == "insitu" else "the true surface soil moisture"
    return xr.Dataset(
        {key: _variable(np.stack(value), ("run", "site"), _LABELS[key][0], _LABELS[key][1].format(ref=what))
         for key, value in rows.items()},
        coords={"run": list(means), "site": sites},
    )


def _improvement_table(scores: xr.Dataset, da_runs: Sequence[str], reference_name: str) -> xr.Dataset:
    open_loop = scores.sel(run=OPEN_LOOP)
    data = {}
    for score, name in (("r", "R"), ("anomaly_r", "anomaly R")):
        delta = np.stack([metrics.delta_r(scores[score].sel(run=run).values, open_loop[score].values) for run in da_runs])
        data[f"delta_{score}"] = _variable(delta, ("run", "site"), "1", f"{name} of the DA run minus {name} of the open loop against {reference_name}")
    return xr.Dataset(data, coords={"run": list(da_runs), "site": scores["site"].values})


def _network_table(improvements: Mapping[str, xr.Dataset], entropy: int) -> xr.Dataset:
    """Network Delta R and share of sites improved with 95 % bootstrap intervals (same site
    resamples for every run of a reference, so runs are compared on the same draws)."""
    references = list(improvements)
    runs = list(improvements[references[0]]["run"].values)
    names = ("mean_delta_r", "mean_delta_r_low", "mean_delta_r_high", "percent_improved", "percent_improved_low",
             "percent_improved_high", "mean_delta_anomaly_r")
    table = {name: np.full((len(references), len(runs)), np.nan) for name in names}
    for i, reference in enumerate(references):
        for j, run in enumerate(runs):
            delta = improvements[reference]["delta_r"].sel(run=run).values
            table["mean_delta_r"][i, j] = metrics.network_mean(delta)
            table["percent_improved"][i, j] = metrics.percent_improved(delta)
            table["mean_delta_anomaly_r"][i, j] = metrics.network_mean(improvements[reference]["delta_anomaly_r"].sel(run=run).values)
            # network-level draws: site key 0, the reference's position as the block
            low_high = metrics.bootstrap_interval(delta, metrics.mean_over_sites, stream(entropy, 0, Purpose.VALIDATION_BOOTSTRAP, i))
            table["mean_delta_r_low"][i, j], table["mean_delta_r_high"][i, j] = low_high
            low_high = metrics.bootstrap_interval(delta, metrics.percent_positive, stream(entropy, 0, Purpose.VALIDATION_BOOTSTRAP, i))
            table["percent_improved_low"][i, j], table["percent_improved_high"][i, j] = low_high
    meta = {
        "mean_delta_r": ("1", "network mean of Delta R"),
        "mean_delta_r_low": ("1", "lower end of the 95 % bootstrap interval of the network mean Delta R"),
        "mean_delta_r_high": ("1", "upper end of the 95 % bootstrap interval of the network mean Delta R"),
        "percent_improved": ("%", "share of scored sites with Delta R > 0"),
        "percent_improved_low": ("%", "lower end of the 95 % bootstrap interval of the share of sites improved"),
        "percent_improved_high": ("%", "upper end of the 95 % bootstrap interval of the share of sites improved"),
        "mean_delta_anomaly_r": ("1", "network mean of Delta anomaly R"),
    }
    return xr.Dataset(
        {name: _variable(values, ("reference", "run"), *meta[name]) for name, values in table.items()},
        coords={"reference": ("reference", references, {"long_name": "soil-moisture reference", "units": "1"}), "run": runs},
        attrs={"bootstrap_resamples": 2000, "bootstrap_level": 0.95},
    )


def _increment_table(store: _SiteReader, da_runs: Sequence[str], sites: np.ndarray) -> xr.Dataset:
    rows: dict[str, list[np.ndarray]] = {key: [] for key in ("mean_abs_increment", "mean_signed_increment", "analysis_days",
                                                             "mean_innovation", "normalised_innovation_variance")}
    for run in da_runs:
        ds = store.read(run, ["analysis_increment_surface", "innovation", "normalised_innovation"])
        increments = ds["analysis_increment_surface"].transpose("time", "site").values
        innovation = ds["innovation"].transpose("time", "site").values
        normalised = ds["normalised_innovation"].transpose("time", "site").values
        rows["mean_abs_increment"].append(metrics.mean_absolute_increment(increments, axis=0))
        rows["mean_signed_increment"].append(metrics.mean_signed_increment(increments, axis=0))
        rows["analysis_days"].append(np.isfinite(increments).sum(axis=0))
        rows["mean_innovation"].append(metrics.network_mean(innovation, axis=0))
        rows["normalised_innovation_variance"].append(metrics.network_mean(normalised**2, axis=0))
    meta = {
        "mean_abs_increment": ("m3 m-3", "mean absolute analysis increment of surface soil moisture"),
        "mean_signed_increment": ("m3 m-3", "mean signed analysis increment of surface soil moisture"),
        "analysis_days": ("1", "days with an analysis"),
        "mean_innovation": ("dB", "mean innovation (observation minus ensemble-mean prediction)"),
        "normalised_innovation_variance": ("1", "mean squared normalised innovation (1 when R and spread are consistent)"),
    }
    return xr.Dataset(
        {key: _variable(np.stack(value), ("run", "site"), *meta[key]) for key, value in rows.items()},
        coords={"run": list(da_runs), "site": sites},
    )


def _ensemble_table(ensembles: _Ensembles, observed_days: np.ndarray, truth: np.ndarray | None, sites: np.ndarray,
                    min_samples: int) -> xr.Dataset:
    runs = list(ensembles.mean)
    rows: dict[str, list[np.ndarray]] = {key: [] for key in ("rms_spread", "mean_spread_obs_days", "collapsed_share",
                                                             "collapsed_share_obs_days")}
    if truth is not None:
        rows.update(rmse_truth=[], spread_skill_ratio=[])
    for run in runs:
        spread = ensembles.spread[run]
        on_obs_days = np.where(observed_days, spread, np.nan)
        rows["rms_spread"].append(metrics.rms_spread(spread, min_samples=min_samples))
        rows["mean_spread_obs_days"].append(metrics.network_mean(on_obs_days, axis=0))
        rows["collapsed_share"].append(metrics.collapsed_share(spread))
        rows["collapsed_share_obs_days"].append(metrics.collapsed_share(on_obs_days))
        if truth is not None:
            matched = np.where(np.isfinite(spread), truth, np.nan)
            rmse = metrics.rmsd(ensembles.mean[run], matched, min_samples=min_samples)
            rows["rmse_truth"].append(rmse)
            rows["spread_skill_ratio"].append(metrics.spread_skill_ratio(metrics.rms_spread(np.where(np.isfinite(matched), spread, np.nan), min_samples=min_samples), rmse, ensembles.members[run]))
    threshold = metrics.COLLAPSED_SPREAD
    meta = {
        "rms_spread": ("m3 m-3", "root-mean-square ensemble spread (SD) of surface soil moisture"),
        "mean_spread_obs_days": ("m3 m-3", "mean ensemble spread of surface soil moisture on days with S1"),
        "collapsed_share": ("1", f"share of days with an ensemble spread below {threshold} m3 m-3"),
        "collapsed_share_obs_days": ("1", f"share of S1 days with an ensemble spread below {threshold} m3 m-3"),
        "rmse_truth": ("m3 m-3", "RMSE of the ensemble mean against the truth"),
        "spread_skill_ratio": ("1", "sqrt((M+1)/M) RMS spread over RMSE against the truth (1: reliable)"),
    }
    return xr.Dataset(
        {key: _variable(np.stack(value), ("run", "site"), *meta[key]) for key, value in rows.items()},
        coords={"run": runs, "site": sites},
        attrs={"collapsed_spread_threshold": threshold},
    )


def _rank_table(counts: Mapping[str, np.ndarray], members: Mapping[str, int]) -> xr.Dataset:
    (n_members,) = {members[run] for run in counts}
    return xr.Dataset(
        {"count": _variable(np.stack(list(counts.values())), ("run", "rank"), "1", "site-days on which the truth has this rank among the members")},
        coords={"run": list(counts), "rank": ("rank", np.arange(n_members + 1), {"long_name": "rank of the truth (0: below every member)", "units": "1"})},
    )


@attrs.frozen
class TileScores:
    """The per-site tables of one store region and what the network tables pool from it."""

    keys: np.ndarray
    """Order of the region's sites in the whole store (site positions, or cell ids)."""
    tables: dict[str, xr.Dataset]
    rank_counts: dict[str, np.ndarray]
    members: dict[str, int]


def validate_store(
    store: EnsembleStore, operators: Sequence[str], *, min_samples: int = 30, tiles: Sequence[Mapping[str, slice]] | None = None,
    mapper: Callable[[Callable, list], Iterable] | None = None, scored: Mapping[int, TileScores] | None = None,
) -> xr.DataTree:
    """Build the ``validation`` tree for a store whose runs are complete (a progress bar over
    its tiles when :func:`s1da.framework.progress.showing` is on).

    ``tiles`` are store regions (e.g. the engine's tasks; ``None``: the whole store as one)
    scored one at a time by :func:`score_tile`, so memory follows the tile, not the domain.
    ``mapper(function, tiles)`` yields the results in tile order (default: in this process; the
    engine passes one that runs them on its dask cluster).  Every per-site score depends on its
    site alone and the tables are pooled in the store's site order, so the tree is the same, bit
    for bit, for any tiling and any mapper.  ``scored`` holds tiles scored already (by their
    index in ``tiles``; the engine scores each task's tile when the task ends), which are not
    scored again.
    """
    regions = [dict(region) for region in tiles] if tiles is not None else [{}]
    known = dict(scored or {})
    missing = [index for index in range(len(regions)) if index not in known]
    scorer = functools.partial(score_tile, str(store.path), tuple(operators), int(min_samples))
    with progress.bar(len(regions), "validation", "tile", leave=False) as shown:
        shown.update(len(regions) - len(missing))
        for index, result in zip(missing, (mapper or map)(scorer, [regions[index] for index in missing])):
            known[index] = result
            shown.update()
    entropy = int(store.attributes.get("seed_entropy", 0))
    return _network_tree(_pool([known[index] for index in range(len(regions))]), operators, min_samples, entropy)


def score_tile(path: str, operators: Sequence[str], min_samples: int, region: Mapping[str, slice],
               calibration: xr.Dataset | None = None, during_run: bool = False) -> TileScores:
    """Per-site tables of the sites in ``region`` of the store at ``path`` (runs complete).

    ``during_run``: the region's runs are finished but the store's groups are not yet complete
    (the engine scores a task's tile when the task ends, while other tasks still run);
    ``calibration`` then gives the region's ``<operator>_simulated_backscatter (time, site)``,
    with the site coordinate of the store's calibration group, in place of that group (written
    from all tasks' fits at the end).
    """
    given = {"calibration": calibration} if calibration is not None else None
    return _score_tile(EnsembleStore(path), operators, min_samples, region, given, during_run)


validate_store.score_tile = score_tile  # the tile scorer the engine runs at the end of each task


def _score_tile(store: EnsembleStore, operators: Sequence[str], min_samples: int, region: Mapping[str, slice],
                given: Mapping[str, xr.Dataset] | None = None, during_run: bool = False) -> TileScores:
    da_runs = [f"da_{label}" for label in operators]
    runs = [OPEN_LOOP, *da_runs]
    entropy = int(store.attributes.get("seed_entropy", 0))
    reader = _SiteReader(store, region, given, during_run)
    observations = reader.read("observations", ["backscatter"])
    sites = observations["site"].values
    site_coords = {name: observations[name].load() for name in ("lat", "lon", "site_name") if name in observations.coords}
    backscatter = observations["backscatter"].transpose("time", "site").values
    day_of_year = observations["time"].dt.dayofyear.values
    references = {
        name: reader.read(name, [_REFERENCE_VARIABLE[name]])[_REFERENCE_VARIABLE[name]].transpose("time", "site").values
        for name in REFERENCES if store.has_group(name)
    }
    truth = references.get("truth")
    tie_breaker = None
    if truth is not None:  # one keyed stream per site: any subset of sites draws the same numbers
        keys = _site_index(sites, reader.positions)
        draws = [stream(entropy, int(key), Purpose.VALIDATION_RANK_TIES).random(truth.shape[0]) for key in keys]
        tie_breaker = np.stack(draws, axis=1) if draws else np.empty(truth.shape)
    ensembles = _Ensembles(reader, runs, truth, tie_breaker)

    tables: dict[str, xr.Dataset] = {"sites": _site_table(sites, backscatter, ensembles.mean[OPEN_LOOP], min_samples, site_coords)}
    forward = _forward_table(reader, operators, sites, backscatter, min_samples)
    if forward is not None:
        tables["forward"] = forward
    for name, reference in references.items():
        tables[name] = _reference_table(ensembles.mean, reference, day_of_year, sites, name, min_samples)
    if da_runs:
        tables["increments"] = _increment_table(reader, da_runs, sites)
    tables["ensemble"] = _ensemble_table(ensembles, np.isfinite(backscatter), truth, sites, min_samples)
    n_sites = reader.keys.size
    tables = {name: table.isel(site=slice(0, n_sites)) for name, table in tables.items()}
    counts = {run: metrics.rank_histogram(ranks[:, :n_sites], ensembles.members[run]) for run, ranks in ensembles.ranks.items()}
    return TileScores(np.asarray(reader.keys, dtype=np.int64), tables, counts, dict(ensembles.members))


def _pool(scored: Sequence[TileScores]) -> TileScores:
    """The tiles' tables in the store's site order (rank counts summed: integers, exact)."""
    order = np.argsort(np.concatenate([tile.keys for tile in scored]), kind="stable")
    tables = {
        name: xr.concat([tile.tables[name] for tile in scored], dim="site", data_vars="minimal", coords="minimal",
                        compat="override", combine_attrs="override").isel(site=order)
        for name in scored[0].tables
    }
    counts = {run: np.sum([tile.rank_counts[run] for tile in scored], axis=0) for run in scored[0].rank_counts}
    return TileScores(np.concatenate([tile.keys for tile in scored])[order], tables, counts, scored[0].members)


def _network_tree(pooled: TileScores, operators: Sequence[str], min_samples: int, entropy: int) -> xr.DataTree:
    da_runs = [f"da_{label}" for label in operators]
    children: dict[str, xr.Dataset] = {}
    improvements = {}
    for name in ("sites", "forward", *REFERENCES):
        if name not in pooled.tables:
            continue
        children[name] = pooled.tables[name]
        if name in REFERENCES and da_runs:
            improvements[name] = children[f"improvement_{name}"] = _improvement_table(children[name], da_runs, name)
    if improvements:
        children["network"] = _network_table(improvements, entropy)
    for name in ("increments", "ensemble"):
        if name in pooled.tables:
            children[name] = pooled.tables[name]
    if pooled.rank_counts:
        children["rank_histogram"] = _rank_table(pooled.rank_counts, pooled.members)
    for dataset in children.values():
        _label_coords(dataset)
    n_sites = children["sites"].sizes["site"]
    attrs = _summary(children, operators) | {"min_samples": int(min_samples), "n_sites": int(n_sites)}
    return xr.DataTree.from_dict({"/": xr.Dataset(attrs=attrs), **{f"/{name}": ds for name, ds in children.items()}})


def _label_coords(dataset: xr.Dataset) -> None:
    labels = {"site": "site identifier", "run": "model run (open_loop or da_<operator>)"}
    for name, long_name in labels.items():
        if name in dataset.coords and "long_name" not in dataset[name].attrs:
            dataset[name].attrs.update({"long_name": long_name, "units": "1"})


def _summary(children: Mapping[str, xr.Dataset], operators: Sequence[str]) -> dict[str, float | int | None]:
    """Flat network summaries as group attributes (keys kept stable for scripts)."""
    summary: dict[str, float | int | None] = {}

    def put(key: str, value) -> None:
        value = float(value)
        summary[key] = value if np.isfinite(value) else None

    put("mean_r_backscatter_open_loop", metrics.network_mean(children["sites"]["r_open_loop_backscatter"].values))
    if "forward" in children:
        for label in operators:
            table = children["forward"].sel(operator=label)
            put(f"mean_r_backscatter_{label}", metrics.network_mean(table["r"].values))
            put(f"mean_rmsd_backscatter_{label}", metrics.network_mean(table["rmsd"].values))
            put(f"mean_variance_ratio_{label}", metrics.network_mean(table["variance_ratio"].values))
    for reference in REFERENCES:
        if reference not in children:
            continue
        for run in children[reference]["run"].values:
            put(f"mean_r_{reference}_{run}", metrics.network_mean(children[reference]["r"].sel(run=run).values))
            put(f"mean_ubrmsd_{reference}_{run}", metrics.network_mean(children[reference]["ubrmsd"].sel(run=run).values))
        if "network" in children:
            network = children["network"].sel(reference=reference)
            for label in operators:
                put(f"mean_delta_r_{reference}_{label}", network["mean_delta_r"].sel(run=f"da_{label}"))
                put(f"percent_improved_{reference}_{label}", network["percent_improved"].sel(run=f"da_{label}"))
    if "increments" in children:
        for label in operators:
            table = children["increments"].sel(run=f"da_{label}")
            days = table["analysis_days"].values
            weights = np.where(days > 0, days, 0)
            with np.errstate(invalid="ignore", divide="ignore"):
                put(f"mean_abs_increment_{label}", np.nansum(table["mean_abs_increment"].values * weights) / weights.sum())
                put(f"mean_signed_increment_{label}", np.nansum(table["mean_signed_increment"].values * weights) / weights.sum())
            summary[f"analysis_days_{label}"] = int(days.sum())
    return summary
