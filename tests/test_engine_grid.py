"""GridInfo and SiteData subsets: the pieces the engine cuts a domain into."""

import numpy as np
import pytest
from engine_fixtures import GRID_SHAPE, LAND_CELLS, regrid
from hypothesis import given
from hypothesis import strategies as st
from tiny_experiment import write_tiny_config

from s1da.containers.assembly import build_container
from s1da.framework.grid import GridInfo
from s1da.framework.sitedata import DataError, SiteData


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    directory = tmp_path_factory.mktemp("network")
    return build_container(write_tiny_config(directory), progress=False).data.site_data()


def small_grid(cells=LAND_CELLS, shape=GRID_SHAPE) -> GridInfo:
    y, x = np.divmod(np.asarray(cells), shape[1])
    return GridInfo(lat=np.arange(shape[0], dtype=float), lon=np.arange(shape[1], dtype=float), y_index=y, x_index=x)


def test_site_ids_are_row_major_cells_and_maps_put_values_in_place():
    grid = small_grid()
    np.testing.assert_array_equal(grid.site_ids, LAND_CELLS)
    values = np.arange(len(LAND_CELLS), dtype=float)
    field = grid.to_map(values)
    assert field.shape == GRID_SHAPE
    np.testing.assert_array_equal(field.ravel()[LAND_CELLS], values)
    assert np.isnan(np.delete(field.ravel(), LAND_CELLS)).all()
    assert grid.land_mask.sum() == len(LAND_CELLS)


@given(
    ny=st.integers(1, 7),
    nx=st.integers(1, 7),
    cells_per_tile=st.integers(1, 30),
    data=st.data(),
)
def test_tiles_partition_the_sites_and_hold_them_in_table_order(ny, nx, cells_per_tile, data):
    cells = data.draw(st.lists(st.integers(0, ny * nx - 1), min_size=1, unique=True))
    grid = small_grid(np.array(cells), (ny, nx))
    tile_shape = grid.tile_shape(cells_per_tile)
    tiles = grid.tiles(tile_shape)
    positions = np.concatenate([tile.sites for tile in tiles])
    np.testing.assert_array_equal(np.sort(positions), np.arange(len(cells)))
    for tile in tiles:
        assert (np.diff(tile.sites) > 0).all()
        assert tile.y.stop - tile.y.start <= tile_shape[0] and tile.x.stop - tile.x.start <= tile_shape[1]
        y, x = grid.y_index[tile.sites], grid.x_index[tile.sites]
        assert ((tile.y.start <= y) & (y < tile.y.stop) & (tile.x.start <= x) & (x < tile.x.stop)).all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(lat=[1.0, 1.0, 2.0, 3.0]), "strictly increasing or decreasing"),
        (dict(lon=[[0.0, 1.0]]), "1-D"),
        (dict(y_index=[0, 9]), "outside"),
        (dict(y_index=[0, 0], x_index=[1, 1]), "share one cell"),
        (dict(y_index=[0, 1, 2]), "one length"),
        (dict(crs="EPSG:3035"), "crs"),
    ],
)
def test_bad_grids_are_refused_by_name(change, message):
    fields = dict(lat=np.arange(4.0), lon=np.arange(5.0), y_index=[0, 1], x_index=[2, 3])
    with pytest.raises(ValueError, match=message):
        GridInfo(**{**fields, **change})


def test_subset_picks_the_same_sites_everywhere(network):
    gridded = regrid(network.subset(np.arange(3)), cells=np.array([1, 7, 18]))
    part = gridded.subset(np.array([2, 0]))
    np.testing.assert_array_equal(part.site_ids, [18, 1])
    np.testing.assert_array_equal(part.grid.site_ids, [18, 1])
    for name in ("forcing", "observations", "truth"):
        np.testing.assert_array_equal(
            getattr(part, name).to_array().values, getattr(gridded, name).isel(site=[2, 0]).to_array().values
        )
    assert part.insitu.sizes["site"] == 2 and part.description == gridded.description


def test_subset_refuses_positions_outside_the_table(network):
    with pytest.raises(ValueError, match="0..2"):
        network.subset(np.array([3]))
    with pytest.raises(ValueError, match="non-empty"):
        network.subset(np.array([], dtype=int))


def test_a_grid_that_does_not_match_the_site_table_is_refused(network):
    gridded = regrid(network, cells=np.array([1, 7, 18]))
    with pytest.raises(DataError, match=r"grid: site 1 sits in cell y=0, x=2"):
        SiteData(gridded.sites, gridded.forcing, gridded.observations, grid=small_grid([2, 7, 18]))
    with pytest.raises(DataError, match="locates 2 cells for 3 sites"):
        SiteData(gridded.sites, gridded.forcing, gridded.observations, grid=small_grid([1, 7]))
