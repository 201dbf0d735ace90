"""The driver's network-level writes: site chunks written once from scattered task parts, and
bootstrap intervals drawn in blocks of resamples, both equal to the one-shot computation."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from s1da.framework import metrics
from s1da.framework.engine import write_site_chunks
from s1da.framework.randomness import Purpose, stream


@pytest.mark.parametrize("axis", [0, 1])
def test_site_chunks_from_scattered_tasks_equal_a_direct_write(tmp_path, axis):
    rng = np.random.default_rng(1)
    n_site, chunk = 23, 4
    positions = np.array_split(rng.permutation(n_site), 5)  # tasks' sites spread over every chunk
    shape = (3, n_site, 2) if axis == 1 else (n_site, 3)
    expected = rng.standard_normal(shape)
    chunks = (3, chunk, 2) if axis == 1 else (chunk, 3)
    array = zarr.open_group(str(tmp_path / "g.zarr"), mode="w").create_array("a", shape=shape, chunks=chunks, dtype="float64")
    reads = []

    def read_part(index):
        reads.append(index)
        return {"a": np.take(expected, positions[index], axis=axis)}

    write_site_chunks({"a": (array, axis)}, positions, read_part)
    np.testing.assert_array_equal(array[...], expected)
    assert sorted(reads) == list(range(len(positions)))  # every task read once


def test_bootstrap_in_blocks_draws_the_one_shot_intervals(monkeypatch):
    values = np.random.default_rng(2).standard_normal(101)
    whole = metrics.bootstrap_interval(values, metrics.mean_over_sites, stream(7, 0, Purpose.VALIDATION_BOOTSTRAP, 0))
    monkeypatch.setattr(metrics, "BOOTSTRAP_BLOCK_VALUES", 101 * 7)  # 7 resamples a block, a short last one
    blocks = metrics.bootstrap_interval(values, metrics.mean_over_sites, stream(7, 0, Purpose.VALIDATION_BOOTSTRAP, 0))
    assert blocks == whole
