"""Every variant of the sensitivity study is a valid experiment configuration that differs from
the paper's setup in exactly the option it names."""

import importlib.util

import pytest
import yaml
from conftest import REPO_ROOT

from s1da.containers import schema

spec = importlib.util.spec_from_file_location("sensitivity", REPO_ROOT / "experiments" / "sensitivity" / "run.py")
sensitivity = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sensitivity)
BASE = yaml.safe_load((REPO_ROOT / "experiments" / "rains2021.yaml").read_text())


@pytest.mark.parametrize("name", list(sensitivity.VARIANTS))
def test_variant_resolves_and_changes_only_its_option(tmp_path, name):
    merged = sensitivity.merge(BASE, sensitivity.VARIANTS[name])
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(merged))
    resolved = schema.load(path)
    baseline_path = tmp_path / "base.yaml"
    baseline_path.write_text(yaml.safe_dump(BASE))
    baseline = schema.load(baseline_path)
    changed = [section for section in ("model", "perturbation", "filter", "operators") if resolved[section] != baseline[section]]
    assert changed == list(sensitivity.VARIANTS[name])
