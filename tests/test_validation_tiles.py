"""Validation tile by tile: any tiling and any mapper give the tree of the whole store, bit for
bit, also when some tiles were scored during the run from their task's own fits; and the cheap
end-of-run check sees missing chunks, while only decoding sees a flipped byte."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import xarray as xr
from report_stores import write_grid_store, write_site_store

from s1da.framework.store import EnsembleStore
from s1da.framework.validation import score_tile, validate_store

pytestmark = pytest.mark.filterwarnings("ignore:The data type .* does not have a Zarr V3 specification")


def assert_trees_identical(first: xr.DataTree, second: xr.DataTree) -> None:
    assert first.attrs == second.attrs
    assert list(first.children) == list(second.children)
    for name in first.children:
        assert first[name].to_dataset().identical(second[name].to_dataset()), name


def reversed_mapper(function, items):
    """Scores the tiles last to first (as a cluster may finish them) and yields them in order."""
    results = [function(item) for item in reversed(items)]
    yield from reversed(results)


@pytest.fixture(scope="module")
def site_store(tmp_path_factory):
    return EnsembleStore(write_site_store(tmp_path_factory.mktemp("tiles") / "sites.zarr"))


def test_site_tiles_give_the_whole_store_tree(site_store):
    whole = validate_store(site_store, ["wcm", "svr", "sm"])
    n_sites = whole["sites"].sizes["site"]
    tiles = [{"site": slice(0, 1)}, {"site": slice(1, 3)}, {"site": slice(3, n_sites)}]  # a lone site too
    assert_trees_identical(whole, validate_store(site_store, ["wcm", "svr", "sm"], tiles=tiles, mapper=reversed_mapper))


def test_grid_tiles_give_the_whole_store_tree(tmp_path):
    store = EnsembleStore(write_grid_store(tmp_path / "grid.zarr"))
    whole = validate_store(store, ["wcm", "svr"], min_samples=20)
    tiles = [{"y": slice(y, y + 2), "x": slice(x, x + 3)} for y in range(0, 5, 2) for x in range(0, 7, 3)]  # uneven edges
    tiled = validate_store(store, ["wcm", "svr"], min_samples=20, tiles=tiles)
    assert_trees_identical(whole, tiled)
    assert (tiled["sites"]["site"].diff("site") > 0).all()  # row-major cell order, whatever the tiles


def _task_calibration(store: EnsembleStore, operators: list[str], region: dict) -> xr.Dataset:
    """The region's simulated backscatter as its task holds it at its end: its own sites only."""
    calibration = store.read("calibration")[[f"{label}_simulated_backscatter" for label in operators]].load()
    if "site" in region:
        return calibration.isel(site=region["site"])
    rows, columns = np.divmod(calibration["site"].values.astype(int), store.read("open_loop").sizes["x"])
    inside = [(index >= region[dim].start) & (index < region[dim].stop) for dim, index in (("y", rows), ("x", columns))]
    return calibration.isel(site=np.flatnonzero(inside[0] & inside[1]))


@pytest.mark.parametrize("layout", ["sites", "grid"])
def test_tiles_scored_during_the_run_from_their_own_fits_give_the_same_tree(site_store, tmp_path, layout):
    """The engine scores a task's tile when the task ends (the runs' groups not yet complete, the
    network's calibration group not yet written); pooled with tiles scored from the finished
    store, the tree is the whole store's."""
    if layout == "sites":
        store, operators = site_store, ["wcm", "svr", "sm"]
        n_sites = store.read("open_loop").sizes["site"]
        tiles = [{"site": slice(0, 1)}, {"site": slice(1, 3)}, {"site": slice(3, n_sites)}]
    else:
        store, operators = EnsembleStore(write_grid_store(tmp_path / "grid.zarr", calibration=True)), ["wcm", "svr"]
        tiles = [{"y": slice(y, y + 2), "x": slice(x, x + 3)} for y in range(0, 5, 2) for x in range(0, 7, 3)]
    whole = validate_store(store, operators, min_samples=20)
    assert "forward" in whole.children
    scored = {
        index: score_tile(str(store.path), operators, 20, tiles[index], calibration=_task_calibration(store, operators, tiles[index]), during_run=True)
        for index in range(0, len(tiles), 2)
    }
    assert_trees_identical(whole, validate_store(store, operators, min_samples=20, tiles=tiles, scored=scored))


def test_presence_check_finds_missing_chunks_and_decoding_finds_flipped_bytes(site_store, tmp_path):
    copy = tmp_path / "copy.zarr"
    shutil.copytree(site_store.path, copy)
    store = EnsembleStore(copy)
    values = xr.DataArray(np.linspace(0.1, 0.4, 400), dims="day", attrs={"units": "m3 m-3", "long_name": "soil moisture"})
    store.write_dataset("extra", xr.Dataset({"values": values}))  # written as s1da writes: checksummed chunks
    assert all(status.intact for status in store.verify(decode=False).values())
    chunk = copy / "extra" / "values" / "c" / "0"
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0x10
    chunk.write_bytes(bytes(data))
    assert store.verify(decode=False)["extra"].intact  # not decoded
    assert store.verify()["extra"].state == "corrupt"  # `s1da inspect` decodes every chunk
    assert "verified: every chunk is present (`s1da inspect` decodes them all)" in store.describe(decoded=False)
    chunk.unlink()
    assert store.verify(decode=False)["extra"].state == "corrupt"
    assert "DAMAGED: extra" in store.describe(decoded=False)
