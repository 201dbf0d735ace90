"""BlockOutputs keeps its buffers from block to block: a reused block gives what a fresh one
gives, and every day a variable was not given (no analysis that day) is NaN, also where the
previous block had written a value."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from s1da.framework.output_policy import GRID_DEFAULT, SITE_DEFAULT, BlockOutputs, OutputPolicy

VARIABLES = {"surface_soil_moisture": ("time", "member", "site"), "innovation": ("time", "site"), "clipped_water": ("time", "member", "site")}
SIZES = {"member": 4, "site": 3}
POLICIES = [SITE_DEFAULT, GRID_DEFAULT, OutputPolicy(quantiles=(0.1, 0.5)).resolved(gridded=True)]


def _outputs(rng, analysed):
    outputs = {"surface_soil_moisture": rng.uniform(0.1, 0.4, (4, 3))}
    if analysed:
        outputs.update(innovation=rng.normal(size=3), clipped_water=rng.normal(size=(4, 3)))
    return outputs


def _fill(block, days, seed):
    rng = np.random.default_rng(seed)
    for day, analysed in enumerate(days):
        block.add(day, _outputs(rng, analysed))
    return block.finish(len(days))


@settings(max_examples=20, deadline=None)
@given(
    first=st.lists(st.booleans(), min_size=1, max_size=5),
    second=st.lists(st.booleans(), min_size=1, max_size=5),
    policy=st.sampled_from(POLICIES),
)
def test_a_reused_block_equals_a_fresh_one(first, second, policy):
    reused = BlockOutputs(policy, VARIABLES, max(len(first), len(second)), SIZES)
    _fill(reused, first, 1)
    reused.restart()
    again = _fill(reused, second, 2)
    fresh = _fill(BlockOutputs(policy, VARIABLES, len(second), SIZES), second, 2)
    assert again.keys() == fresh.keys()
    for name, values in fresh.items():
        np.testing.assert_array_equal(again[name], values, err_msg=name)
    missing = ~np.asarray(second)
    assert np.isnan(again["innovation"][missing]).all() and np.isfinite(again["innovation"][~missing]).all()
