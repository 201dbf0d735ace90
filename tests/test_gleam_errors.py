"""Every bad input is refused with a message naming the variable and the site."""

import numpy as np
import pytest

from s1da.components.gleam import ForcingError, GleamModel, GleamParameters, SiteStatics
from s1da.components.gleam.interception import InterceptionParameters
from s1da.components.gleam.soil import SoilParameters


def statics(**overrides):
    kwargs = dict(
        site_id=np.array([11, 22, 33]),
        fraction_tall=[0.2, 0.0, 0.5],
        fraction_short=[0.6, 1.0, 0.2],
        fraction_bare=[0.2, 0.0, 0.3],
        fraction_water=[0.0, 0.0, 0.0],
        saturation=0.43,
        field_capacity=0.33,
        critical=0.27,
        wilting_point=0.14,
    )
    kwargs.update(overrides)
    return SiteStatics(**kwargs)


def forcing(**overrides):
    out = {
        "precipitation": np.array([1.0, 2.0, 0.0]),
        "air_temperature": np.array([10.0, 12.0, 8.0]),
        "net_radiation": np.array([100.0, 80.0, 50.0]),
        "lai": np.array([1.0, 2.0, 3.0]),
    }
    out.update(overrides)
    return out


@pytest.mark.parametrize(
    "name, value, match",
    [
        ("precipitation", np.array([1.0, np.nan, 0.0]), "'precipitation': site index 1 .site_id 22.*not finite"),
        ("precipitation", np.array([1.0, 2.0, -0.5]), "'precipitation': site index 2 .site_id 33.*plausible"),
        ("air_temperature", np.array([283.0, 285.0, 280.0]), "'air_temperature': site index 0"),
        ("net_radiation", np.array([100.0, np.inf, 50.0]), "'net_radiation': site index 1.*not finite"),
        ("lai", np.array([1.0, -1.0, 3.0]), "'lai': site index 1"),
        ("swe", np.array([0.0, -3.0, 0.0]), "'swe': site index 1"),
        ("convective_fraction", np.array([0.0, 0.5, 1.5]), "'convective_fraction': site index 2"),
    ],
)
def test_bad_forcing_values(name, value, match):
    model = GleamModel(statics())
    with pytest.raises(ForcingError, match=match):
        model.step(model.initial_state(2), forcing(**{name: value}))


def test_bad_forcing_reports_member():
    model = GleamModel(statics())
    p = np.ones((2, 3))
    p[1, 2] = np.nan
    with pytest.raises(ForcingError, match="site index 2 .*member 1"):
        model.step(model.initial_state(2), forcing(precipitation=p))


def test_missing_unknown_and_misshaped_forcing():
    model = GleamModel(statics())
    state = model.initial_state(2)
    f = forcing()
    del f["net_radiation"]
    with pytest.raises(ForcingError, match="'net_radiation' is missing"):
        model.step(state, f)
    f = forcing()
    del f["lai"]
    with pytest.raises(ForcingError, match="'vod' or 'lai'"):
        model.step(state, f)
    with pytest.raises(ForcingError, match="unknown forcing"):
        model.step(state, forcing(rainfall=np.ones(3)))
    with pytest.raises(ForcingError, match="shape"):
        model.step(state, forcing(precipitation=np.ones(4)))
    with pytest.raises(ForcingError, match="'swe' is missing"):
        GleamModel(statics(), GleamParameters(snow_mode="swe")).step(state, forcing())


def test_fractions_must_sum_to_one():
    with pytest.raises(ValueError, match="site index 1 .site_id 22.*sum to one"):
        statics(fraction_short=[0.6, 0.9, 0.2])


def test_fraction_outside_unit_interval():
    with pytest.raises(ValueError, match="site index 0.*fraction_tall"):
        statics(fraction_tall=[-0.2, 0.0, 0.5], fraction_short=[1.0, 1.0, 0.2])


@pytest.mark.parametrize(
    "field, values, match",
    [
        ("wilting_point", [0.14, 0.30, 0.14], "site index 1.*wilting_point = 0.3 >= critical"),
        ("field_capacity", [0.33, 0.33, 0.50], "site index 2.*field_capacity = 0.5 >= saturation"),
        ("residual", [0.2, 0.07, 0.07], "site index 0.*residual = 0.2 >= wilting_point"),
        ("saturation", [0.43, np.nan, 0.43], "site index 1.*saturation is not finite"),
    ],
)
def test_soil_parameters_out_of_order(field, values, match):
    with pytest.raises(ValueError, match=match):
        statics(**{field: values})


def test_unknown_texture_and_duplicate_ids():
    with pytest.raises(ValueError, match="site index 1 .site_id 'b'.*unknown soil texture 'peat'"):
        SiteStatics.from_texture(["a", "b"], ["loam", "peat"], 0.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="duplicate"):
        statics(site_id=np.array([1, 1, 2]))


def test_bad_parameters_and_options():
    with pytest.raises(ValueError):
        SoilParameters(drainage_fraction=0.0)
    with pytest.raises(ValueError, match="rain rates"):
        InterceptionParameters(synoptic_rain_rate=0.2)
    with pytest.raises(ValueError, match="state_vector"):
        GleamModel(statics(), state_vector="deep")
    with pytest.raises(ValueError, match="kernel"):
        GleamModel(statics(), kernel="fortran")
    with pytest.raises(ValueError, match="taper"):
        GleamModel(statics(), taper=(1.0, 2.0, 0.0))
    with pytest.raises(ValueError, match="n_members"):
        GleamModel(statics()).initial_state(0)
