"""Third-party components: the bucket plugin's land model and operator, written only against the
interfaces, run end to end through the registry; installed, it is selectable by kind in YAML."""

import json
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from tiny_experiment import TINY_YAML, write_tiny_config

from s1da.containers.assembly import build_experiment
from s1da.containers.registry import Component, registered, registry
from s1da.framework.store import EnsembleStore

PLUGIN = Path(__file__).resolve().parents[1] / "examples" / "s1da-bucket-plugin"


@pytest.fixture(scope="module")
def plugin_components():
    """The plugin's components, from the installed distribution or else from its source folder."""
    try:
        metadata.distribution("s1da-bucket-plugin")
    except metadata.PackageNotFoundError:
        sys.path.insert(0, str(PLUGIN / "src"))
    from s1da_bucket.registration import COMPONENTS

    return COMPONENTS


BUCKET_YAML = TINY_YAML.replace("model:\n  kind: gleam\n", "model:\n  kind: bucket\n  depth: 80.0\n").replace(
    "  wcm:\n    kind: wcm\n  svr:\n    kind: svr\n    c_grid: [1, 10]\n    gamma_grid: [0.1, 1]\n    n_jobs: 1\n", "  linear:\n    kind: linear\n"
)


def _installed(kind):
    return any(component.kind == kind for component in registry().components.values())


@pytest.mark.slow
def test_interface_only_model_and_operator_run_end_to_end(tmp_path, plugin_components):
    assert "kind: bucket" in BUCKET_YAML and "kind: linear" in BUCKET_YAML and "kind: wcm" not in BUCKET_YAML
    components = [] if _installed("bucket") else [
        Component(c.layer, c.kind, c.parameters, c.factory, distribution="s1da-bucket-plugin", version="source") for c in plugin_components
    ]
    with registered(*components):
        experiment = build_experiment(write_tiny_config(tmp_path, BUCKET_YAML), progress=False)
        store = experiment.run(tmp_path / "bucket.zarr")
    assert store.is_complete
    da = store.read("da_linear")
    assert np.isfinite(da["surface_soil_moisture"].values).all()
    assert np.nanmax(np.abs(da["analysis_increment"].values)) > 0.0
    recorded = json.loads(EnsembleStore.open(store.path).attributes["components"])
    assert recorded["model"]["kind"] == "bucket" and recorded["operators.linear"]["distribution"] == "s1da-bucket-plugin"
    # the water balance of the bucket closes in the store (increments enter the storage)
    storage = da["total_water_storage"].values
    change = np.diff(storage, axis=0)
    balance = (da["precipitation"] - da["total_evaporation"] - da["deep_drainage"] - da["surface_runoff"]).values[1:]
    np.testing.assert_allclose(change, balance + np.nan_to_num(da["analysis_increment"].values[1:]), atol=1e-9)


@pytest.mark.skipif(not any(c.distribution == "s1da-bucket-plugin" for c in registry().components.values()), reason="s1da-bucket-plugin is not installed (CI installs it)")
def test_installed_plugin_is_selectable_by_kind_with_its_version(capsys):
    from s1da.containers.cli import main

    assert main(["kinds", "model"]) == 0
    version = metadata.version("s1da-bucket-plugin")
    assert f"  bucket  (s1da-bucket-plugin {version})" in capsys.readouterr().out
