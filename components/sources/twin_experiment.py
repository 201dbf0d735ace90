"""The twin network as experiment input: truth run, observations and in situ as :class:`SiteData`.

The model run receives the *model* forcing (with the twin's realistic errors), LAI and VOD; the
truth GLEAM run receives the true forcing and the truth's own soil parameters; S1 backscatter
and in-situ soil moisture are simulated from the truth (``twin_sentinel1``, ``twin_insitu``).
"""

from __future__ import annotations

from collections.abc import Callable

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
    run_truth,
    simulate_backscatter,
    simulate_insitu,
)


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

    ``site_ids`` picks sites of the network by id instead of ``0..n_sites-1``; every number of a
    site is the same whichever other sites are built with it (keyed random streams).
    """
    end_exclusive = pd.Timestamp(end) + pd.Timedelta(days=1)
    network = build_network(
        n_sites, start, end_exclusive, seed, site_ids=site_ids, weather=weather, forcing_error=forcing_error
    )
    description = f"s1da synthetic twin network ({len(network.site_ids)} sites, seed {seed})"
    return network_site_data(network, model_factory, truth_spinup_years, backscatter, insitu, description)


def network_site_data(
    network: TwinNetwork,
    model_factory: Callable[[xr.Dataset], LandModel],
    truth_spinup_years: int,
    backscatter: TruthBackscatterParameters,
    insitu: InsituParameters,
    description: str,
) -> SiteData:
    """Truth run, observations and in situ of a built network, as :class:`SiteData`."""
    truth = run_truth(network, model_factory, spinup_years=truth_spinup_years, record=False)
    truth_sm = truth["surface_soil_moisture"]
    observed = simulate_backscatter(network, truth_sm, backscatter)
    forcing = network.model_forcing[list(FORCING_VARIABLES)].copy()
    forcing["lai"] = network.lai
    forcing["vod"] = network.vod
    forcing = forcing.drop_vars([name for name in ("lat", "lon") if name in forcing.coords])
    observations = xr.Dataset({"backscatter": observed["backscatter"]})
    for name in ("orbit", "incidence_angle"):
        if name in observed:
            observations[name] = observed[name]
    truth_ds = xr.Dataset({"surface_soil_moisture": truth_sm.assign_attrs(units="m3 m-3", long_name="true fraction-weighted 0-10 cm soil moisture (twin)")})
    sites = network.model_statics().assign_coords(lat=network.sites["lat"], lon=network.sites["lon"])
    for name in ("land_cover",):
        if name in network.sites:
            sites[name] = network.sites[name]
    return SiteData(
        sites=sites,
        forcing=forcing,
        observations=observations,
        insitu=simulate_insitu(network, truth_sm, insitu),
        truth=truth_ds,
        description=description,
    )
