"""SiteData refuses bad input at the door, naming the variable, the site and the date."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from s1da.framework.sitedata import DataError, SiteData

TIMES = pd.date_range("2018-01-01", periods=10, freq="D")


def parts(**forcing_overrides):
    sites = xr.Dataset(coords={"site": [3, 8], "lat": ("site", [45.0, 50.0]), "lon": ("site", [5.0, 6.0])})
    forcing = xr.Dataset(
        {
            name: (("time", "site"), np.full((10, 2), value))
            for name, value in {"precipitation": 2.0, "air_temperature": 10.0, "net_radiation": 80.0, "lai": 1.5}.items()
        },
        coords={"time": TIMES, "site": [3, 8]},
    )
    for name, values in forcing_overrides.items():
        forcing[name] = (("time", "site"), values)
    observations = xr.Dataset({"backscatter": (("time", "site"), np.full((10, 2), -12.0))}, coords={"time": TIMES, "site": [3, 8]})
    return sites, forcing, observations


def test_valid_input_is_accepted():
    data = SiteData(*parts())
    assert data.site_ids.tolist() == [3, 8] and len(data.times) == 10


def test_nan_precipitation_names_variable_site_and_day():
    values = np.full((10, 2), 2.0)
    values[4, 1] = np.nan
    with pytest.raises(DataError, match=r"precipitation is not finite at site 8 on 2018-01-05"):
        SiteData(*parts(precipitation=values))


def test_negative_precipitation_names_the_site():
    values = np.full((10, 2), 2.0)
    values[2, 0] = -0.1
    with pytest.raises(DataError, match=r"precipitation is negative at site 3"):
        SiteData(*parts(precipitation=values))


@pytest.mark.parametrize(
    ("times", "message"),
    [
        (TIMES[[0, 1, 1, 3, 4, 5, 6, 7, 8, 9]], "duplicate time 2018-01-02"),
        (TIMES[[0, 2, 1, 3, 4, 5, 6, 7, 8, 9]], "not sorted"),
        (TIMES[[0, 1, 2, 3, 5, 6, 7, 8, 9]].append(pd.DatetimeIndex(["2018-01-12"])), "gap in the daily time axis after 2018-01-04"),
    ],
)
def test_time_axis_must_be_sorted_unique_and_daily(times, message):
    sites, forcing, observations = parts()
    forcing = forcing.assign_coords(time=times)
    with pytest.raises(DataError, match=message):
        SiteData(sites, forcing, observations.assign_coords(time=times))


def test_missing_forcing_variable_and_linear_backscatter():
    sites, forcing, observations = parts()
    with pytest.raises(DataError, match="missing variable 'lai'"):
        SiteData(sites, forcing.drop_vars("lai"), observations)
    with pytest.raises(DataError, match="looks linear"):
        SiteData(sites, forcing, observations.assign(backscatter=observations["backscatter"] * 0 + 0.05))


def test_observation_sites_must_match():
    sites, forcing, observations = parts()
    with pytest.raises(DataError, match="observations: site ids differ"):
        SiteData(sites, forcing, observations.assign_coords(site=[3, 9]))
