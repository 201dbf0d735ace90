"""Site gathers and scatters (framework/site_index.py) equal NumPy's fancy indexing, bit for bit."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from s1da.framework.site_index import put_sites, take_sites


@st.composite
def _arrays_and_sites(draw):
    shape = (draw(st.integers(1, 4)), draw(st.integers(1, 30)), *draw(st.lists(st.integers(1, 4), max_size=2)))
    values = np.random.default_rng(draw(st.integers(0, 2**16))).normal(size=shape)
    sites = np.asarray(sorted(draw(st.sets(st.integers(0, shape[1] - 1), min_size=1))), dtype=np.int64)
    return values, sites


@given(_arrays_and_sites())
def test_take_and_put_equal_fancy_indexing(case):
    values, sites = case
    np.testing.assert_array_equal(take_sites(values, sites), values[:, sites])
    if values.ndim == 3:
        np.testing.assert_array_equal(take_sites(values, sites, axis=-2), values[..., sites, :])
    replacement = -np.abs(take_sites(values, sites))
    expected, target = values.copy(), values.copy()
    expected[:, sites] = replacement
    put_sites(target, sites, replacement)
    np.testing.assert_array_equal(target, expected)


def test_a_slice_keeps_numpys_view():
    values = np.arange(24.0).reshape(2, 4, 3)
    view = take_sites(values, slice(1, 3))
    assert np.shares_memory(view, values) and view.shape == (2, 2, 3)
    put_sites(values, slice(0, 1), np.zeros((2, 1, 3)))
    assert (values[:, 0] == 0).all()
