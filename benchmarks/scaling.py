"""Scaling of gridded runs: open loop + DA-WCM on twin tiles with 1 and 2 dask workers.

Run (by hand; minutes to an hour)::

    python benchmarks/scaling.py --cells 10000 100000 --workers 1 2 --members 32

For each tile size and worker count it writes a ``twin_grid`` configuration (square tile of
0.01 deg cells, all land, spatially correlated forcing perturbations, no experiment spin-up,
one year of open loop and DA with the WCM), runs ``s1da run CFG --workers N`` in a subprocess
and measures, side by side in one invocation:

* wall time of the whole run (source build, truth run, both runs, validation, store writes);
* member-cell-days per second: ``members x cells x days x 2 runs / wall``;
* parallel efficiency ``T(1 worker) / (N T(N workers))``, each N-worker run against the 1-worker
  run of the same round (``--repeats R`` alternates the worker counts R times; the median
  efficiency over the rounds is printed below the table);
* CPU seconds of the client and its workers (user + system, psutil, polled), of it the client's
  (the driver's serial part: planning, calibration table, validation), and the rate per
  CPU-second, which a shared machine's load does not inflate as it does the wall time;
* peak resident memory of the largest worker process and of the client process (psutil polls
  the process tree every 0.25 s, so short peaks can be missed);
* store size on disk under the default grid output policy.

An untimed 100-cell run first fills numba's on-disk cache (``--no-warm-up`` skips it), so no
timed run pays the compilation.  It prints markdown for ``benchmarks/README.md`` and, with ``--europe``, the projection of a
Europe-wide 1 km run (5 M cells, 32 members, 3 years, open loop + DA-WCM + DA-SVR) from the
largest measured tile: core-hours, wall time on 500 cores, store size.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

DAYS = 365
RUNS = 2  # open loop + DA-WCM
WARM_UP_CELLS = 100

CONFIG = """\
experiment:
  name: scaling_{cells}
  seed: 20261201
  members: {members}
  spinup_start: 2018-01-01
  start: 2018-01-01
  end: 2018-12-31
  chunk_days: 61
source:
  kind: twin_grid
  south: 45.0
  west: 5.0
  ny: {side}
  nx: {side}
  resolution: 0.01
  land_fraction: 1.0
  truth_spinup_years: 1
model:
  kind: gleam
  state_vector: top
  kernel: {kernel}
perturbation:
  kind: spatial_forcing
  correlation_length_lat: 0.5
  correlation_length_lon: 0.5
operators:
  wcm:
    kind: wcm
    incidence_angle_deg: 40.0
filter:
  kind: denkf
