"""The twin network as experiment input: truth run, observations and in situ as :class:`SiteData`.

The model run receives the *model* forcing (with the twin's realistic errors), LAI and VOD; the
truth GLEAM run receives the true forcing and the truth's own soil parameters; S1 backscatter
and in-situ soil moisture are simulated from the truth (``twin_sentinel1``, ``twin_insitu``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import xarray as xr

from s1da.framework.interfaces import LandModel
from s1da.framework.sitedata import SiteData

from .twin import (
    FORCING_VARIABLES,
    ForcingErrorParameters,
    InsituParameters,
    TwinNetwork,
    TruthBackscatterParameters,
    WeatherParameters,
    build_network,
    observe_backscatter,
    run_truth,
    simulate_backscatter,
    simulate_insitu,
)
from .twin_sentinel1 import speckle_sd_db


def twin_site_data(
    *,
    n_sites: int,
    site_ids=None,
    start,
    end,
    seed: int,
    model_factory: Callable[[xr.Dataset], LandModel],
    truth_spinup_years: int = 1,
    weather: WeatherParameters = WeatherParameters(),
    forcing_error: ForcingErrorParameters = ForcingErrorParameters(),
    backscatter: TruthBackscatterParameters = TruthBackscatterParameters(),
    insitu: InsituParameters = InsituParameters(),
) -> SiteData:
    """Build the network for ``start..end`` (inclusive) and everything the experiment needs.

    The network (weather, truth run, S1) starts at ``backscatter.record_start`` when that is
    earlier, so that the orbit normalisation sees a multi-year record as in real data; everything
    returned covers ``start..end``.  ``site_ids`` picks sites of the network by id instead of ``0..n_sites-1``; every number of a
    site is the same whichever other sites are built with it (keyed random streams).
    """
    period = slice(pd.Timestamp(start), pd.Timestamp(end))
    record_start = pd.Timestamp(start)
    if backscatter.record_start is not None:
        record_start = min(record_start, pd.Timestamp(backscatter.record_start))
    end_exclusive = pd.Timestamp(end) + pd.Timedelta(days=1)
    network = build_network(
        n_sites,
        record_start,
        end_exclusive,
        seed,
        site_ids=site_ids,
        weather=weather,
        forcing_error=forcing_error,
        backscatter=backscatter,
    )
    description = f"s1da synthetic twin network ({len(network.site_ids)} sites, seed {seed})"
    return network_site_data(network, model_factory, truth_spinup_years, backscatter, insitu, description, period=period)


def network_site_data(
    network: TwinNetwork,
    model_factory: Callable[[xr.Dataset], LandModel],
    truth_spinup_years: int,
    backscatter: TruthBackscatterParameters,
    insitu: InsituParameters,
    description: str,
    *,
    period: slice | None = None,
) -> SiteData:
    """Truth run, observations and in situ of a built network, as :class:`SiteData`.

    ``period`` (a slice of dates) restricts what is returned (the network may cover a longer S1
    record for the orbit normalisation); None returns the whole network period.
    """
    period = slice(None) if period is None else period
    truth = run_truth(network, model_factory, spinup_years=truth_spinup_years, record=False)
    truth_sm = truth["surface_soil_moisture"]
    simulated = simulate_backscatter(network, truth_sm, backscatter, apply_masks=False)
    observed = observe_backscatter(network, simulated, backscatter).sel(time=period)
    forcing = network.model_forcing[list(FORCING_VARIABLES)].copy()
    forcing["lai"] = network.lai
    forcing["vod"] = network.vod
    forcing = forcing.drop_vars([name for name in ("lat", "lon") if name in forcing.coords]).sel(time=period)
    observations = xr.Dataset({name: observed[name].drop_vars(["lat", "lon"]) for name in ("backscatter", "orbit", "incidence_angle")})
    truth_ds = xr.Dataset(
        {
            "surface_soil_moisture": truth_sm.assign_attrs(units="m3 m-3", long_name="true fraction-weighted 0-10 cm soil moisture (twin)"),
            "sensed_soil_moisture": simulated["sensed_soil_moisture"],
            "backscatter_noise_free": simulated["backscatter_noise_free"],
        }
    ).sel(time=period)
    truth_ds["s1_noise_variance"] = (
        "site",
        np.full(network.n_sites, (backscatter.speckle_scale * speckle_sd_db(backscatter.looks)) ** 2 + backscatter.structure_noise_sd**2),
        {"units": "dB2", "long_name": "variance of the S1 noise the twin adds (speckle and structural drift)"},
    )
    sites = network.model_statics().assign_coords(lat=network.sites["lat"], lon=network.sites["lon"])
    for name in ("land_cover",):
        if name in network.sites:
            sites[name] = network.sites[name]
    return SiteData(
        sites=sites,
        forcing=forcing,
        observations=observations,
        insitu=simulate_insitu(network, truth_sm, insitu).sel(time=period),
        truth=truth_ds,
        description=description,
    )
