"""Error path of the lazy finiteness check of the predictions (components/filters/analysis.py)."""

from __future__ import annotations

import numpy as np
import pytest

from s1da.components.filters import denkf_analysis, etkf_analysis


@pytest.mark.parametrize("analysis", [denkf_analysis, etkf_analysis])
@pytest.mark.parametrize("use_numba", [False, None])
def test_filters_overflowing_predicted_variance_raises(analysis, use_numba):
    """Finite predictions whose member variance overflows float64 raise instead of a zero gain."""
    rng = np.random.default_rng(3)
    states = rng.normal(0.25, 0.03, (2, 8, 3))
    predicted = rng.normal(0.0, 1.0, (2, 8, 1))
    predicted[1, :4, 0] = 1e300
    predicted[1, 4:, 0] = -1e300
    with pytest.raises(ValueError, match="predicted values are too large"):
        analysis(states, predicted, np.zeros((2, 1)), np.ones((2, 1)), use_numba=use_numba)
