"""Gridded twin: any subset of cells reproduces the tile, fields are spatially coherent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s1da.components.gleam import GleamModel
from s1da.components.gleam.sites import statics_from_sites
from s1da.components.sources.twin import build_network
from s1da.components.sources.twin_grid import TwinGridOptions, build_grid_network, land_cells, twin_grid_site_data

REPO = Path(__file__).resolve().parents[1]
START, END = "2018-03-01", "2018-05-01"
OPTIONS = TwinGridOptions(south=47.0, west=8.0, ny=10, nx=12, land_fraction=0.8, coast_length=0.05)


@pytest.fixture(scope="module")
def tile():
    return build_grid_network(OPTIONS, START, END, seed=11)


def _assert_same_cells(whole, part):
    ids = part.site_ids
    picked = whole.select_sites(ids)
    for name in ("precipitation", "air_temperature", "net_radiation"):
        np.testing.assert_array_equal(part.true_forcing[name].values, picked.true_forcing[name].values)
        np.testing.assert_array_equal(part.model_forcing[name].values, picked.model_forcing[name].values)
    np.testing.assert_array_equal(part.lai.values, picked.lai.values)
    np.testing.assert_array_equal(part.calendar["acquired"].values, picked.calendar["acquired"].values)
    for name in ("land_cover", "texture", "w_fc", "radar_C", "insitu_bias"):
        np.testing.assert_array_equal(part.sites[name].values, picked.sites[name].values)


@settings(max_examples=5)
@given(data=st.data())
def test_any_subset_of_land_cells_gives_the_same_numbers(tile, data):
    network, _ = tile
    ids = network.site_ids
    chosen = data.draw(st.lists(st.sampled_from(ids.tolist()), min_size=1, max_size=8, unique=True))
    part, grid = build_grid_network(TwinGridOptions(**{**_options_dict(), "site_ids": tuple(chosen)}), START, END, seed=11)
    _assert_same_cells(network, part)
    np.testing.assert_array_equal(grid.site_ids, np.asarray(chosen))


def _options_dict():
    import attrs

    return {field.name: getattr(OPTIONS, field.name) for field in attrs.fields(TwinGridOptions)}


def test_grid_info_and_land_mask(tile):
    network, grid = tile
    np.testing.assert_array_equal(grid.site_ids, network.site_ids)
    np.testing.assert_allclose(network.sites["lat"].values, grid.lat[grid.y_index])
    np.testing.assert_allclose(network.sites["lon"].values, grid.lon[grid.x_index])
    share = network.n_sites / (OPTIONS.ny * OPTIONS.nx)
    assert 0.5 < share < 1.0
    np.testing.assert_array_equal(land_cells(OPTIONS, 11), network.site_ids)


def _neighbour_pairs(grid):
    position = {int(cell): index for index, cell in enumerate(grid.site_ids)}
    pairs = [(position[c], position[c + 1]) for c in position if (c + 1) in position and (c + 1) % grid.nx != 0]
    return np.asarray(pairs)


def test_weather_and_landscape_are_spatially_coherent_unlike_the_site_twin(tile):
    network, grid = tile
    pairs = _neighbour_pairs(grid)
    rain = network.true_forcing["precipitation"].values
    neighbour_r = np.mean([np.corrcoef(rain[:, a], rain[:, b])[0, 1] for a, b in pairs])
    sites = build_network(12, START, END, seed=11)
    site_rain = sites.true_forcing["precipitation"].values
    independent_r = np.mean([np.corrcoef(site_rain[:, i], site_rain[:, i + 1])[0, 1] for i in range(11)])
    assert neighbour_r > 0.9 and abs(independent_r) < 0.3
    classes = network.sites["land_cover"].values
    same_class = np.mean(classes[pairs[:, 0]] == classes[pairs[:, 1]])
    assert same_class > 0.6  # independent draws with the twin's shares give 0.29


def test_neighbouring_cells_see_different_orbits_on_some_days():
    options = TwinGridOptions(south=47.0, west=8.0, ny=30, nx=30, land_fraction=1.0, swath_length=0.1)
    network, grid = build_grid_network(options, "2018-01-01", "2018-02-01", seed=3)
    acquired = network.calendar["acquired"].values
    pairs = _neighbour_pairs(grid)
    differs = (acquired[:, pairs[:, 0]] != acquired[:, pairs[:, 1]]).any(axis=0)
    assert 0 < differs.mean() < 0.5


def test_site_data_carries_the_grid_and_the_truth():
    options = TwinGridOptions(south=47.0, west=8.0, ny=4, nx=5)
    data = twin_grid_site_data(
        options, start="2018-01-01", end="2018-02-28", seed=5, model_factory=lambda s: GleamModel(statics_from_sites(s))
    )
    assert data.grid is not None and data.grid.shape == (4, 5)
    np.testing.assert_array_equal(data.grid.site_ids, data.site_ids)
    assert data.truth["surface_soil_moisture"].shape == (59, data.site_ids.size)


def test_bad_options_and_cells_are_errors_naming_them():
    with pytest.raises(ValueError, match="twin's climate covers"):
        TwinGridOptions(south=70.0)
    with pytest.raises(ValueError, match="ny must be an integer >= 1"):
        TwinGridOptions(ny=0)
    with pytest.raises(ValueError, match="land_fraction"):
        TwinGridOptions(land_fraction=0.0)
    sea = np.setdiff1d(np.arange(OPTIONS.ny * OPTIONS.nx), land_cells(OPTIONS, 11))
    assert sea.size
    with pytest.raises(ValueError, match=rf"site_ids \[{sea[0]}\] are not land cells"):
        build_grid_network(TwinGridOptions(**{**_options_dict(), "site_ids": (int(sea[0]),)}), START, END, seed=11)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        build_grid_network(OPTIONS, START, END, seed=-1)


GRID_YAML = """
experiment: {name: tiny_grid, seed: 9, members: 6, spinup_start: 2018-04-01, start: 2018-04-15, end: 2018-06-15, chunk_days: 20, min_samples: 5}
source: {kind: twin_grid, south: 47.0, west: 8.0, ny: 3, nx: 4, truth_spinup_years: 0}
model: {kind: gleam}
perturbation: {kind: spatial_forcing, correlation_length_lat: 0.3, correlation_length_lon: 0.3}
operators: {wcm: {kind: wcm}}
filter: {kind: denkf}
"""


def test_a_gridded_experiment_runs_from_yaml_and_the_tile_config_resolves(tmp_path):
    from s1da.containers import schema
    from s1da.containers.assembly import build_experiment
    from s1da.framework.store import EnsembleStore

    resolved = schema.load(REPO / "experiments" / "grid_tile.yaml")
    assert resolved["source"]["kind"] == "twin_grid" and resolved["perturbation"]["kind"] == "spatial_forcing"
    config = tmp_path / "grid.yaml"
    config.write_text(GRID_YAML)
    experiment = build_experiment(config, progress=False)
    assert experiment.data.grid.shape == (3, 4)
    store = experiment.run(tmp_path / "grid.zarr")
    assert EnsembleStore.open(tmp_path / "grid.zarr").is_complete and store.is_complete


def test_site_data_built_in_blocks_equals_one_block(monkeypatch):
    import s1da.components.sources.twin_grid as twin_grid

    options = TwinGridOptions(south=47.0, west=8.0, ny=3, nx=5, truth_spinup_years=0)
    kwargs = dict(start="2018-06-01", end="2018-06-20", seed=5, model_factory=lambda s: GleamModel(statics_from_sites(s)))
    whole = twin_grid_site_data(options, **kwargs)
    monkeypatch.setattr(twin_grid, "BLOCK_CELLS", 4)
    blocked = twin_grid_site_data(options, **kwargs)
    for name in ("sites", "forcing", "observations", "truth"):
        assert getattr(blocked, name).identical(getattr(whole, name)), name
    assert blocked.insitu.identical(whole.insitu)
    np.testing.assert_array_equal(blocked.grid.site_ids, whole.grid.site_ids)
