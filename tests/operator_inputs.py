"""Helper of the operator tests: the named-input mapping the operators take."""


def named(soil_moisture, lai, **others):
    """``{"soil_moisture": ..., "lai": ..., **others}`` (m3 m-3, m2 m-2)."""
    return {"soil_moisture": soil_moisture, "lai": lai, **others}
