"""A block of lattice noise read a day at a time equals the block interpolated at once, bit for bit."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s1da.components.perturbers.forcing import StoredNoise
from s1da.framework.random_fields import LatticeField
from s1da.framework.randomness import Purpose


@settings(max_examples=15, deadline=None)
@given(
    south=st.floats(-60, 60), west=st.floats(-170, 170), n=st.integers(1, 40), block=st.integers(0, 50),
    length=st.floats(0.05, 2.0),
)
def test_daily_reads_equal_the_whole_block(south, west, n, block, length):
    rng = np.random.default_rng(n)
    lat, lon = south + rng.uniform(0, 1, n), west + rng.uniform(0, 1, n)
    field = LatticeField(length, 2 * length)
    shape = (5, 3, 4)  # days, variables, members
    whole = field.normals(11, lat, lon, Purpose.FORCING_PERTURBATION_LATTICE, block, shape)
    daily = field.normals_by_day(11, lat, lon, Purpose.FORCING_PERTURBATION_LATTICE, block, shape)
    for day in range(shape[0]):
        np.testing.assert_array_equal(daily.day(day), whole[:, day])


def test_stored_noise_is_read_only():
    block = StoredNoise(np.zeros((2, 3, 4)))
    np.testing.assert_array_equal(block.day(1), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="read-only"):
        block.day(0)[0, 0] = 1.0
