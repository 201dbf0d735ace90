"""Two per-task costs of a gridded run, each beside its alternative in one run: output compression
and the analysis's gathers and scatters of the observed cells.

    python benchmarks/task_kernels.py [--sites 4096] [--members 32] [--days 61] [--repeats 5]

* **Output compression.** A block of ``days`` x ``members`` x ``sites`` surface soil moisture
  from a GLEAM run on the benchmark network of ``benchmarks/gleam.py`` (forcing with rain,
  so the field evolves as in a run), in float32 (the grid default) and float64 (the site
  default), compressed with the store's checksummed Zstandard (zarr's ``ZstdCodec``) at levels
  1 and 3: MB/s of input and the compressed fraction.
* **Site gathers.** The analysis of a day reads and writes the rows of the observed half of
  the cells of the ``(member, site, layer)`` state: NumPy fancy indexing along the middle axis
  (``soil[:, sites]``, ``soil[:, sites] = rows``) beside ``framework/site_index.py``
  (``np.take``, member-by-member row copies), and the whole analysis update of the GLEAM model
  (``set_analysis_variables_at``) at those cells.

Best of ``repeats`` timings; the ratios are what matters on a shared machine (load average printed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import timeit

import numpy as np
from zarr.codecs import ZstdCodec
from zarr.core.array_spec import ArrayConfig, ArraySpec
from zarr.core.buffer import default_buffer_prototype
from zarr.core.buffer.cpu import Buffer

from gleam import forcing_days, network
from s1da.components.gleam import GleamModel
from s1da.framework.site_index import put_sites, take_sites


def soil_moisture_block(n_site: int, n_member: int, n_day: int) -> tuple[GleamModel, dict, np.ndarray]:
    rng = np.random.default_rng(0)
    model = GleamModel(network(n_site, rng), kernel="numba", outputs="budget", reuse_buffers=True, state_vector="top")
    state = model.initial_state(n_member)
    days = forcing_days(n_member, n_site, 8, rng)
    block = np.empty((n_day, n_member, n_site))
    for day in range(n_day):
        state, _ = model.step(state, days[day % len(days)])
        block[day] = model.surface_soil_moisture(state)
    return model, state, block


def compression(block: np.ndarray, repeats: int) -> list[tuple[str, int, float, float]]:
    rows = []
    for dtype in ("float32", "float64"):
        data = np.ascontiguousarray(block, dtype=dtype)
        spec = ArraySpec(data.shape, data.dtype, np.nan, ArrayConfig.from_dict({}), default_buffer_prototype())
        raw = Buffer.from_bytes(data.tobytes())
        for level in (1, 3):
            codec = ZstdCodec(level=level, checksum=True)
            timings, size = [], 0
            for _ in range(repeats):
                started = time.perf_counter()
                encoded = asyncio.run(codec._encode_single(raw, spec))
                timings.append(time.perf_counter() - started)
                size = len(encoded.to_bytes())
            rows.append((dtype, level, data.nbytes / min(timings) / 1e6, size / data.nbytes))
    return rows


def gathers(model: GleamModel, state: dict, repeats: int) -> list[tuple[str, float, float]]:
    soil = state["soil_moisture"]
    rng = np.random.default_rng(1)
    sites = np.sort(rng.choice(soil.shape[1], soil.shape[1] // 2, replace=False))
    rows_of = soil[:, sites]
    target = soil.copy()
    analysed = model.analysis_variables_at(state, sites) + rng.normal(0.0, 0.01, (sites.size, soil.shape[0], 3))

    def fancy_put():
        target[:, sites] = rows_of

    def best(function) -> float:
        return min(timeit.repeat(function, number=10, repeat=repeats)) / 10 * 1e3

    return [
        ("gather the observed rows", best(lambda: soil[:, sites]), best(lambda: take_sites(soil, sites))),
        ("scatter them back", best(fancy_put), best(lambda: put_sites(target, sites, rows_of))),
        ("GLEAM set_analysis_variables_at", float("nan"), best(lambda: model.set_analysis_variables_at(state, analysed, sites))),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sites", type=int, default=4096)
    parser.add_argument("--members", type=int, default=32)
    parser.add_argument("--days", type=int, default=61)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}; {args.days} days x {args.members} members x {args.sites} cells\n")
    model, state, block = soil_moisture_block(args.sites, args.members, args.days)
    print("| dtype | zstd level | MB/s | compressed fraction |\n|---|---|---|---|")
    for dtype, level, speed, fraction in compression(block, args.repeats):
        print(f"| {dtype} | {level} | {speed:.0f} | {fraction:.3f} |")
    print("\n| step (half the cells observed) | fancy indexing, ms | framework/site_index.py, ms | ratio |\n|---|---|---|---|")
    for name, fancy, ours in gathers(model, state, args.repeats):
        ratio = f"{fancy / ours:.1f}x" if np.isfinite(fancy) else "-"
        print(f"| {name} | {fancy:.2f} | {ours:.2f} | {ratio} |".replace("| nan |", "| - |"))


if __name__ == "__main__":
    main()
