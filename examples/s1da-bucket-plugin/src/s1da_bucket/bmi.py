"""The bucket behind the CSDMS Basic Model Interface (BMI 2.0), so any BMI framework can run it.

``initialize(config_file)`` reads a YAML file::

    sites: {w_wp: [...], w_fc: [...], w_sat: [...], lat: [...], lon: [...]}   # one value per site
    parameters: {depth: 100.0, drainage_rate: 0.2}                               # BucketParameters
    days: 365                                                                    # end time (d)

One member; the grid is the sites as ``unstructured`` points.  Inputs: precipitation (mm d-1)
and net radiation (W m-2), used by the next ``update()``; the soil moisture is input and output
(state); outputs are the water-balance terms.  s1da drives it as its land model with
``model: {kind: bmi, component: "s1da_bucket.bmi:BucketBmi", ...}`` (see ``experiment_bmi.yaml``).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
import yaml
from bmipy import Bmi

from s1da_bucket.model import BucketModel, BucketParameters

SOIL = "soil_water__volume_fraction"
INPUTS = {
    "atmosphere_water__precipitation_leq-volume_flux": ("precipitation", "mm d-1"),
    "land_surface_radiation~net__energy_flux": ("net_radiation", "W m-2"),
}
OUTPUTS = {
    "land_water__volume-per-area_storage_density": ("total_water_storage", "mm"),
    "land_surface_water_evapotranspiration__volume_flux": ("total_evaporation", "mm d-1"),
    "soil_water~below-root-zone_drainage__volume_flux": ("deep_drainage", "mm d-1"),
    "land_surface_water_runoff__volume_flux": ("surface_runoff", "mm d-1"),
}


class BucketBmi(Bmi):
    """One-layer bucket (Manabe 1969) through BMI 2.0."""

    def initialize(self, config_file=None):
        with open(config_file) as stream:
            config = yaml.safe_load(stream)
        sites = xr.Dataset({name: ("site", np.asarray(values, dtype="float64")) for name, values in config["sites"].items()})
        self._model = BucketModel(sites, BucketParameters(**config.get("parameters", {})))
        self._lon, self._lat = sites["lon"].values, sites["lat"].values
        self._end = float(config.get("days", 365))
        self._time = 0.0
        state = self._model.initial_state(1)
        self._values = {SOIL: state["soil_moisture"][0].copy()}
        for name in INPUTS:
            self._values[name] = np.zeros(self._lon.size)
        for name in OUTPUTS:
            self._values[name] = np.full(self._lon.size, np.nan)
        self._values["land_water__volume-per-area_storage_density"][:] = self._values[SOIL] * self._model.parameters.depth

    def update(self):
        forcing = {key: self._values[name][None, :] for name, (key, _) in INPUTS.items()}
        state, fluxes = self._model.step({"soil_moisture": self._values[SOIL][None, :]}, forcing)
        self._values[SOIL][:] = state["soil_moisture"][0]
        for name, (key, _) in OUTPUTS.items():
            self._values[name][:] = fluxes[key][0]
        self._time += 1.0

    def update_until(self, time):
        while self._time + 0.5 < time:
            self.update()

    def finalize(self):
        self._model = None

    # ---------------------------------------------------------------- information
    def get_component_name(self):
        return "s1da-bucket-plugin bucket"

    def get_input_item_count(self):
        return len(self.get_input_var_names())

    def get_output_item_count(self):
        return len(self.get_output_var_names())

    def get_input_var_names(self):
        return (*INPUTS, SOIL)

    def get_output_var_names(self):
        return (SOIL, *OUTPUTS)

    def get_var_grid(self, name):
        self._values[name]
        return 0

    def get_var_type(self, name):
        return str(self._values[name].dtype)

    def get_var_units(self, name):
        return "m3 m-3" if name == SOIL else {**INPUTS, **OUTPUTS}[name][1]

    def get_var_itemsize(self, name):
        return self._values[name].itemsize

    def get_var_nbytes(self, name):
        return self._values[name].nbytes

    def get_var_location(self, name):
        return "node"

    def get_current_time(self):
        return self._time

    def get_start_time(self):
        return 0.0

    def get_end_time(self):
        return self._end

    def get_time_units(self):
        return "d"

    def get_time_step(self):
        return 1.0

    # ---------------------------------------------------------------- values
    def get_value(self, name, dest):
        dest[:] = self._values[name]
        return dest

    def get_value_ptr(self, name):
        return self._values[name]

    def get_value_at_indices(self, name, dest, inds):
        dest[:] = self._values[name][inds]
        return dest

    def set_value(self, name, src):
        if name not in self.get_input_var_names():
            raise ValueError(f"{name!r} cannot be set")
        self._values[name][:] = src

    def set_value_at_indices(self, name, inds, src):
        if name not in self.get_input_var_names():
            raise ValueError(f"{name!r} cannot be set")
        self._values[name][inds] = src

    # ---------------------------------------------------------------- grid: sites as points
    def get_grid_rank(self, grid):
        return 2

    def get_grid_size(self, grid):
        return int(self._lon.size)

    def get_grid_type(self, grid):
        return "unstructured"

    def get_grid_x(self, grid, x):
        x[:] = self._lon
        return x

    def get_grid_y(self, grid, y):
        y[:] = self._lat
        return y

    def get_grid_z(self, grid, z):
        raise NotImplementedError("two-dimensional grid")

    def get_grid_node_count(self, grid):
        return self.get_grid_size(grid)

    def get_grid_edge_count(self, grid):
        return 0

    def get_grid_face_count(self, grid):
        return 0

    def get_grid_shape(self, grid, shape):
        raise NotImplementedError("unstructured grid")

    def get_grid_spacing(self, grid, spacing):
        raise NotImplementedError("unstructured grid")

    def get_grid_origin(self, grid, origin):
        raise NotImplementedError("unstructured grid")

    def get_grid_edge_nodes(self, grid, edge_nodes):
        return edge_nodes

    def get_grid_face_edges(self, grid, face_edges):
        return face_edges

    def get_grid_face_nodes(self, grid, face_nodes):
        return face_nodes

    def get_grid_nodes_per_face(self, grid, nodes_per_face):
        return nodes_per_face
