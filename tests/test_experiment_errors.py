"""The experiment refuses what it cannot do honestly: bad periods, tiny ensembles, foreign stores."""

import attrs
import numpy as np
import pytest
from tiny_experiment import TINY_YAML, write_tiny_config

from s1da.containers.assembly import build_container
from s1da.framework.store import StoreError


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    return build_container(write_tiny_config(tmp_path_factory.mktemp("cfg")), progress=False).experiment()


def test_period_outside_the_data_is_refused(experiment):
    with pytest.raises(ValueError, match="the data cover"):
        attrs.evolve(experiment, end=np.datetime64("2019-01-31"))


def test_single_member_is_refused(experiment):
    with pytest.raises(ValueError, match="at least 2 members"):
        attrs.evolve(experiment, members=1)


def test_unfinished_store_of_another_configuration_is_not_resumed(experiment, tmp_path):
    experiment.open_store(tmp_path / "s.zarr")
    other = attrs.evolve(experiment, entropy=experiment.entropy + 1)
    with pytest.raises(StoreError, match="different configuration or seed"):
        other.open_store(tmp_path / "s.zarr")
    other.open_store(tmp_path / "s.zarr", overwrite=True)  # explicit replacement works


def test_finished_store_is_not_resumed(experiment, tmp_path):
    store = experiment.open_store(tmp_path / "done.zarr")
    store._root().attrs["complete"] = True
    with pytest.raises(StoreError, match="finished experiment"):
        experiment.open_store(tmp_path / "done.zarr")


def test_yaml_without_seed_records_the_drawn_one(tmp_path):
    container = build_container(write_tiny_config(tmp_path, TINY_YAML.replace("  seed: 7\n", "")), progress=False)
    seed = container.config.experiment.seed()
    assert f"seed: {seed}" in container.config_text()
