"""CSDMS Standard Names and UDUNITS units of the quantities s1da exchanges through its BMIs.

Keys are s1da's own names (forcing, state, fluxes, diagnostics); values are the CSDMS Standard
Name (Peckham 2014, CSDMS Standard Names 2.0) and the UDUNITS-2 unit string.  Backscatter is
in decibels, which UDUNITS-2 writes as the logarithmic unit ``0.1 lg(re 1)``.  Quantities of
every ensemble member carry the object prefix ``ensemble-member_``; the plain name is the
ensemble mean.
"""

from __future__ import annotations

DECIBEL = "0.1 lg(re 1)"

FORCING = {
    "precipitation": ("atmosphere_water__precipitation_leq-volume_flux", "mm d-1"),
    "air_temperature": ("land_surface_air__temperature", "degC"),
    "net_radiation": ("land_surface_radiation~net__energy_flux", "W m-2"),
    "lai": ("land_vegetation__leaf-area_index", "m2 m-2"),
    "vod": ("land_vegetation_radiation~microwave__optical_depth", "1"),
    "swe": ("land_surface_snowpack~observed__liquid-equivalent_depth", "mm"),
    "convective_fraction": ("atmosphere_water~convective__precipitation_fraction", "1"),
}

FLUXES = {
    "surface_soil_moisture": ("land_surface~0-to-10cm-below_soil_water__volume_fraction", "m3 m-3"),
    "total_evaporation": ("land_surface_water_evapotranspiration__volume_flux", "mm d-1"),
    "transpiration": ("land_vegetation_canopy_water_transpiration__volume_flux", "mm d-1"),
    "interception_loss": ("land_surface_water~intercepted_evaporation__volume_flux", "mm d-1"),
    "soil_evaporation": ("land_surface_soil_water_evaporation__volume_flux", "mm d-1"),
    "open_water_evaporation": ("land_surface_water~open_evaporation__volume_flux", "mm d-1"),
    "sublimation": ("land_surface_snow_sublimation__volume_flux", "mm d-1"),
    "deep_drainage": ("soil_water~below-root-zone_drainage__volume_flux", "mm d-1"),
    "surface_runoff": ("land_surface_water_runoff__volume_flux", "mm d-1"),
    "total_water_storage": ("land_water__volume-per-area_storage_density", "mm"),
}

STATE = {
    "snowpack": ("snowpack__liquid-equivalent_depth", "mm"),
    "previous_swe": ("model_snowpack~previous-day__liquid-equivalent_depth", "mm"),
    "open_water_storage": ("land_surface_water~open__volume-per-area_storage_density", "mm"),
}

ASSIMILATION = {
    "backscatter": ("land_surface_radiation~microwave~vv_backscattered__normalized_cross_section", DECIBEL),
    "predicted_backscatter": ("model_land_surface_radiation~microwave~vv_backscattered__normalized_cross_section", DECIBEL),
    "analysis_increment": ("model_soil_water~analysis__increment_of_volume-per-area_storage_density", "mm"),
    "innovation": ("model_land_surface_radiation~microwave~vv_backscattered__innovation_of_normalized_cross_section", DECIBEL),
}


def layer_name(layer: str) -> tuple[str, str]:
    """Soil moisture of one model layer (``T1`` ... ``B1`` for GLEAM)."""
    return (f"model_soil_layer~{layer.lower()}_water__volume_fraction", "m3 m-3")


def member(name: str) -> str:
    """The name of a quantity of every member (grid ``member x site``)."""
    return f"ensemble-member_{name}"