"""


def _tree_rss(process: psutil.Process) -> dict[int, tuple[str, int, float]]:
    """RSS in bytes and CPU seconds (user + system) so far of the process and all its
    descendants: pid -> (role, rss, cpu)."""
    out = {}
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return out
    for member in members:
        try:
            command = " ".join(member.cmdline())
            role = "worker" if ("spawn_main" in command or "distributed" in command or "forkserver" in command) and member.pid != process.pid else "client"
            times = member.cpu_times()
            out[member.pid] = (role, member.memory_info().rss, times.user + times.system)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return out


def _store_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def run_case(cells: int, workers: int, members: int, kernel: str, directory: Path, extra: list[str]) -> dict:
    side = round(math.sqrt(cells))
    config = directory / f"scaling_{cells}.yaml"
    config.write_text(CONFIG.format(cells=cells, side=side, members=members, kernel=kernel))
    store = directory / f"scaling_{cells}_{workers}.zarr"
    command = [sys.executable, "-m", "s1da.containers.cli", "run", str(config), "--output", str(store), "--overwrite",
               "--no-progress", "--workers", str(workers), *extra]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    handle = psutil.Process(process.pid)
    peaks: dict[int, tuple[str, int]] = {}
    cpu: dict[int, float] = {}
    load = os.getloadavg()[0]
    while process.poll() is None:
        for pid, (role, rss, seconds) in _tree_rss(handle).items():
            peaks[pid] = (role, max(rss, peaks.get(pid, (role, 0))[1]))
            cpu[pid] = max(seconds, cpu.get(pid, 0.0))
        time.sleep(0.25)
    wall = time.perf_counter() - started
    stdout, stderr = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"run failed ({' '.join(command)}):\n{stderr[-3000:]}")
    roles = {pid: role for pid, (role, _) in peaks.items()}
    client_cpu = sum(seconds for pid, seconds in cpu.items() if roles.get(pid) == "client")
    workers_rss = [rss for role, rss in peaks.values() if role == "worker"]
    client_rss = max((rss for role, rss in peaks.values() if role == "client"), default=0)
    result = {
        "cells": side * side,
        "workers": workers,
        "members": members,
        "wall": wall,
        "cpu": sum(cpu.values()),
        "client_cpu": client_cpu,
        "rate": members * side * side * DAYS * RUNS / wall,
        "worker_peak": max(workers_rss, default=client_rss),
        "client_peak": client_rss,
        "store": _store_bytes(store),
        "load": (load + os.getloadavg()[0]) / 2,
    }
    shutil.rmtree(store, ignore_errors=True)
    return result


def _paired_efficiency(run: dict, results: list[dict]) -> float:
    """``T1 / (N TN)`` of ``run`` against the 1-worker run of the same tile and round (NaN without one)."""
    single = [r["wall"] for r in results if r["workers"] == 1 and (r["cells"], r["repeat"]) == (run["cells"], run["repeat"])]
    return single[0] / (run["workers"] * run["wall"]) if single else float("nan")


def table(results: list[dict]) -> str:
    lines = [
        "| cells | workers | round | wall (s) | CPU (s) | of it client (s) | M member-cell-days/s | per CPU-s | parallel efficiency | peak RSS per worker (MB) | client peak (MB) | store (MB) | load avg |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        efficiency = _paired_efficiency(r, results)
        lines.append(
            f"| {r['cells']:,} | {r['workers']} | {r['repeat'] + 1} | {r['wall']:.1f} | {r['cpu']:.0f} | {r['client_cpu']:.0f} | {r['rate'] / 1e6:.2f} | "
            f"{r['rate'] * r['wall'] / max(r['cpu'], 1e-9) / 1e6:.2f} | {efficiency:.0%} | "
            f"{r['worker_peak'] / 2**20:.0f} | {r['client_peak'] / 2**20:.0f} | {r['store'] / 2**20:.0f} | {r['load']:.1f} |"
        )
    return "\n".join(lines)


def efficiencies(results: list[dict]) -> str:
    """Median parallel efficiency per tile and worker count over the rounds (each round's runs side by side)."""
    lines = []
    for cells in sorted({r["cells"] for r in results}):
        for workers in sorted({r["workers"] for r in results if r["workers"] > 1 and r["cells"] == cells}):
            paired = [_paired_efficiency(r, results) for r in results if r["cells"] == cells and r["workers"] == workers]
            values = [value for value in paired if value == value]  # NaN: no 1-worker run in that round
            if values:
                lines.append(f"* {cells:,} cells, {workers} workers: parallel efficiency median {statistics.median(values):.1%} "
                             f"over {len(values)} round(s) (range {min(values):.1%}-{max(values):.1%})")
    return "\n".join(lines)


def _median_run(runs: list[dict]) -> list[dict]:
    """The run of median wall time (the lower one of an even count), as a one-element list; [] for none."""
    return [sorted(runs, key=lambda r: r["wall"])[(len(runs) - 1) // 2]] if runs else []


def europe(results: list[dict], svr_cost_ratio: float) -> str:
    """Projection from the largest tile's 1-worker (per-core) rate and its store size (the median round)."""
    largest = max(r["cells"] for r in results)
    per_core = _median_run([r for r in results if r["cells"] == largest and r["workers"] == 1])
    parallel = _median_run([r for r in results if r["cells"] == largest and r["workers"] > 1])
    base = per_core[0] if per_core else parallel[0]
    rate_per_core = base["rate"] / base["workers"]
    efficiency = (per_core[0]["wall"] / (parallel[0]["workers"] * parallel[0]["wall"])) if per_core and parallel else 1.0
    cells, members, years = 5_000_000, 32, 3
    spinup = cells * members * 365
    runs = cells * members * 365 * years * (1 + 1 + svr_cost_ratio)  # OL, DA-WCM, DA-SVR (relative cost)
    core_seconds = (spinup + runs) / rate_per_core / min(efficiency, 1.0)
    cpu_rate = base["rate"] * base["wall"] / max(base["cpu"], 1e-9)
    cpu_seconds = (spinup + runs) / cpu_rate
    store = base["store"] / (base["cells"] * DAYS * RUNS) * cells * 365 * years * 3
    return "\n".join(
        [
            f"Europe at 1 km: {cells:,} cells x {members} members x {years} years, spin-up 1 year + open loop + DA-WCM + DA-SVR "
            f"(DA-SVR costed at {svr_cost_ratio:.1f}x an open-loop run), from the {base['cells']:,}-cell tile "
            f"({rate_per_core / 1e6:.2f} M member-cell-days per core and wall second, {cpu_rate / 1e6:.2f} M per CPU-second, "
            f"parallel efficiency {efficiency:.0%}):",
            "",
            f"* **{core_seconds / 3600:,.0f} core-hours** from the wall-clock rate ({cpu_seconds / 3600:,.0f} from the CPU rate); "
            f"on 500 cores **{core_seconds / 500 / 3600:.1f} h** wall ({cpu_seconds / 500 / 3600:.1f} h) "
            "(if the measured efficiency holds and the shared file system keeps up with the writes);",
            f"* store **{store / 2**40:.2f} TiB** under the default grid output policy "
            f"({base['store'] / (base['cells'] * DAYS * RUNS):.0f} B per cell-day and run measured).",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--members", type=int, default=32)
    parser.add_argument("--kernel", default="numba", choices=("numpy", "numba"))
    parser.add_argument("--sites-per-task", type=int, default=None)
    parser.add_argument("--no-warm-up", dest="warm_up", action="store_false", help="skip the untimed run that fills numba's cache")
    parser.add_argument("--europe", action="store_true", help="print the Europe projection from the largest tile")
    parser.add_argument("--svr-cost-ratio", type=float, default=1.5, help="cost of a DA-SVR run relative to an open-loop run")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of every worker count, alternated (the machine is noisy)")
    args = parser.parse_args()
    extra = ["--sites-per-task", str(args.sites_per_task)] if args.sites_per_task else []
    results = []
    with tempfile.TemporaryDirectory(prefix="s1da_scaling_") as tmp:
        if args.warm_up:  # numba compiles (and caches on disk) the kernels once, outside the timed runs
            run_case(WARM_UP_CELLS, 1, args.members, args.kernel, Path(tmp), [])
        for cells in args.cells:
            for repeat in range(args.repeats):
                for workers in args.workers:
                    result = run_case(cells, workers, args.members, args.kernel, Path(tmp), extra) | {"repeat": repeat}
                    print(f"# {result}", file=sys.stderr, flush=True)
                    results.append(result)
    print(f"## Scaling: open loop + DA-WCM, {args.members} members x {DAYS} days, `--workers` {args.workers}\n")
    print(table(results))
    print()
    print(efficiencies(results))
    if args.europe:
        print()
        print(europe(results, args.svr_cost_ratio))


if __name__ == "__main__":
    main()
