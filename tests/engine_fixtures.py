"""Small inputs for the engine tests: a handmade gridded SiteData (the twin network on a grid)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from s1da.framework.grid import GridInfo
from s1da.framework.sitedata import SiteData

# a 4 x 5 grid; the cells that are land (row-major ids y * 5 + x), the others are sea
GRID_SHAPE = (4, 5)
LAND_CELLS = np.array([0, 1, 3, 6, 7, 8, 9, 11, 12, 15, 17, 19])


def regrid(data: SiteData, cells: np.ndarray = LAND_CELLS, shape: tuple[int, int] = GRID_SHAPE) -> SiteData:
    """Put the first ``len(cells)`` sites of ``data`` onto the cells ``cells`` of a small grid."""
    ny, nx = shape
    data = data.subset(np.arange(len(cells)))
    lat = 50.0 - 0.25 * np.arange(ny)
    lon = 5.0 + 0.25 * np.arange(nx)
    y_index, x_index = np.divmod(cells, nx)
    grid = GridInfo(lat=lat, lon=lon, y_index=y_index, x_index=x_index)

    def relabel(part):
        if part is None:
            return None
        part = part.assign_coords(site=cells)
        if "lat" in part.coords:
            part = part.assign_coords(
                lat=("site", lat[y_index], part["lat"].attrs), lon=("site", lon[x_index], part["lon"].attrs)
            )
        return part

    return SiteData(
        sites=relabel(data.sites),
        forcing=relabel(data.forcing),
        observations=relabel(data.observations),
        insitu=relabel(data.insitu),
        truth=relabel(data.truth),
        description=f"{data.description} on a {ny} x {nx} test grid",
        grid=grid,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def dask_cluster(n_workers: int, directory: Path):
    """A real ``dask scheduler`` and ``n_workers`` single-threaded ``dask worker`` processes on 127.0.0.1.

    Yields ``(address, workers)``: the scheduler address and the worker processes (a test may
    kill one).  Workers run without a nanny, so a killed worker stays dead.
    """
    address = f"tcp://127.0.0.1:{free_port()}"
    logs = [open(directory / f"dask_{name}.log", "w") for name in ["scheduler"] + [f"worker{i}" for i in range(n_workers)]]
    dask = [sys.executable, "-m", "dask"]
    port = address.rsplit(":", 1)[1]
    processes = [subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"], stdout=logs[0], stderr=subprocess.STDOUT)]
    try:
        _wait_for_port(int(port))
        for i in range(n_workers):
            worker = [*dask, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard", "--local-directory", str(directory / f"worker{i}")]
            processes.append(subprocess.Popen(worker, stdout=logs[i + 1], stderr=subprocess.STDOUT))
        yield address, processes[1:]
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        for log in logs:
            log.close()


def _wait_for_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the dask scheduler did not open port {port} within {timeout} s")


def s1da_cli(*args, env=None, **popen):
    """The CLI (with the tests' crash hook available) as a subprocess."""
    command = [sys.executable, str(Path(__file__).with_name("fault_cli.py")), *args]
    return subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=900, **popen)
