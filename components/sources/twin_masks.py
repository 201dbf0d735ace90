"""Days on which a Sentinel-1 observation is unusable (docs/model/validation.md e, step 2), from TRUE forcing.

* frozen: daily mean air temperature < 1.5 degC (DD-26);
* snow: snowpack water equivalent > 0 (the twin's degree-day snowpack, docs/model/gleam.md a.5 fallback);
* heavy rain: precipitation > 40 mm d-1 on the acquisition day.

The masks use the unperturbed (true) forcing (DD-22), as a real study would use station or
reanalysis data.
"""

from __future__ import annotations

import xarray as xr

FROZEN_THRESHOLD = 1.5  # degC
HEAVY_RAIN_THRESHOLD = 40.0  # mm d-1


def observation_masks(true_forcing: xr.Dataset) -> xr.Dataset:
    """Boolean masks ``(time, site)``: True where an observation must be discarded."""
    frozen = true_forcing["air_temperature"] < FROZEN_THRESHOLD
    snow = true_forcing["snow_water_equivalent"] > 0.0
    heavy_rain = true_forcing["precipitation"] > HEAVY_RAIN_THRESHOLD
    masks = xr.Dataset(
        {
            "frozen": frozen.assign_attrs(units="1", long_name=f"air temperature below {FROZEN_THRESHOLD} degC"),
            "snow": snow.assign_attrs(units="1", long_name="snow on the ground"),
            "heavy_rain": heavy_rain.assign_attrs(units="1", long_name=f"precipitation above {HEAVY_RAIN_THRESHOLD} mm d-1"),
        }
    )
    masks["any"] = (frozen | snow | heavy_rain).assign_attrs(units="1", long_name="observation masked for any reason")
    return masks
