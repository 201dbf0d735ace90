"""CF metadata of every variable s1da writes: one place, as in pywatershed's variables.yaml.

The store refuses to write a variable that is not listed here, so every output carries
``units`` and ``long_name``.  Components may register more with :func:`register`.
"""

from __future__ import annotations

VARIABLES: dict[str, dict[str, str]] = {
    # water balance (GLEAM, docs/model/gleam.md a.10/a.13)
    "total_water_storage": {
        "units": "mm",
        "long_name": "soil, snow and canopy water storage plus the open-water balance, per unit pixel area",
    },
    "precipitation": {"units": "mm d-1", "long_name": "precipitation as received by the member"},
    "total_evaporation": {
        "units": "mm d-1",
        "long_name": "total evaporation incl. interception loss, sublimation and open water",
    },
    "deep_drainage": {"units": "mm d-1", "long_name": "drainage below the deepest soil layer"},
    "surface_runoff": {"units": "mm d-1", "long_name": "surface runoff"},
    "analysis_increment": {"units": "mm", "long_name": "water storage added by the analysis"},
    "clipped_water": {"units": "mm", "long_name": "water storage changed by clipping after analysis"},
    "surface_soil_moisture": {
        "units": "m3 m-3",
        "long_name": "fraction-weighted 0-10 cm volumetric soil moisture",
    },
    "root_zone_soil_moisture": {"units": "m3 m-3", "long_name": "fraction-weighted root-zone soil moisture"},
    "layer_soil_moisture": {"units": "m3 m-3", "long_name": "volumetric soil moisture per fraction and layer"},
    "snow_water_equivalent": {"units": "mm", "long_name": "modelled snowpack water equivalent"},
    # forcing
    "air_temperature": {"units": "degC", "long_name": "daily mean air temperature"},
    "net_radiation": {"units": "W m-2", "long_name": "daily mean net radiation"},
    "lai": {"units": "m2 m-2", "long_name": "leaf area index"},
    "vod": {"units": "1", "long_name": "vegetation optical depth"},
    # observations and assimilation (docs/model/filters.md c)
    "backscatter": {"units": "dB", "long_name": "Sentinel-1 VV backscatter"},
    "predicted_backscatter": {"units": "dB", "long_name": "backscatter predicted by the observation operator per member"},
    "forecast_surface_soil_moisture": {"units": "m3 m-3", "long_name": "surface soil moisture before the analysis"},
    "analysis_surface_soil_moisture": {"units": "m3 m-3", "long_name": "surface soil moisture after the analysis"},
    "analysis_increment_surface": {
        "units": "m3 m-3",
        "long_name": "analysis minus forecast ensemble-mean surface soil moisture",
    },
    "innovation": {"units": "dB", "long_name": "observation minus ensemble-mean prediction"},
    "normalised_innovation": {"units": "1", "long_name": "innovation divided by its expected standard deviation"},
    "observation_error_variance": {"units": "dB2", "long_name": "observation error variance R"},
    "insitu_soil_moisture": {"units": "m3 m-3", "long_name": "in-situ volumetric soil moisture"},
}


def register(name: str, units: str, long_name: str) -> None:
    """Add a variable's metadata; re-registering with different metadata is an error."""
    entry = {"units": units, "long_name": long_name}
    if name in VARIABLES and VARIABLES[name] != entry:
        raise ValueError(f"variable {name!r} is already registered as {VARIABLES[name]}")
    VARIABLES[name] = entry


def attributes(name: str) -> dict[str, str]:
    """CF attributes of a registered variable."""
    try:
        return dict(VARIABLES[name])
    except KeyError:
        raise KeyError(f"variable {name!r} has no CF metadata; register it in s1da.framework.variables") from None
