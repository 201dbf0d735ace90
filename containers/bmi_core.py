"""What s1da's BMIs (:mod:`s1da.containers.bmi`) share: grids, the variable table, values.

Grid 0 holds one node per site: ``unstructured`` points (longitude, latitude) for a site
network, or the ``uniform_rectilinear`` lat/lon grid of a gridded source (its
:class:`~s1da.framework.grid.GridInfo`; cells without a site hold NaN).  Grid 1 holds one node
per member and site (member-major, ``unstructured``).  Every value lives in one flat float64
buffer owned by the BMI, so ``get_value_ptr`` hands out views that stay valid across
``update()`` (the buffers are written in place).
"""

from __future__ import annotations

import abc

import attrs
import numpy as np
from bmipy import Bmi

from s1da.framework.grid import GridInfo

SITES, MEMBERS = 0, 1


@attrs.frozen
class Grid:
    """One BMI grid: its type, node coordinates and, for a lattice, shape, spacing and origin."""

    type: str
    x: np.ndarray
    y: np.ndarray
    shape: tuple[int, ...] = ()
    spacing: tuple[float, ...] = ()
    origin: tuple[float, ...] = ()
    cells: np.ndarray | None = None
    """For a lattice: the node of each site (row-major); other nodes hold NaN."""

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else len(self.x)

    @property
    def rank(self) -> int:
        return len(self.shape) if self.shape else 2


def site_grids(lon: np.ndarray, lat: np.ndarray, members: int, grid: GridInfo | None = None) -> tuple[Grid, Grid]:
    """Grid 0 (the sites, or the cells of a gridded source) and grid 1 (member x site).

    For a gridded source grid 0 is the whole ``uniform_rectilinear`` lat/lon grid, rows in the
    order of ``grid.lat``, columns in the order of ``grid.lon`` (spacing given as a positive
    step); cells that are no site hold NaN.
    """
    lon, lat = np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64")
    members_grid = Grid("unstructured", np.tile(lon, members), np.tile(lat, members))
    if grid is None:
        return Grid("unstructured", lon, lat), members_grid
    steps = tuple(float(abs(np.diff(axis)[0])) if axis.size > 1 else 1.0 for axis in (grid.lat, grid.lon))
    lon_2d, lat_2d = np.meshgrid(grid.lon, grid.lat)
    cells = Grid(
        "uniform_rectilinear",
        lon_2d.ravel(),
        lat_2d.ravel(),
        shape=grid.shape,
        spacing=steps,
        origin=(float(grid.lat[0]), float(grid.lon[0])),
        cells=grid.site_ids,
    )
    return cells, members_grid


@attrs.frozen
class Variable:
    """One exchange item: CSDMS name, units, grid, and whether callers may set it."""

    name: str
    units: str
    grid: int
    settable: bool = False
    readable: bool = True


