"""Spatially correlated forcing perturbations: chunk independence and measured statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st

from s1da.components.perturbers.forcing import ForcingPerturbationParameters
from s1da.components.perturbers.spatial import SpatialForcingPerturbationParameters, SpatialForcingPerturber
from s1da.framework.random_fields import LatticeField
from s1da.framework.randomness import Purpose

NY, NX = 12, 10
SPACING = 0.1  # degrees


def _cells(ny=NY, nx=NX, lat0=45.0, lon0=5.0):
    y, x = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
    return xr.Dataset(
        coords={
            "site": ("site", (y * nx + x).ravel().astype(np.int64)),
            "lat": ("site", (lat0 + SPACING * y).ravel()),
            "lon": ("site", (lon0 + SPACING * x).ravel()),
        }
    )


def _forcing(n_days, n_sites):
    return {
        "precipitation": np.full((n_days, n_sites), 3.0),
        "air_temperature": np.full((n_days, n_sites), 10.0),
        "net_radiation": np.full((n_days, n_sites), 100.0),
    }


def _perturber(cells, **options):
    parameters = SpatialForcingPerturbationParameters(**{"block_days": 8, **options})
    return SpatialForcingPerturber(parameters, entropy=2024, positions=cells)


@given(split=st.lists(st.booleans(), min_size=NY * NX, max_size=NY * NX), first_day=st.integers(0, 20))
def test_any_chunking_of_cells_gives_the_same_numbers_bit_for_bit(split, first_day):
    cells = _cells()
    ids = cells["site"].values
    in_a = np.asarray(split)
    if in_a.all() or not in_a.any():
        in_a[0] = not in_a[0]
    whole, _ = _perturber(cells).perturb_period(_forcing(10, ids.size), ids, 6, start_day=first_day)
    for part in (in_a, ~in_a):
        chunk, _ = _perturber(cells).perturb_period(_forcing(10, int(part.sum())), ids[part], 6, start_day=first_day)
        for name in whole:
            np.testing.assert_array_equal(chunk[name], whole[name][:, :, part])


@given(split=st.lists(st.booleans(), min_size=NY * NX, max_size=NY * NX))
def test_a_task_perturber_holds_only_its_cells_and_draws_the_same_numbers(split):
    cells = _cells()
    ids = cells["site"].values
    part = np.asarray(split)
    if not part.any():
        part[0] = True
    whole, _ = _perturber(cells).perturb_period(_forcing(10, ids.size), ids, 6, start_day=3)
    task = _perturber(cells).for_sites(ids[part])
    assert task._ids.size == int(part.sum())  # what a worker receives follows the task, not the domain
    chunk, _ = task.perturb_period(_forcing(10, int(part.sum())), ids[part], 6, start_day=3)
    for name in whole:
        np.testing.assert_array_equal(chunk[name], whole[name][:, :, part])


def test_a_task_perturber_refuses_cells_outside_its_table():
    cells = _cells()
    task = _perturber(cells).for_sites(cells["site"].values[:5])
    with pytest.raises(KeyError, match=r"site id\(s\) \[7\]"):
        task.perturb_period(_forcing(2, 1), np.array([7]), 2)


def _temperature_noise(cells, n_days, members, **options):
    perturber = _perturber(cells, correlation_time=3.0, air_temperature_sd=1.0, truncation=10.0, net_radiation_relative_sd=0.05, **options)
    out, _ = perturber.perturb_period(_forcing(n_days, cells.sizes["site"]), cells["site"].values, members, start_day=0)
    return out["air_temperature"] - 10.0  # (time, member, site): u of the temperature


def test_marginal_variance_and_ar1_autocorrelation_match_the_site_perturber():
    cells = _cells(6, 6)
    members = 32
    u = _temperature_noise(cells, 240, members)
    expected_variance = (members - 1) / members  # centring (module docstring of forcing.py)
    assert u.var(axis=1, ddof=0).mean() == pytest.approx(expected_variance, abs=0.03)
    lag1 = np.mean([np.corrcoef(u[1:, :, s].ravel(), u[:-1, :, s].ravel())[0, 1] for s in range(u.shape[2])])
    assert lag1 == pytest.approx(math.exp(-1.0 / 3.0), abs=0.03)


def test_spatial_correlation_follows_the_documented_length():
    length = 0.3
    cells = _cells(1, 40, lon0=7.03)  # one row, 0.1 deg apart
    u = _temperature_noise(cells, 64, 32, correlation_length_lat=length, correlation_length_lon=length)
    series = u.reshape(-1, u.shape[2])
    for lag_cells in (1, 3, 6):
        lag = lag_cells * SPACING
        measured = np.mean([np.corrcoef(series[:, i], series[:, i + lag_cells])[0, 1] for i in range(40 - lag_cells)])
        assert measured == pytest.approx(math.exp(-(lag**2) / (2 * length**2)), abs=0.08)


def test_neighbouring_cells_far_apart_are_uncorrelated_with_the_site_perturber_statistics():
    cells = _cells(1, 2)
    cells = cells.assign_coords(lon=("site", np.array([5.0, 15.0])))
    u = _temperature_noise(cells, 128, 32).reshape(-1, 2)
    assert abs(np.corrcoef(u[:, 0], u[:, 1])[0, 1]) < 0.06


def test_lattice_field_has_unit_variance_at_nodes_and_between_them():
    field = LatticeField(0.5, 0.5)
    spacing = field.spacing[0]
    lat = np.array([0.0, 0.5 * spacing, 0.25 * spacing]) + 10 * spacing
    lon = np.full(3, 20 * field.spacing[1])
    plan = field.interpolation(lat, lon)
    np.testing.assert_allclose((plan.weights**2).sum(axis=1), 1.0, rtol=1e-12)
    normals = np.stack([field.normals(7, lat, lon, Purpose.FORCING_PERTURBATION_LATTICE, block) for block in range(2000)])
    np.testing.assert_allclose(normals.var(axis=0), 1.0, atol=0.1)


def test_parameters_and_inputs_are_checked():
    with pytest.raises(ValueError, match="correlation_length_lat"):
        SpatialForcingPerturbationParameters(correlation_length_lat=0.0)
    with pytest.raises(TypeError, match="SpatialForcingPerturbationParameters"):
        SpatialForcingPerturber(ForcingPerturbationParameters(), entropy=1, positions=_cells())
    perturber = _perturber(_cells())
    with pytest.raises(KeyError, match=r"site id\(s\) \[9999\]"):
        perturber.perturb_period(_forcing(2, 1), np.array([9999]), 4)
    with pytest.raises(ValueError, match="lat/lon must be finite"):
        LatticeField().interpolation(np.array([95.0]), np.array([0.0]))
