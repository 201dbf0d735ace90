"""Deferred inputs: the gridded twin's tasks build only their own cells, and the store is the one
of the same experiment on the whole tile's inputs, bit for bit."""

import attrs
import numpy as np
import pytest
from test_experiment_end_to_end import assert_stores_identical
from test_grid_twin import GRID_YAML

from s1da.containers.assembly import build_experiment
from s1da.framework.domain import DeferredSiteData


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    config = tmp_path_factory.mktemp("deferred") / "grid.yaml"
    config.write_text(GRID_YAML)
    return build_experiment(config, progress=False)


def test_the_driver_holds_cells_and_a_one_cell_model(experiment):
    assert experiment.deferred and isinstance(experiment.data, DeferredSiteData)
    assert set(experiment.data.sites.variables) == {"site", "lat", "lon"}  # no forcing, no statics
    assert experiment.model.n_site == 1  # the layout's model (layers, variables); tasks build their own
    restricted = experiment.for_sites(np.array([2, 0]))
    assert restricted.deferred and restricted.data.site_ids.tolist() == experiment.data.site_ids[[2, 0]].tolist()
    # the spatial perturber's table of cell positions: the task's cells only, not the domain's
    assert sorted(restricted.perturber._ids.tolist()) == sorted(restricted.data.site_ids.tolist())


def test_tasks_build_only_their_cells_and_write_the_whole_tiles_store(experiment, tmp_path):
    whole_data = experiment.data.build_all()
    whole = attrs.evolve(experiment, data=whole_data, model=experiment.model_factory(whole_data.sites))
    reference = whole.run(tmp_path / "whole.zarr")

    built_sizes = []

    def recording_build(site_ids):
        built_sizes.append(len(site_ids))
        return experiment.data.build(site_ids)

    deferred = attrs.evolve(experiment, data=attrs.evolve(experiment.data, build=recording_build))
    store = deferred.run(tmp_path / "deferred.zarr", sites_per_task=4)
    assert_stores_identical(reference, store)
    n_tasks = len(deferred.data.grid.tiles(deferred.data.grid.tile_shape(4)))
    assert n_tasks > 1 and len(built_sizes) == n_tasks + 1  # one cell for the store's layout, then each task
    assert built_sizes[0] == 1 and max(built_sizes) <= 4
