"""Seasonal observation operators: one calibration per season (docs/model/operators.md, "Seasonal operators").

Rains et al. (2022) name seasonally varying operators as future work: what C-band VV backscatter
sees of the canopy and the soil surface changes through the year in ways LAI alone does not
describe (Vreugdenhil et al. 2018), so one set of parameters per site fitted over all seasons can
be biased in each.  :class:`SeasonalOperator`
wraps any operator and calibrates it per site and season on that season's samples only, with
the season of a sample from the ``day_of_year`` input (1..366, :data:`~s1da.framework.interfaces.OPERATOR_INPUTS`).

Seasons are day-of-year intervals ``[start_i, start_{i+1})`` of a non-leap year, the last one
wrapping round the new year; the default starts (60, 152, 244, 335) are the meteorological seasons
MAM, JJA, SON, DJF (1 March, 1 June, 1 September, 1 December).  In a leap year the day of year
of every day after 28 February is one more, so 29 February falls in MAM and the last day of each
later season moves into the next: at most one day per season boundary, a shift we accept to
keep the input a plain day of year.

The operator is also calibrated on the whole period.  A (site, season) with fewer than
``min_samples_per_season`` valid samples uses that whole-period fit (``fallback="whole_period"``,
the default; the stored ``season_fallback`` says where) or refuses the calibration
(``fallback="error"``), naming the site, the season and the counts.  R is the mean squared
residual of the seasonal predictions over all calibration samples (in sample, as the paper's);
wrap the operator in :class:`~s1da.components.operators.cross_validated.CrossValidatedOperator`
for its out-of-sample error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import attrs
import numpy as np
import xarray as xr

from s1da.components.operators.cross_validated import class_from_path, class_path
from s1da.components.operators.inputs import check_residual_variance, pearson_r, prepare_calibration, site_label, text_coordinate
from s1da.framework.interfaces import ObservationOperator

METEOROLOGICAL_STARTS = (60, 152, 244, 335)
METEOROLOGICAL_NAMES = ("MAM", "JJA", "SON", "DJF")
FALLBACKS = ("whole_period", "error")
WHOLE = "whole_period"


def check_season_starts(instance, attribute, value):
    if len(value) < 2 or any(not 1 <= day <= 365 for day in value) or list(value) != sorted(set(value)):
        raise ValueError(f"season_starts must be at least two increasing days of year in 1..365, got {list(value)}")


def season_names(starts: Sequence[int]) -> tuple[str, ...]:
    """MAM, JJA, SON, DJF for the meteorological starts, else ``from_day_<start>``."""
    if tuple(starts) == METEOROLOGICAL_STARTS:
        return METEOROLOGICAL_NAMES
    return tuple(f"from_day_{start:03d}" for start in starts)


def season_index(day_of_year: np.ndarray, starts: Sequence[int]) -> np.ndarray:
    """Index into ``starts`` of the season of each day of year (the last season wraps round 1 January)."""
    index = np.searchsorted(np.asarray(starts), np.asarray(day_of_year, dtype=float), side="right") - 1
    return np.where(index < 0, len(starts) - 1, index)


def _prefixed(dataset: xr.Dataset, prefix: str, *, keep_site: bool) -> xr.Dataset:
    """Every variable and dimension named ``prefix + name`` (``site`` kept when ``keep_site``)."""
    names = {name: prefix + name for name in [*dataset.variables, *dataset.dims] if not (keep_site and name == "site")}
    prefixed = dataset.rename(names)
    prefixed.attrs = {}
    return prefixed


def _unprefixed(dataset: xr.Dataset, prefix: str, attributes: str) -> xr.Dataset:
    names = [name for name in dataset.variables if str(name).startswith(prefix)]
    part = dataset[[name for name in names if name in dataset.data_vars]]
    part = part.drop_vars([name for name in part.coords if not str(name).startswith(prefix) and name != "site"])
    renames = {name: str(name)[len(prefix):] for name in [*part.variables, *part.dims] if str(name).startswith(prefix)}
    part = part.rename(renames)
    part.attrs = json.loads(attributes)
    return part


@attrs.define
class SeasonalOperator(ObservationOperator):
    """Any operator calibrated per site and season (module docstring); needs ``day_of_year``."""

    operator: ObservationOperator = attrs.field(validator=attrs.validators.instance_of(ObservationOperator))
    season_starts: tuple = attrs.field(
        default=METEOROLOGICAL_STARTS, converter=lambda days: tuple(int(day) for day in days), validator=check_season_starts,
        metadata={"units": "day of year", "doc": "first day of each season (non-leap year)"},
    )
    min_samples_per_season: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.ge(2)),
        metadata={"units": "1", "doc": "fewest valid samples a season needs (default: the wrapped operator's min_samples)"},
    )
    fallback: str = attrs.field(
        default="whole_period", validator=attrs.validators.in_(FALLBACKS),
        metadata={"units": "1", "doc": "a season with too few samples uses the whole-period fit, or is an error"},
    )
    _fit: dict | None = attrs.field(default=None, init=False, repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        return season_names(self.season_starts)

    @property
    def required_inputs(self) -> Mapping[str, str]:  # type: ignore[override]
        """Input names and units needed: the wrapped operator's and ``day_of_year`` (1)."""
        return {**self.operator.required_inputs, "day_of_year": "1"}

    @property
    def optional_inputs(self) -> Mapping[str, str]:  # type: ignore[override]
        """Input names and units used when given: the wrapped operator's."""
        return self.operator.optional_inputs

    @property
    def min_samples(self) -> int:  # type: ignore[override]
        return self.operator.min_samples

    @property
    def n_folds(self) -> int | None:
        """The wrapped operator's own number of cross-validation folds (None if it has none)."""
        return getattr(self.operator, "n_folds", None)

    @property
    def season_minimum(self) -> int:
        return self.min_samples_per_season or self.operator.min_samples

    def select_inputs(self, available):  # type: ignore[override]
        missing = [name for name in self.required_inputs if name not in available]
        if missing:
            raise KeyError(f"SeasonalOperator({type(self.operator).__name__}) needs input(s) {', '.join(missing)}; available: {', '.join(sorted(available))}")
        return {name: available[name] for name in [*self.required_inputs, *(n for n in self.optional_inputs if n in available)]}

    def fit(self, inputs, backscatter_db, valid=None, *, site_ids: Sequence | None = None, progress: str | None = None):
        """Calibrate on the whole period and per season; returns a new fitted ``SeasonalOperator``."""
        data = prepare_calibration(
            inputs, backscatter_db, valid, required=self.required_inputs, optional=self.optional_inputs,
            site_ids=site_ids, min_samples=self.min_samples,
        )
        base_inputs = {name: values for name, values in data.inputs.items() if name != "day_of_year"}
        season = season_index(data.inputs["day_of_year"], self.season_starts)
        whole = self.operator.fit(base_inputs, data.backscatter_db, data.valid, site_ids=data.site_ids, progress=progress)
        counts = np.stack([(data.valid & (season == s)).sum(axis=1) for s in range(len(self.season_starts))])
        enough = counts >= self.season_minimum
        if self.fallback == "error" and not enough.all():
            s, site = (int(i[0]) for i in np.nonzero(~enough))
            raise ValueError(
                f"{site_label(data.site_ids, site)}: season {self.names[s]} has {counts[s, site]} valid samples, "
                f"at least {self.season_minimum} are needed for a seasonal calibration (fallback='error'; "
                f"fallback='whole_period' uses the whole-period fit instead)"
            )
        seasonal = []
        for s, name in enumerate(self.names):
            sites = np.flatnonzero(enough[s])
            if sites.size == 0:
                seasonal.append(None)
                continue
            try:
                seasonal.append(self.operator.fit(
                    {key: values[sites] for key, values in base_inputs.items()}, data.backscatter_db[sites],
                    data.valid[sites] & (season[sites] == s), site_ids=data.site_ids[sites],
                    progress=None if progress is None else f"{progress} ({name})",
                ))
            except ValueError as error:
                raise ValueError(f"seasonal calibration, season {name}: {error}") from error
        fitted = attrs.evolve(self)
        fitted._fit = {"whole": whole, "seasonal": seasonal, "enough": enough, "counts": counts,
                       "site_ids": data.site_ids, "single_site": data.single_site}
        fitted._fit.update(fitted._in_sample_statistics(data))
        check_residual_variance(fitted._fit["error_variance"], data.site_ids, "seasonal")
        return fitted

    def _in_sample_statistics(self, data) -> dict[str, np.ndarray]:
        first = np.argmax(data.valid, axis=1)[:, np.newaxis]
        filled = {name: np.where(data.valid, values, np.take_along_axis(values, first, axis=1)) for name, values in data.inputs.items()}
        simulated = self._combined("predict", {name: values.T for name, values in filled.items()}).T  # (site, time)
        residual = np.where(data.valid, simulated - data.backscatter_db, 0.0)
        error_variance = (residual**2).sum(axis=1) / data.valid.sum(axis=1)
        r = np.array([pearson_r(simulated[i, m], data.backscatter_db[i, m]) for i, m in enumerate(data.valid)])
        return {"error_variance": error_variance, "rmsd": np.sqrt(error_variance), "r": r, "n_samples": data.valid.sum(axis=1)}

    def _require_fitted(self) -> dict:
        if self._fit is None:
            raise RuntimeError("SeasonalOperator is not fitted; call fit() or from_dataset() first")
        return self._fit

    def _combined(self, method: str, inputs) -> np.ndarray:
        """``method`` (predict or sensitivity) of each sample's season's fit, the whole-period fit where none."""
        fit = self._require_fitted()
        if "day_of_year" not in inputs:
            raise ValueError("SeasonalOperator needs the input day_of_year (1..366) to choose the season's calibration")
        arrays = {name: np.asarray(values, dtype=float) for name, values in inputs.items()}
        shape = np.broadcast_shapes(*(values.shape for values in arrays.values()))
        if fit["single_site"]:
            shape = (*shape, 1)
            arrays = {name: values[..., np.newaxis] for name, values in arrays.items()}
        arrays = {name: np.broadcast_to(values, shape) for name, values in arrays.items()}
        base = {name: values for name, values in arrays.items() if name != "day_of_year"}
        out = np.array(getattr(fit["whole"], method)(base), dtype=float)
        season = season_index(arrays["day_of_year"], self.season_starts)
        for s, operator in enumerate(fit["seasonal"]):
            if operator is None or not (season == s).any():
                continue
            sites = np.flatnonzero(fit["enough"][s])
            part = getattr(operator, method)({name: values[..., sites] for name, values in base.items()})
            out[..., sites] = np.where(season[..., sites] == s, part, out[..., sites])
        return out[..., 0] if fit["single_site"] else out

    def predict(self, inputs) -> np.ndarray:
        """sigma0 dB shaped ``(..., site)``: each sample by its season's calibration."""
        return self._combined("predict", inputs)

    def sensitivity(self, inputs, step: float = 1e-3) -> np.ndarray:
        return self._combined("sensitivity", inputs)

    @property
    def error_variance(self) -> np.ndarray:
        """R per site (dB2): mean squared residual of the seasonal predictions over the calibration set."""
        return self._require_fitted()["error_variance"].copy()

    @property
    def site_ids(self) -> np.ndarray:
        return self._require_fitted()["site_ids"]

    @property
    def whole_period_operator(self) -> ObservationOperator:
        """The wrapped operator calibrated on all seasons together."""
        return self._require_fitted()["whole"]

    def to_dataset(self) -> xr.Dataset:
        fit = self._require_fitted()
        whole = fit["whole"].to_dataset()
        site = ("site", text_coordinate(fit["site_ids"]), {"long_name": "site identifier", "units": "1"})
        dataset = xr.Dataset(
            {
                "error_variance": ("site", fit["error_variance"], {"units": "dB2", "long_name": "observation error variance R: mean squared residual of the seasonal calibration"}),
                "rmsd": ("site", fit["rmsd"], {"units": "dB", "long_name": "in-sample RMSD of the seasonal calibration"}),
                "r": ("site", fit["r"], {"units": "1", "long_name": "in-sample Pearson correlation of the seasonal calibration"}),
                "n_samples": ("site", fit["n_samples"], {"units": "1", "long_name": "number of calibration samples"}),
                "season_samples": (("season", "site"), fit["counts"], {"units": "1", "long_name": "calibration samples per season"}),
                "season_fallback": (("season", "site"), (~fit["enough"]).astype("int8"), {"units": "1", "long_name": "1 where the season has too few samples and uses the whole-period calibration"}),
            },
            coords={
                "site": site,
                "season": ("season", text_coordinate(self.names), {"long_name": "season", "units": "1"}),
                "season_start": ("season", np.array(self.season_starts), {"long_name": "first day of the season (non-leap year)", "units": "day of year"}),
            },
        )
        dataset = dataset.merge(_prefixed(whole.drop_vars("site"), f"{WHOLE}_", keep_site=True).assign_coords(site=dataset["site"]))
        attributes = {f"{WHOLE}_attributes": json.dumps(whole.attrs)}
        for name, operator in zip(self.names, fit["seasonal"]):
            if operator is not None:
                part = operator.to_dataset()
                attributes[f"{name}_attributes"] = json.dumps(part.attrs)
                dataset = dataset.merge(_prefixed(part, f"{name}_", keep_site=False))
        dataset.attrs = {
            "operator": "seasonal",
            "seasonal_wrapped_class": class_path(type(fit["whole"])),
            "season_starts": list(self.season_starts),
            "min_samples_per_season": self.season_minimum,
            "fallback": self.fallback,
            "single_site": int(fit["single_site"]),
            **attributes,
        }
        return dataset

    @classmethod
    def from_dataset(cls, dataset: xr.Dataset) -> SeasonalOperator:
        """Rebuild from :meth:`to_dataset` output (no refit); predictions are bit-identical."""
        if dataset.attrs.get("operator") != "seasonal":
            raise ValueError("dataset was not written by SeasonalOperator.to_dataset")
        a = dataset.attrs
        wrapped = class_from_path(a["seasonal_wrapped_class"])
        whole_part = _unprefixed(dataset, f"{WHOLE}_", a[f"{WHOLE}_attributes"]).assign_coords(site=dataset["site"].values)
        whole = wrapped.from_dataset(whole_part)
        operator = cls(whole, season_starts=tuple(a["season_starts"]), min_samples_per_season=int(a["min_samples_per_season"]), fallback=a["fallback"])
        seasonal = []
        for name in operator.names:
            key = f"{name}_attributes"
            seasonal.append(wrapped.from_dataset(_unprefixed(dataset, f"{name}_", a[key])) if key in a else None)
        operator._fit = {
            "whole": whole,
            "seasonal": seasonal,
            "enough": dataset["season_fallback"].values == 0,
            "counts": dataset["season_samples"].values,
            "site_ids": dataset["site"].values,
            "single_site": bool(a["single_site"]),
            **{name: dataset[name].values for name in ("error_variance", "rmsd", "r", "n_samples")},
        }
        return operator