class ArrayBmi(Bmi, abc.ABC):
    """A BMI over named flat float64 buffers; subclasses fill ``_variables``/``_values`` and step."""

    _component_name = "s1da"

    def __init__(self) -> None:
        self._variables: dict[str, Variable] = {}
        self._values: dict[str, np.ndarray] = {}
        self._grids: tuple[Grid, ...] = ()
        self._time = 0.0
        self._end_time = 0.0

    # ------------------------------------------------------------------ building
    def _declare(self, variable: Variable, initial: np.ndarray | None = None) -> None:
        self._variables[variable.name] = variable
        self._values[variable.name] = np.full(self._grids[variable.grid].size, np.nan)
        if initial is not None:
            self._store(variable.name, initial)

    def _store(self, name: str, values: np.ndarray) -> None:
        """Write new values into a buffer in place (pointers stay valid); site values go to their cells."""
        cells = self._grids[self._variables[name].grid].cells
        if cells is None:
            self._values[name][...] = np.ravel(values)
        else:
            self._values[name][cells] = np.ravel(values)

    def _array(self, name: str, members: int) -> np.ndarray:
        """A copy of a member-grid buffer shaped (member, site)."""
        return self._values[name].reshape(members, -1).copy()

    def _variable(self, name: str) -> Variable:
        try:
            return self._variables[name]
        except KeyError:
            raise KeyError(f"{self._component_name}: no variable {name!r}; see get_input_var_names/get_output_var_names") from None

    # ------------------------------------------------------------------ info
    def get_component_name(self) -> str:
        return self._component_name

    def get_input_item_count(self) -> int:
        return len(self.get_input_var_names())

    def get_output_item_count(self) -> int:
        return len(self.get_output_var_names())

    def get_input_var_names(self) -> tuple[str, ...]:
        return tuple(name for name, variable in self._variables.items() if variable.settable)

    def get_output_var_names(self) -> tuple[str, ...]:
        return tuple(name for name, variable in self._variables.items() if variable.readable)

    # ------------------------------------------------------------------ variables
    def get_var_grid(self, name: str) -> int:
        return self._variable(name).grid

    def get_var_type(self, name: str) -> str:
        return str(self._values[self._variable(name).name].dtype)

    def get_var_units(self, name: str) -> str:
        return self._variable(name).units

    def get_var_itemsize(self, name: str) -> int:
        return int(self._values[self._variable(name).name].itemsize)

    def get_var_nbytes(self, name: str) -> int:
        return int(self._values[self._variable(name).name].nbytes)

    def get_var_location(self, name: str) -> str:
        self._variable(name)
        return "node"

    # ------------------------------------------------------------------ time
    def get_current_time(self) -> float:
        return self._time

    def get_start_time(self) -> float:
        return 0.0

    def get_end_time(self) -> float:
        return self._end_time

    def get_time_units(self) -> str:
        return "d"

    def get_time_step(self) -> float:
        return 1.0

    def update_until(self, time: float) -> None:
        while self._time + 0.5 < time:
            self.update()

    # ------------------------------------------------------------------ values
    def get_value(self, name: str, dest: np.ndarray) -> np.ndarray:
        dest[:] = self._values[self._variable(name).name]
        return dest

    def get_value_ptr(self, name: str) -> np.ndarray:
        return self._values[self._variable(name).name]

    def get_value_at_indices(self, name: str, dest: np.ndarray, inds: np.ndarray) -> np.ndarray:
        dest[:] = self._values[self._variable(name).name][inds]
        return dest

    def _settable(self, name: str) -> np.ndarray:
        variable = self._variable(name)
        if not variable.settable:
            raise ValueError(f"{self._component_name}: {name!r} is an output; it cannot be set")
        return self._values[name]

    def set_value(self, name: str, src: np.ndarray) -> None:
        self._settable(name)[:] = np.ravel(src)
        self._after_set(name)

    def set_value_at_indices(self, name: str, inds: np.ndarray, src: np.ndarray) -> None:
        self._settable(name)[inds] = src
        self._after_set(name)

    def _after_set(self, name: str) -> None:
        """Hook: a subclass notes values set by the caller (e.g. forcing for the next update)."""

    # ------------------------------------------------------------------ grids
    def _grid(self, grid: int) -> Grid:
        return self._grids[grid]

    def get_grid_rank(self, grid: int) -> int:
        return self._grid(grid).rank

    def get_grid_size(self, grid: int) -> int:
        return self._grid(grid).size

    def get_grid_type(self, grid: int) -> str:
        return self._grid(grid).type

    def get_grid_shape(self, grid: int, shape: np.ndarray) -> np.ndarray:
        shape[:] = self._grid(grid).shape
        return shape

    def get_grid_spacing(self, grid: int, spacing: np.ndarray) -> np.ndarray:
        spacing[:] = self._grid(grid).spacing
        return spacing

    def get_grid_origin(self, grid: int, origin: np.ndarray) -> np.ndarray:
        origin[:] = self._grid(grid).origin
        return origin

    def get_grid_x(self, grid: int, x: np.ndarray) -> np.ndarray:
        x[:] = self._grid(grid).x
        return x

    def get_grid_y(self, grid: int, y: np.ndarray) -> np.ndarray:
        y[:] = self._grid(grid).y
        return y

    def get_grid_z(self, grid: int, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError("s1da grids are two-dimensional")

    def get_grid_node_count(self, grid: int) -> int:
        return self._grid(grid).size

    def get_grid_edge_count(self, grid: int) -> int:
        return 0  # sites are points: no edges, no faces

    def get_grid_face_count(self, grid: int) -> int:
        return 0

    def get_grid_edge_nodes(self, grid: int, edge_nodes: np.ndarray) -> np.ndarray:
        return edge_nodes

    def get_grid_face_edges(self, grid: int, face_edges: np.ndarray) -> np.ndarray:
        return face_edges

    def get_grid_face_nodes(self, grid: int, face_nodes: np.ndarray) -> np.ndarray:
        return face_nodes

    def get_grid_nodes_per_face(self, grid: int, nodes_per_face: np.ndarray) -> np.ndarray:
        return nodes_per_face
