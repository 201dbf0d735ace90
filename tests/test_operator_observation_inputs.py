"""Operator inputs carried by the observations (framework/experiment.py OBSERVATION_INPUTS): an
operator that requires the incidence angle gets each acquisition's angle in calibration and in the
analyses, an operator that takes it optionally keeps its fixed angle, and an operator whose
required input the data lack is refused before anything runs."""

import attrs
import numpy as np
import pytest
import xarray as xr

from s1da.components.operators import WaterCloudModel
from s1da.containers.assembly import build_experiment
from s1da.framework.sitedata import DataError
from tests.tiny_experiment import write_tiny_config


class AngleWaterCloudModel(WaterCloudModel):
    """The WCM with the acquisition's incidence angle as a required input."""

    required_inputs = {**WaterCloudModel.required_inputs, "incidence_angle": "degree"}
    optional_inputs = {}


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    directory = tmp_path_factory.mktemp("observation_inputs")
    experiment = build_experiment(write_tiny_config(directory), progress=False)
    assert "incidence_angle" in experiment.data.observations  # the twin's Sentinel-1 carries it
    plain = attrs.evolve(experiment, operators={"wcm": WaterCloudModel()})
    both = attrs.evolve(experiment, operators={"wcm": WaterCloudModel(), "angle": AngleWaterCloudModel()})
    plain.run(directory / "plain.zarr")
    both.run(directory / "both.zarr")
    return experiment, directory / "plain.zarr", directory / "both.zarr"


def test_an_operator_that_requires_the_angle_is_fitted_and_analyses_with_each_acquisitions_angle(stores):
    experiment, _, both = stores
    calibration = xr.open_zarr(both, group="calibration")
    angle = experiment.data.observations_on(experiment.period)["incidence_angle"].transpose("site", "time").values
    assert np.isfinite(angle).any() and np.nanstd(angle) > 1.0  # several orbits, several angles
    da = xr.open_zarr(both, group="da_angle")
    assert np.isfinite(da["analysis_increment"].values).any()
    # the simulated backscatter follows the acquisitions' angles: it differs from the fixed-angle WCM's
    simulated = [name for name in calibration.data_vars if "simulated_backscatter" in name]
    assert len(simulated) == 2, simulated
    a, b = (calibration[name].values for name in sorted(simulated))
    assert not np.allclose(a, b, equal_nan=True, atol=1e-6)
    # NaN exactly on the days without an acquisition, as the angle is
    angle_simulated = calibration[[name for name in simulated if name.startswith("angle")][0]].transpose("site", "time").values
    np.testing.assert_array_equal(np.isnan(angle_simulated), np.isnan(angle))


def test_an_operator_that_takes_the_angle_optionally_is_unchanged_by_another_that_requires_it(stores):
    _, plain, both = stores
    for group in ("calibration", "da_wcm"):
        first, second = xr.open_zarr(plain, group=group), xr.open_zarr(both, group=group)
        for name in first.data_vars:
            if name.startswith("wcm") or group == "da_wcm":
                np.testing.assert_array_equal(first[name].values, second[name].values, err_msg=f"{group}/{name}")


def test_an_operator_whose_required_input_the_data_lack_is_refused_before_anything_runs(tmp_path):
    experiment = build_experiment(write_tiny_config(tmp_path), progress=False)
    data = attrs.evolve(experiment.data, observations=experiment.data.observations.drop_vars("incidence_angle"))
    with pytest.raises(DataError, match=r"operator 'angle' \(AngleWaterCloudModel\) needs input\(s\) incidence_angle \(degree\)"):
        attrs.evolve(experiment, data=data, operators={"angle": AngleWaterCloudModel()})
    assert not (tmp_path / "store.zarr").exists()
