"""AssimilationBmi: a driver stepping the DA run day by day through BMI reproduces `s1da run`."""

from pathlib import Path

import numpy as np
import pytest

from s1da.containers import bmi_names as names
from s1da.containers.bmi import AssimilationBmi
from s1da.containers.cli import main
from s1da.framework.config import ConfigError
from s1da.framework.store import EnsembleStore

CONFIG = Path(__file__).resolve().parents[1] / "experiments" / "bmi" / "assimilation.yaml"
SSM = names.FLUXES["surface_soil_moisture"][0]
INCREMENT = names.ASSIMILATION["analysis_increment"][0]
STORAGE = names.FLUXES["total_water_storage"][0]
PREDICTED = names.ASSIMILATION["predicted_backscatter"][0]
INNOVATION = names.ASSIMILATION["innovation"][0]
OBSERVED = names.ASSIMILATION["backscatter"][0]


@pytest.fixture(scope="module")
def run_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("run") / "assimilation.zarr"
    assert main(["run", str(CONFIG), "--output", str(path), "--no-progress"]) == 0
    return EnsembleStore.open(path)


def _bmi_on(store, tmp_path, extra=""):
    config = tmp_path / "assimilation.yaml"
    config.write_text(CONFIG.read_text().replace("bmi:\n", f"bmi:\n  store: {store.path}\n{extra}", 1))
    bmi = AssimilationBmi()
    bmi.initialize(str(config))
    return bmi


@pytest.mark.slow
def test_driver_loop_reproduces_the_da_run_of_s1da_run(run_store, tmp_path):
    bmi = _bmi_on(run_store, tmp_path)
    da = run_store.read("da_wcm")
    n_days, n_members, n_sites = da.sizes["time"], da.sizes["member"], da.sizes["site"]
    assert bmi.get_end_time() == n_days and bmi.get_start_time() == 0.0
    members = np.empty(n_members * n_sites)
    for t in range(n_days):
        bmi.update()
        for ours, theirs in ((names.member(SSM), "surface_soil_moisture"), (names.member(STORAGE), "total_water_storage"),
                             (names.member(INCREMENT), "analysis_increment"), (names.member(PREDICTED), "predicted_backscatter")):
            np.testing.assert_array_equal(bmi.get_value(ours, members).reshape(n_members, n_sites), da[theirs].values[t], err_msg=f"{theirs} day {t}")
        np.testing.assert_array_equal(bmi.get_value(INNOVATION, np.empty(n_sites)), da["innovation"].values[t])
    assert bmi.get_current_time() == n_days
    with pytest.raises(RuntimeError, match="ends"):
        bmi.update()
    bmi.finalize()


def test_observations_set_by_the_caller_are_assimilated(run_store, tmp_path):
    bmi = _bmi_on(run_store, tmp_path)
    bmi.set_value(OBSERVED, np.full(3, np.nan))  # no observation: no analysis
    bmi.update()
    assert np.isnan(bmi.get_value(INCREMENT, np.empty(3))).all()
    bmi.set_value(OBSERVED, np.full(3, -5.0))  # a much wetter radar than the model predicts
    bmi.update()
    increments = bmi.get_value(INCREMENT, np.empty(3))
    assert np.isfinite(increments).all() and increments.sum() > 0.0  # analysed everywhere, wetter overall
    bmi.finalize()


def test_unknown_operator_label_is_a_config_error(run_store, tmp_path):
    config = tmp_path / "assimilation.yaml"
    config.write_text(CONFIG.read_text().replace("  operator: wcm", "  operator: svr"))
    with pytest.raises(ConfigError, match="key 'bmi.operator'.*no operator 'svr'"):
        AssimilationBmi().initialize(str(config))
