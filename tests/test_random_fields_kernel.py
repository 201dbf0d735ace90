"""The lattice interpolation's weighted sum gives the same bits with the compiled one-pass
kernel (numba) as with numpy, so a run's perturbations do not depend on whether numba is
installed (the suite also runs with numba hidden, where only the numpy path exists)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s1da.framework import random_fields


@settings(max_examples=25, deadline=None)
@given(
    n_in=st.integers(1, 30),
    n_out=st.integers(1, 40),
    n_terms=st.integers(1, 5),
    shape=st.sampled_from([(), (3,), (4, 3, 2)]),
    seed=st.integers(0, 2**32 - 1),
)
def test_the_compiled_weighted_sum_equals_numpy_bit_for_bit(n_in, n_out, n_terms, shape, seed):
    if random_fields._numba_weighted_sum() is None:
        pytest.skip("numba is not installed: the numpy path is the only one")
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(n_in,) + shape) * 10.0 ** rng.integers(-8, 8, size=(n_in,) + shape)
    index = rng.integers(0, n_in, size=(n_out, n_terms))
    weights = rng.uniform(-1.0, 1.0, size=(n_out, n_terms))
    extra = (slice(None),) + (None,) * len(shape)
    compiled = random_fields._weighted_sum(weights, index, values, extra)
    np.testing.assert_array_equal(compiled, random_fields._weighted_sum_numpy(weights, index, values, extra))
    expected = sum(weights[:, k][extra] * values[index[:, k]] for k in range(n_terms))  # the definition, to rounding
    np.testing.assert_allclose(compiled, expected, rtol=1e-12, atol=1e-300)
