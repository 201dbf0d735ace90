"""The validation tree: tidy tables per dimension set, written to and read from the store."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from report_stores import N_DAYS, SITES, write_grid_store, write_site_store

from s1da.framework import metrics
from s1da.framework.store import EnsembleStore
from s1da.framework.validation import OPEN_LOOP, validate_store

pytestmark = pytest.mark.filterwarnings("ignore:The data type .* does not have a Zarr V3 specification")


@pytest.fixture(scope="module")
def validated(tmp_path_factory):
    path = write_site_store(tmp_path_factory.mktemp("validation") / "exp.zarr")
    store = EnsembleStore(path)
    return store, validate_store(store, ["wcm", "svr", "sm"], min_samples=30)


def test_every_table_converts_to_pandas_without_padding(validated):
    _, tree = validated
    expected = {"sites", "forward", "insitu", "truth", "improvement_insitu", "improvement_truth", "network", "increments",
                "ensemble", "rank_histogram"}
    assert set(tree.children) == expected
    for name, node in tree.children.items():
        dataset = node.to_dataset()
        dims = {variable.dims for variable in dataset.data_vars.values()}
        assert len(dims) == 1, (name, dims)  # one dimension set per table
        frame = dataset.to_dataframe()
        assert len(frame) == int(np.prod([dataset.sizes[d] for d in next(iter(dims))]))
        assert not frame.isna().any().any(), name
        for variable in dataset.variables.values():
            assert {"units", "long_name"} <= set(variable.attrs) or variable.name in dataset.dims, (name, variable.name)


def test_open_loop_scores_never_collide_with_an_operator_labelled_sm(validated):
    store, tree = validated
    insitu = tree["insitu"].to_dataset()
    assert list(insitu["run"].values) == [OPEN_LOOP, "da_wcm", "da_svr", "da_sm"]
    assert list(tree["forward"]["operator"].values) == ["wcm", "svr", "sm"]
    mean = store.ensemble_mean(OPEN_LOOP, "surface_soil_moisture")
    reference = store.read("insitu")["insitu_soil_moisture"]
    runs = {run: store.ensemble_mean(run, "surface_soil_moisture") for run in insitu["run"].values}
    table = metrics.score_table(runs, reference.transpose("time", "site"))
    np.testing.assert_allclose(insitu["r"].values, table["r"].values)
    assert mean.sizes["site"] == SITES.size
    np.testing.assert_allclose(tree["improvement_insitu"]["delta_r"].sel(run="da_sm").values,
                               table["r"].sel(run="da_sm").values - table["r"].sel(run=OPEN_LOOP).values)


def test_network_intervals_bracket_the_estimates(validated):
    _, tree = validated
    network = tree["network"].to_dataset()
    assert (network["mean_delta_r_low"] <= network["mean_delta_r"]).all()
    assert (network["mean_delta_r"] <= network["mean_delta_r_high"]).all()
    assert (network["percent_improved_low"] <= network["percent_improved"] + 1e-9).all()
    counts = tree["rank_histogram"]["count"]
    assert (counts.sum("rank") == N_DAYS * SITES.size).all()  # every site-day ranked once per run


def test_written_tree_reads_back_from_the_store(validated, tmp_path):
    _, tree = validated
    path = write_site_store(tmp_path / "exp.zarr", operators=("wcm",), truth=False)
    store = EnsembleStore(path)
    store.write_tree("validation", validate_store(store, ["wcm"]))
    assert store.group_complete("validation") and store.group_complete("validation/insitu")
    frame = store.read("validation/insitu").to_dataframe()
    assert set(frame.index.get_level_values("run")) == {OPEN_LOOP, "da_wcm"}
    tree_back = xr.open_datatree(str(path), engine="zarr", group="validation", consolidated=False)
    assert "network" in tree_back.children and "truth" not in tree_back.children
    assert tree_back.attrs["n_sites"] == SITES.size and "mean_delta_r_insitu_wcm" in tree_back.attrs


def test_gridded_stores_are_validated_per_land_cell(tmp_path):
    store = EnsembleStore(write_grid_store(tmp_path / "grid.zarr"))
    tree = validate_store(store, ["wcm", "svr"], min_samples=20)
    sites = tree["sites"]["site"].values
    assert sites.size == 5 * 5 and sites.max() < 5 * 7  # land cells only, row-major ids y * nx + x
    assert not np.isin(sites % 7, [5, 6]).any()  # the two sea columns
    r = tree["insitu"]["r"].sel(run="da_wcm")
    assert sorted(sites[np.isfinite(r.values)]) == [0, 2 * 7 + 3, 4 * 7 + 1]  # the three station cells
    np.testing.assert_allclose(tree["sites"]["lat"].sel(site=2 * 7 + 3), 49.0)
