"""Any BMI model as the land model (``model: {kind: bmi}``): GLEAM through GleamBmi and the
adapter equals GLEAM direct, bit for bit; the configuration is checked at load."""

from pathlib import Path

import numpy as np
import pytest

from s1da.containers import schema
from s1da.containers.assembly import container_for
from s1da.containers.bmi_model import BmiLandModel
from s1da.containers.layers import build
from s1da.framework.config import ConfigError

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "experiments" / "bmi" / "gleam_through_bmi.yaml"


@pytest.fixture
def in_repository(monkeypatch):
    monkeypatch.chdir(ROOT)  # the sample's config_file is relative to the repository root


def test_gleam_through_the_bmi_adapter_equals_gleam_direct(in_repository):
    resolved = schema.load(CONFIG)
    container = container_for(resolved, progress=False)
    through_bmi = container.models.model()
    assert isinstance(through_bmi, BmiLandModel)
    sites = container.data.site_data().sites
    direct = build("model", {"kind": "gleam", "parameters": schema.registry().get("model", "gleam").parameters()}, resolved["experiment"], sites=sites)
    perturber = container.perturbation.perturber()
    data = container.data.site_data()
    members = resolved["experiment"]["members"]
    state_bmi, state_direct = through_bmi.initial_state(members), direct.initial_state(members)
    memory = perturber.initial_state(data.site_ids, members)
    for day in range(40):
        today = {name: data.forcing[name].values[day] for name in data.forcing.data_vars}
        forcing, memory = perturber.perturb(today, day, memory)
        state_bmi, fluxes_bmi = through_bmi.step(state_bmi, forcing)
        state_direct, fluxes_direct = direct.step(state_direct, forcing)
    np.testing.assert_array_equal(through_bmi.surface_soil_moisture(state_bmi), direct.surface_soil_moisture(state_direct))
    for term in ("total_water_storage", "total_evaporation", "deep_drainage", "surface_runoff", "precipitation"):
        np.testing.assert_array_equal(fluxes_bmi[term], fluxes_direct[term], err_msg=term)
    np.testing.assert_array_equal(through_bmi.analysis_variables(state_bmi), direct.analysis_variables(state_direct))
    # an analysis put back through set_value moves the surface soil moisture the BMI reports
    wetter = through_bmi.analysis_variables(state_bmi) + 0.01
    analysed, changes = through_bmi.set_analysis_variables(state_bmi, wetter)
    assert np.all(through_bmi.surface_soil_moisture(analysed) > through_bmi.surface_soil_moisture(state_bmi))
    np.testing.assert_allclose(changes["analysis_increment"], 3.0, atol=1e-9)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("  analysis_depths: [100.0, 100.0, 100.0]", "  analysis_depths: [100.0]", "model.analysis_depths"),
        ("    surface_runoff: ensemble-member_land_surface_water_runoff__volume_flux\n", "", "model.fluxes"),
        ('  component: "s1da.containers.bmi:GleamBmi"', '  component: "GleamBmi"', "model.component"),
    ],
)
def test_bad_bmi_model_configuration_is_blamed_on_its_key(tmp_path, old, new, key):
    text = CONFIG.read_text()
    assert old in text
    path = tmp_path / "bmi.yaml"
    path.write_text(text.replace(old, new))
    with pytest.raises(ConfigError, match=f"key '{key}'"):
        schema.load(path)


def test_a_bmi_class_that_cannot_be_imported_is_named(tmp_path, in_repository):
    path = tmp_path / "bmi.yaml"
    path.write_text(CONFIG.read_text().replace("s1da.containers.bmi:GleamBmi", "no_such_package.module:Model"))
    container = container_for(schema.load(path), progress=False)
    with pytest.raises(ConfigError, match="cannot import the BMI class 'no_such_package.module:Model'"):
        container.models.model()
