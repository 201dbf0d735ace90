"""The CLI explains itself: `s1da kinds`, `s1da config init` (runs as it is), `s1da run --set` recorded."""

import json

import pytest
from tiny_experiment import TINY_YAML, write_tiny_config

from s1da.containers import schema
from s1da.containers.assembly import build_experiment
from s1da.containers.cli import main
from s1da.containers.registry import registry
from s1da.framework.config import ConfigError
from s1da.framework.store import EnsembleStore


def test_kinds_lists_every_kind_with_keys_units_defaults_and_doc(capsys):
    assert main(["kinds"]) == 0
    text = capsys.readouterr().out
    for (layer, kind), component in registry().components.items():
        assert f"  {kind}  ({component.distribution} {component.version})  {component.summary}" in text
    assert "  etkf  (s1da" in text
    assert "state_vector: one of top, top_aggregated, augmented, default 'top'" in text
    assert "incidence_angle_deg: a number, default 40.0 [degree]" in text


def test_kinds_of_one_layer_and_an_unknown_layer(capsys):
    assert main(["kinds", "filter", "etkf"]) == 0
    text = capsys.readouterr().out
    assert "etkf" in text and "denkf" not in text and "gleam" not in text
    assert main(["kinds", "filters"]) == 2
    assert "unknown layer 'filters'" in capsys.readouterr().err


@pytest.mark.slow
def test_config_init_writes_a_complete_config_that_runs_as_it_is(tmp_path, capsys):
    config = tmp_path / "mine.yaml"
    assert main(["config", "init", str(config)]) == 0
    text = config.read_text()
    for option in ("precipitation_relative_sd", "drainage_fraction", "inflation", "incidence_angle_deg", "c_grid"):
        assert f"{option}:" in text
    assert "# other kinds: adaptive, enkf, etkf" in text
    store = tmp_path / "mine.zarr"
    assert main(["run", str(config), "--output", str(store), "--no-progress"]) == 0
    assert EnsembleStore.open(store).is_complete
    assert main(["config", "init", str(config)]) == 2  # never replaces a file silently
    assert "exists" in capsys.readouterr().err


def test_config_init_files_source_is_a_valid_configuration(tmp_path):
    config = tmp_path / "files.yaml"
    assert main(["config", "init", str(config), "--source", "files"]) == 0
    resolved = schema.load(config)
    assert resolved["source"]["kind"] == "files"
    assert resolved["source"]["parameters"].sites == "sites.csv"


def test_set_overrides_are_checked_and_recorded_in_the_store(tmp_path):
    path = write_tiny_config(tmp_path, TINY_YAML)
    overrides = ["experiment.members=16", "filter.inflation=1.05", "operators.svr.c_grid=[1, 100]"]
    experiment = build_experiment(path, progress=False, overrides=overrides)
    assert experiment.members == 16 and experiment.filter.inflation == 1.05
    store = experiment.open_store(tmp_path / "out.zarr")
    attributes = EnsembleStore.open(store.path).attributes
    assert json.loads(attributes["overrides"]) == overrides
    assert "members: 16" in attributes["config"]
    assert json.loads(attributes["components"])["filter"] == {"kind": "denkf", "distribution": "s1da", "version": registry().get("filter", "denkf").version}


@pytest.mark.parametrize(
    ("override", "key"),
    [("experiment.members=many", "experiment.members"), ("filter.inflaton=2", "filter.inflaton"), ("experiment.name.x=1", "experiment.name"), ("members", None)],
)
def test_bad_overrides_are_config_errors(tmp_path, override, key):
    path = write_tiny_config(tmp_path, TINY_YAML)
    with pytest.raises(ConfigError) as caught:
        schema.load(path, overrides=[override])
    if key is not None:
        assert f"key '{key}'" in str(caught.value)
    else:
        assert "key.path=value" in str(caught.value)


def test_a_bad_value_given_with_set_is_blamed_on_the_option(tmp_path, capsys):
    path = write_tiny_config(tmp_path, TINY_YAML)
    assert main(["run", str(path), "--output", str(tmp_path / "out.zarr"), "--set", "experiment.members=many"]) == 2
    assert "key 'experiment.members' in --set experiment.members=many: expected an integer, got the string 'many'" in capsys.readouterr().err
    assert not (tmp_path / "out.zarr").exists()
