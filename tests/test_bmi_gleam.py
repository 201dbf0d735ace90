"""GleamBmi: GLEAM through the CSDMS BMI equals GLEAM direct; values, pointers, forcing, grids."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from s1da.containers import bmi_names as names
from s1da.containers.assembly import container_for
from s1da.containers.bmi import GleamBmi, load_config
from s1da.containers.bmi_core import SITES, Variable, site_grids
from s1da.framework.grid import GridInfo
from s1da.containers.layers import build

BMI_DIR = Path(__file__).resolve().parents[1] / "experiments" / "bmi"
SSM = names.FLUXES["surface_soil_moisture"][0]
RAIN = names.member(names.FORCING["precipitation"][0])


@pytest.fixture(scope="module")
def gleam_bmi():
    bmi = GleamBmi()
    bmi.initialize(str(BMI_DIR / "gleam.yaml"))
    return bmi


def _direct_gleam(days):
    resolved, options = load_config(BMI_DIR / "gleam.yaml")
    data = container_for(resolved, progress=False).data.site_data()
    model = build("model", resolved["model"], resolved["experiment"], sites=data.sites)
    state = model.initial_state(options["members"])
    forcing = data.forcing.sel(time=slice(str(resolved["experiment"]["spinup_start"]), None))
    for day in range(days):
        today = {name: np.broadcast_to(forcing[name].values[day], state["snowpack"].shape) for name in ("precipitation", "air_temperature", "net_radiation", "lai", "vod")}
        state, fluxes = model.step(state, today)
    return model, state, fluxes


def test_gleam_through_bmi_equals_gleam_direct_bit_for_bit():
    bmi = GleamBmi()
    bmi.initialize(str(BMI_DIR / "gleam.yaml"))
    for _ in range(20):
        bmi.update()
    model, state, fluxes = _direct_gleam(20)
    np.testing.assert_array_equal(bmi.state()["soil_moisture"], state["soil_moisture"])
    np.testing.assert_array_equal(bmi.get_value(names.member(SSM), np.empty(3)), model.surface_soil_moisture(state).ravel())
    drainage = names.FLUXES["deep_drainage"][0]
    np.testing.assert_array_equal(bmi.get_value(names.member(drainage), np.empty(3)), fluxes["deep_drainage"].ravel())
    np.testing.assert_array_equal(bmi.get_value(SSM, np.empty(3)), model.surface_soil_moisture(state).mean(axis=0))


def test_values_are_copies_and_pointers_follow_updates(gleam_bmi):
    pointer = gleam_bmi.get_value_ptr(SSM)
    copy = gleam_bmi.get_value(SSM, np.empty(3))
    copy[:] = -1.0
    assert np.all(gleam_bmi.get_value_ptr(SSM) >= 0.0)
    before = pointer.copy()
    gleam_bmi.update()
    assert gleam_bmi.get_value_ptr(SSM) is pointer and not np.array_equal(pointer, before)


def test_forcing_set_by_the_caller_drives_the_next_update_only(gleam_bmi):
    storage = names.member(names.FLUXES["total_water_storage"][0])
    wet = GleamBmi()
    wet.initialize(str(BMI_DIR / "gleam.yaml"))
    wet.set_value(RAIN, np.full(3, 50.0))
    wet.update()
    dry = GleamBmi()
    dry.initialize(str(BMI_DIR / "gleam.yaml"))
    dry.set_value(RAIN, np.zeros(3))
    dry.update()
    difference = wet.get_value(storage, np.empty(3)) - dry.get_value(storage, np.empty(3))
    assert np.all(difference > 0.0)
    rain_out = names.member(names.FLUXES["total_evaporation"][0])  # wetter canopy and soil evaporate more
    assert np.all(wet.get_value(rain_out, np.empty(3)) >= dry.get_value(rain_out, np.empty(3)))
    wet.update()  # back to the source's forcing
    assert not np.all(wet.get_value(RAIN, np.empty(3)) == 50.0)


def test_outputs_cannot_be_set_and_unknown_names_are_named(gleam_bmi):
    with pytest.raises(ValueError, match="output"):
        gleam_bmi.set_value(SSM, np.zeros(3))
    with pytest.raises(KeyError, match="no variable 'soil_moisture'"):
        gleam_bmi.get_var_units("soil_moisture")


def test_every_name_is_a_csdms_standard_name_with_units(gleam_bmi):
    from standard_names.standardname import is_valid_name

    for name in set(gleam_bmi.get_input_var_names()) | set(gleam_bmi.get_output_var_names()):
        assert is_valid_name(name), name
        assert gleam_bmi.get_var_units(name)


def test_a_gridded_source_is_a_uniform_rectilinear_grid_with_nan_at_sea():
    grid = GridInfo(lat=[45.25, 45.0], lon=[5.0, 5.5, 6.0], y_index=[0, 1, 1], x_index=[2, 0, 1])
    cells, members = site_grids(np.array([6.0, 5.0, 5.5]), np.array([45.25, 45.0, 45.0]), 2, grid)
    assert (cells.type, cells.shape, cells.spacing, cells.origin) == ("uniform_rectilinear", (2, 3), (0.25, 0.5), (45.25, 5.0))
    assert members.type == "unstructured" and members.size == 6
    bmi = GleamBmi()
    bmi._grids = (cells, members)
    bmi._declare(Variable("x", "1", SITES), np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(bmi.get_value("x", np.empty(6)), [np.nan, np.nan, 1.0, 2.0, 3.0, np.nan])
    assert bmi.get_grid_shape(0, np.empty(2, dtype=int)).tolist() == [2, 3]


ROOT = BMI_DIR.parents[1]
BUCKET = ROOT / "examples" / "s1da-bucket-plugin"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("folder", "config", "component", "python_path"),
    [
        (BMI_DIR, "gleam.yaml", "s1da.containers.bmi:GleamBmi", None),
        (BMI_DIR, "assimilation.yaml", "s1da.containers.bmi:AssimilationBmi", None),
        (BUCKET / "bmi", "bucket_bmi.yaml", "s1da_bucket.bmi:BucketBmi", BUCKET / "src"),
    ],
    ids=["GleamBmi", "AssimilationBmi", "BucketBmi"],
)
def test_bmi_tester_passes(folder, config, component, python_path):
    """The CSDMS bmi-tester (stages 1-3) on the sample configurations."""
    executable = shutil.which("bmi-test", path=str(Path(sys.executable).parent)) or shutil.which("bmi-test")
    if executable is None:
        pytest.skip("bmi-tester is not installed")
    environment = dict(os.environ)
    if python_path is not None:  # the plugin from its source folder when it is not installed
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(python_path), environment.get("PYTHONPATH")]))
    # bmi-tester checks --config-file from the working directory and stages root-dir's files
    result = subprocess.run(
        [executable, "--root-dir", ".", "--config-file", config, component],
        cwd=folder, capture_output=True, text=True, timeout=600, env=environment,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
