"""Keyed random streams: every draw is a pure function of (entropy, site id, purpose, block).

docs/architecture.md ("Scaling") requires that any subset or chunking of sites reproduces the same
numbers.  A stream is therefore never advanced across sites: each (site, purpose, block) gets
its own ``numpy.random.Generator`` from ``SeedSequence(entropy, spawn_key=...)``, and members are
an axis of each draw.
"""

from __future__ import annotations

import enum

import numpy as np


class Purpose(enum.IntEnum):
    """What a stream is for.  Values are part of the spawn key: never renumber them."""

    FORCING_PERTURBATION = 1
    OBSERVATION_PERTURBATION = 2
    TWIN_WEATHER = 3
    TWIN_STATIC = 4
    TWIN_OBSERVATION_NOISE = 5
    TWIN_INSITU_NOISE = 6
    TWIN_CALENDAR = 7
    TWIN_MODEL_FORCING_ERROR = 8
    INITIAL_STATE = 9
    OPERATOR_FIT = 10
    FORCING_PERTURBATION_LATTICE = 11
    TWIN_GRID_FIELD = 12
    TWIN_GRID_ROW = 13
    STATE_PERTURBATION = 14
    SOIL_PARAMETER_PERTURBATION = 15
    VALIDATION_BOOTSTRAP = 20  # validation purposes from 20 on, apart from the model's
    VALIDATION_RANK_TIES = 21


def new_entropy() -> int:
    """Fresh entropy for a run that did not specify a seed (record it in the output)."""
    return int(np.random.SeedSequence().entropy)


def stream(entropy: int, site_id: int, purpose: Purpose, block: int = 0) -> np.random.Generator:
    """Generator for one site, purpose and block of days."""
    if site_id < 0 or block < 0:
        raise ValueError(f"site_id and block must be non-negative, got {site_id=} {block=}")
    seed = np.random.SeedSequence(entropy, spawn_key=(int(site_id), int(purpose), int(block)))
    return np.random.Generator(np.random.PCG64(seed))
