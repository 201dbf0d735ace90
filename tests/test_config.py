"""Experiment YAML: every mistake is an error naming the key and the file."""

import pytest
from tiny_experiment import TINY_YAML, write_tiny_config

from s1da.containers import schema
from s1da.containers.assembly import build_container
from s1da.framework.config import ConfigError


def load_text(tmp_path, text):
    return schema.load(write_tiny_config(tmp_path, text))


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("  members: 8", "  members: 8\n  memebers: 8", "experiment.memebers"),
        ("  kind: denkf", "  kind: denkf\n  inflaton: 1.0", "filter.inflaton"),
        ("  kind: denkf", "  kind: kalman", "filter.kind"),
        ("  members: 8", "  members: eight", "experiment.members"),
        ("  members: 8", "  members: -3", "experiment.members"),
        ("  name: tiny\n", "", "experiment.name"),
        ("  start: 2018-04-01", "  start: April", "experiment.start"),
        ("  kind: denkf", "  kind: denkf\n  inflation: -1.0", "filter.inflation"),
        ("  n_sites: 3", "  n_sites: 3\n  weather:\n    no_such_weather_knob: 1", "source.weather.no_such_weather_knob"),
        ("  kind: gleam", "  kind: gleam\n  state_vector: everything", "model.state_vector"),
        ("    n_jobs: 1", "    n_jobs: 1\n    kernel: linear", "operators.svr.kernel"),
    ],
)
def test_bad_config_names_key_and_file(tmp_path, old, new, key):
    assert old in TINY_YAML
    with pytest.raises(ConfigError) as error:
        load_text(tmp_path, TINY_YAML.replace(old, new, 1))
    assert f"key '{key}'" in str(error.value)
    assert "tiny.yaml" in str(error.value)


def test_unknown_section_and_missing_section(tmp_path):
    with pytest.raises(ConfigError, match="key 'filters'.*tiny.yaml"):
        load_text(tmp_path, TINY_YAML + "filters:\n  kind: denkf\n")
    without_model = TINY_YAML.replace("model:\n  kind: gleam\n", "")
    with pytest.raises(ConfigError, match="key 'model'.*required section"):
        load_text(tmp_path, without_model)


def test_not_yaml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_text(tmp_path, "experiment: [unclosed\n")
    with pytest.raises(ConfigError, match="cannot read"):
        schema.load(tmp_path / "absent.yaml")


def test_missing_seed_is_drawn_and_recorded(tmp_path):
    resolved = load_text(tmp_path, TINY_YAML.replace("  seed: 7\n", ""))
    assert isinstance(resolved["experiment"]["seed"], int) and resolved["experiment"]["seed"] > 0
    assert f"seed: {resolved['experiment']['seed']}" in schema.as_text(resolved)


def test_selectors_pick_the_configured_components(tmp_path):
    container = build_container(write_tiny_config(tmp_path, TINY_YAML.replace("kind: denkf", "kind: etkf\n  inflation: 1.05")))
    chosen = container.filter()
    assert type(chosen).__name__ == "ETKF" and chosen.inflation == 1.05


def test_overridden_provider_is_guarded_by_its_interface(tmp_path):
    container = build_container(write_tiny_config(tmp_path))
    container.filter.override(object())
    with pytest.raises(Exception, match="Filter"):
        container.filter()
