"""GleamBmi: GLEAM through the CSDMS BMI equals GLEAM direct; values, pointers, forcing, grids."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from s1da.containers import bmi_names as names
from s1da.containers.assembly import container_for
from s1da.containers.bmi import GleamBmi, load_config
from s1da.containers.bmi_core import lattice_order, site_grids
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
    np.testing.assert_array_equal(bmi.get_value(names.member(SSM), np.empty(6)), model.surface_soil_moisture(state).ravel())
    drainage = names.FLUXES["deep_drainage"][0]
    np.testing.assert_array_equal(bmi.get_value(names.member(drainage), np.empty(6)), fluxes["deep_drainage"].ravel())
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
    wet.set_value(RAIN, np.full(6, 50.0))
    wet.update()
    dry = GleamBmi()
    dry.initialize(str(BMI_DIR / "gleam.yaml"))
    dry.set_value(RAIN, np.zeros(6))
    dry.update()
    difference = wet.get_value(storage, np.empty(6)) - dry.get_value(storage, np.empty(6))
    assert np.all(difference > 0.0)
    rain_out = names.member(names.FLUXES["total_evaporation"][0])  # wetter canopy and soil evaporate more
    assert np.all(wet.get_value(rain_out, np.empty(6)) >= dry.get_value(rain_out, np.empty(6)))
    wet.update()  # back to the source's forcing
    assert not np.all(wet.get_value(RAIN, np.empty(6)) == 50.0)


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


def test_a_regular_lattice_is_a_uniform_rectilinear_grid():
    lon, lat = np.meshgrid([5.0, 5.5, 6.0], [45.0, 45.25])
    shuffled = np.array([4, 0, 5, 2, 1, 3])
    lon, lat = lon.ravel()[shuffled], lat.ravel()[shuffled]
    order = lattice_order(lon, lat)
    np.testing.assert_array_equal(lat[order], [45.0] * 3 + [45.25] * 3)
    sites, members = site_grids(lon[order], lat[order], 2)
    assert (sites.type, sites.shape, sites.spacing, sites.origin) == ("uniform_rectilinear", (2, 3), (0.25, 0.5), (45.0, 5.0))
    assert members.type == "unstructured" and members.size == 12
    assert lattice_order(np.array([1.0, 2.0, 4.0]), np.array([0.0, 0.0, 0.0])) is None


@pytest.mark.slow
@pytest.mark.parametrize("config, component", [("gleam.yaml", "GleamBmi")])
def test_bmi_tester_passes(config, component):
    """The CSDMS bmi-tester (stages 1-3) on the sample configuration."""
    executable = shutil.which("bmi-test", path=str(Path(sys.executable).parent)) or shutil.which("bmi-test")
    if executable is None:
        pytest.skip("bmi-tester is not installed")
    # bmi-tester checks --config-file relative to the current directory and stages root-dir's files
    result = subprocess.run(
        [executable, "--root-dir", ".", "--config-file", config, f"s1da.containers.bmi:{component}"],
        cwd=BMI_DIR, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
