"""s1da.framework.open_store: the whole store as one DataTree, and its helpers."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from report_stores import N_MEMBERS, SITES, write_site_store

from s1da.framework import ensemble_mean, ensemble_spread, open_store, site_series
from s1da.framework.store import EnsembleStore
from s1da.framework.validation import validate_store

pytestmark = pytest.mark.filterwarnings("ignore:The data type .* does not have a Zarr V3 specification")


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    path = write_site_store(tmp_path_factory.mktemp("reading") / "exp.zarr", operators=("wcm",))
    store = EnsembleStore(path)
    store.write_tree("validation", validate_store(store, ["wcm"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # opening warns about nothing
        return open_store(path)


def test_every_group_and_validation_table_is_a_node(tree):
    assert {"observations", "insitu", "truth", "open_loop", "da_wcm", "calibration", "validation"} <= set(tree.children)
    assert tree.attrs["experiment_name"] == "synthetic"
    frame = tree["validation/insitu"].to_dataset().to_dataframe()
    assert len(frame) == 2 * SITES.size and not frame.isna().any().any()


def test_mean_spread_and_site_series(tree):
    members = tree["open_loop"]["surface_soil_moisture"].values
    np.testing.assert_allclose(ensemble_mean(tree, "open_loop").values, members.mean(axis=1))
    np.testing.assert_allclose(ensemble_spread(tree, "open_loop").values, members.std(axis=1, ddof=1))
    assert ensemble_mean(tree, "da_wcm").attrs["units"] == "m3 m-3" and members.shape[1] == N_MEMBERS
    series = site_series(tree, SITES[1])
    assert {"open_loop_mean", "open_loop_spread", "da_wcm_mean", "backscatter", "insitu_soil_moisture",
            "truth_surface_soil_moisture"} <= set(series.data_vars)
    np.testing.assert_allclose(series["open_loop_mean"].values, members[:, :, 1].mean(axis=1))


def test_errors_name_what_is_missing(tree, tmp_path):
    with pytest.raises(KeyError, match="no run 'da_svr'; runs: \\['open_loop', 'da_wcm'\\]|no run 'da_svr'"):
        ensemble_mean(tree, "da_svr")
    with pytest.raises(KeyError, match="has no variable 'nonsense'"):
        ensemble_spread(tree, "open_loop", "nonsense")
    with pytest.raises(FileNotFoundError, match="not an s1da store"):
        open_store(tmp_path / "missing.zarr")

