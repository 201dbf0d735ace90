"""Golden test: the DEnKF reproduces Sakov & Oke (2008) Table 1 on Lorenz-96.

The experiment lives outside the package (experiments/lorenz96/sakov2008.py) and is imported by
file path.  Tolerance: over 10 seeds, 3000 cycles with a 1000-cycle burn-in gave analysis RMSE
0.180 +- 0.006 (SD), climatology 3.631 +- 0.015 and free run 3.680 +- 0.020 (see
experiments/lorenz96/README.md).  The bands are 5 SD wide around those means, so a correct filter
on any platform (the model is chaotic: BLAS rounding changes the trajectory, not the statistics)
passes, while a filter that does not update (~3.7) or diverges fails.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

MODULE_PATH = Path(__file__).resolve().parents[1] / "experiments" / "lorenz96" / "sakov2008.py"


@pytest.fixture(scope="module")
def sakov2008():
    spec = importlib.util.spec_from_file_location("sakov2008", MODULE_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_lorenz96_denkf_reaches_sakov_oke_table1(sakov2008):
    result = sakov2008.run(n_steps=3000, burn_in=1000, seed=2008)
    assert 0.15 <= result.analysis_rmse <= 0.21
    assert 3.55 <= result.climatology_rmse <= 3.71
    assert 3.58 <= result.free_run_rmse <= 3.78
    # the ensemble is neither collapsed nor over-dispersed: spread ~ error
    assert 0.7 <= result.mean_spread / result.analysis_rmse <= 1.4


def test_lorenz96_model_is_vectorised_over_members(sakov2008):
    import numpy as np

    rng = np.random.default_rng(0)
    ensemble = rng.normal(2.0, 3.0, (5, sakov2008.N_VARIABLES))
    stepped = sakov2008.rk4_step(ensemble)
    for member in range(5):
        np.testing.assert_array_equal(stepped[member], sakov2008.rk4_step(ensemble[member]))
    # the rest state x_j = F is a fixed point of the Lorenz-96 equations
    rest = np.full(sakov2008.N_VARIABLES, sakov2008.FORCING)
    np.testing.assert_allclose(sakov2008.tendency(rest), 0.0, atol=1e-12)


def test_lorenz96_rejects_burn_in_longer_than_run(sakov2008):
    with pytest.raises(ValueError, match="burn_in"):
        sakov2008.run(n_steps=10, burn_in=10)
