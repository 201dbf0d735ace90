"""Every GLEAM parameter declares units and a range; every flux has CF metadata; numba stays optional."""

import sys

import attrs
import numpy as np
import pytest

from s1da.components.gleam import GleamModel, GleamParameters, SiteStatics
from s1da.framework.interfaces import LandModel
from s1da.framework.variables import attributes

PARAMETER_CLASSES = [type(getattr(GleamParameters(), f.name)) for f in attrs.fields(GleamParameters) if f.name != "snow_mode"]


@pytest.mark.parametrize("cls", PARAMETER_CLASSES, ids=lambda c: c.__name__)
def test_parameters_have_units_and_validators(cls):
    for field in attrs.fields(cls):
        assert "units" in field.metadata, f"{cls.__name__}.{field.name} has no units"
        assert field.validator is not None, f"{cls.__name__}.{field.name} has no range validator"


def test_statics_fields_have_units():
    for field in attrs.fields(SiteStatics):
        assert "units" in field.metadata


def test_budget_fluxes_have_cf_metadata():
    statics = SiteStatics.from_texture([1], "loam", 0.2, 0.6, 0.2)
    model = GleamModel(statics)
    forcing = {"precipitation": np.ones(1), "air_temperature": np.ones(1), "net_radiation": np.ones(1), "vod": np.ones(1)}
    _, fluxes = model.step(model.initial_state(1), forcing)
    for name in ("total_water_storage", "precipitation", "total_evaporation", "deep_drainage", "surface_runoff",
                 "surface_soil_moisture", "root_zone_soil_moisture", "interception_loss", "transpiration",
                 "soil_evaporation", "open_water_evaporation", "sublimation", "snowmelt", "open_water_storage"):
        assert attributes(name)["units"]
    assert fluxes["precipitation"] is not forcing["precipitation"]


def test_missing_numba_gives_a_clear_error(without_numba):
    """Without numba (hidden by the ``without_numba`` fixture of conftest.py) kernel='numba' says
    what to install and the numpy path needs nothing extra; nothing here imports numba."""
    statics = SiteStatics.from_texture([1], "loam", 0.2, 0.6, 0.2)
    with pytest.raises(ImportError, match="optional dependency numba"):
        GleamModel(statics, kernel="numba")
    model = GleamModel(statics, kernel="numpy")
    forcing = {"precipitation": np.ones(1), "air_temperature": np.ones(1), "net_radiation": np.ones(1), "vod": np.ones(1)}
    _, fluxes = model.step(model.initial_state(1), forcing)
    assert np.isfinite(fluxes["total_water_storage"]).all()
    assert "numba" not in sys.modules


def test_reported_variables_declare_every_flux_of_a_step():
    statics = SiteStatics.from_texture([1, 2], "loam", 0.2, 0.6, 0.2)
    model = GleamModel(statics)
    forcing = {"precipitation": np.ones(2), "air_temperature": np.ones(2), "net_radiation": np.ones(2), "vod": np.ones(2)}
    _, fluxes = model.step(model.initial_state(3), forcing)
    declared = model.reported_variables
    assert set(fluxes) == set(declared)
    assert set(LandModel.reported_variables) <= set(declared)
    for name, info in declared.items():
        assert fluxes[name].shape == (3, 2) and info.dims == ("member", "site")
        assert info.units and info.long_name, name
    assert model.layer_soil_moisture(model.initial_state(3)).shape == (3, 2, len(model.layer_names))
