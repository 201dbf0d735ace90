"""A site's calibration and predictions do not depend on which other sites are in the run."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from operator_inputs import named

from s1da.components.operators import SupportVectorOperator, WaterCloudModel, water_cloud_backscatter

N_SITES = 5


def network(n_time=40, seed=11):
    rng = np.random.default_rng(seed)
    sm = rng.uniform(0.08, 0.42, (N_SITES, n_time))
    lai = 0.2 + rng.uniform(1, 4, (N_SITES, 1)) * np.sin(np.linspace(0, np.pi, n_time)) ** 2
    sigma = water_cloud_backscatter(sm, lai, 0.1, 0.2, -20.0, 40.0) + rng.normal(0, 0.4, sm.shape)
    sigma[rng.random(sigma.shape) < 0.2] = np.nan  # gaps differ per site: different sample counts
    return sm, lai, sigma


SM, LAI, SIGMA = network()
IDS = np.array([101, 7, 55, 3, 12])
OPERATORS = {"wcm": WaterCloudModel(), "svr": SupportVectorOperator(n_jobs=1, c_grid=(0.1, 10.0), gamma_grid=(0.1, 1.0))}
WHOLE = {label: operator.fit(named(SM, LAI), SIGMA, site_ids=IDS) for label, operator in OPERATORS.items()}
MEMBERS = np.random.default_rng(0).uniform(0.05, 0.5, (6, N_SITES))


def site_values(dataset, index):
    n_support = int(dataset["n_support"].values[index]) if "n_support" in dataset else None
    values = {}
    for name, variable in dataset.data_vars.items():
        value = variable.values[index]
        if "support_vector" in variable.dims:  # drop the padding to the run's longest support set
            value = value[:n_support]
        values[name] = value
    return values


@settings(max_examples=8)
@given(subset=st.lists(st.integers(0, N_SITES - 1), min_size=1, max_size=N_SITES, unique=True), label=st.sampled_from(sorted(OPERATORS)))
def test_operators_site_results_independent_of_other_sites(subset, label):
    part = OPERATORS[label].fit(named(SM[subset], LAI[subset]), SIGMA[subset], site_ids=IDS[subset])
    whole = WHOLE[label]
    predicted_part = part.predict(named(MEMBERS[:, subset], LAI[subset, 3]))
    predicted_whole = whole.predict(named(MEMBERS, LAI[:, 3]))
    for position, index in enumerate(subset):
        expected, got = site_values(whole.to_dataset(), index), site_values(part.to_dataset(), position)
        for name in expected:
            np.testing.assert_array_equal(got[name], expected[name], err_msg=f"{label} {name}")
        np.testing.assert_array_equal(predicted_part[:, position], predicted_whole[:, index])


def test_operators_wcm_numpy_path_site_alone_equals_site_in_batch():
    """The path taken without numba (scipy TRF per site, numpy fit statistics over the block of
    sites): every site fitted alone gives the bytes it gets among the others, also when numba is
    installed."""
    operator = WaterCloudModel(method="trf")
    assert not operator.uses_batched_solver
    whole = operator.fit(named(SM, LAI), SIGMA, site_ids=IDS).to_dataset()
    for index in range(N_SITES):
        alone = operator.fit(named(SM[[index]], LAI[[index]]), SIGMA[[index]], site_ids=IDS[[index]]).to_dataset()
        expected, got = site_values(whole, index), site_values(alone, 0)
        for name in expected:
            np.testing.assert_array_equal(got[name], expected[name], err_msg=f"site {IDS[index]} {name}")
