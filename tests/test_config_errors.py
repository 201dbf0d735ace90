"""Exact config errors (issue 14): every option type-checked at load, blamed on its full key path."""

import pytest
from tiny_experiment import TINY_YAML, write_tiny_config

from s1da.containers import schema
from s1da.containers.cli import main
from s1da.framework.config import ConfigError

SVR = "    n_jobs: 1"
CASES = [
    (SVR, "    n_jobs: 1\n    n_folds: 5\n    min_samples: 4", "operators.svr.min_samples", "at least 2 x n_folds"),
    ("  kind: denkf", "  kind: denkf\n  inflation: big", "filter.inflation", "expected a number, got the string 'big'"),
    (SVR, "    n_jobs: 1\n    tol: '1e-3'", "operators.svr.tol", "expected a number"),
    (SVR, "    n_jobs: '2'", "operators.svr.n_jobs", "expected an integer"),
    (SVR, "    n_jobs: 1\n    cache_size: lots", "operators.svr.cache_size", "expected a number"),
    ("    kind: wcm", "    kind: wcm\n    min_lai_for_vegetation: 'low'", "operators.wcm.min_lai_for_vegetation", "expected a number"),
    ("  kind: gleam", "  kind: gleam\n  taper: [2, 2, 2]", "model.taper", "<= 1.0"),
    ("  kind: gleam", "  kind: gleam\n  taper: [1, 1]", "model.taper", "a list of 3 values"),
    ("  kind: gleam", "  kind: gleam\n  kernel: true", "model.kernel", "got the boolean true"),
    ("  n_sites: 3", "  n_sites: 3.5", "source.n_sites", "expected an integer"),
    ("  n_sites: 3", "  n_sites: 3\n  weather:\n    amount_shape: wide", "source.weather.amount_shape", "expected a number"),
    ("    kind: wcm", "    kind: wcm\n    lower_bounds: [0, 0, x, 10]", "operators.wcm.lower_bounds[2]", "got the string 'x'"),
]


@pytest.mark.parametrize(("old", "new", "key", "expected"), CASES, ids=[case[2] for case in CASES])
def test_bad_option_is_blamed_on_its_key_at_load(tmp_path, old, new, key, expected):
    assert old in TINY_YAML
    path = write_tiny_config(tmp_path, TINY_YAML.replace(old, new, 1))
    with pytest.raises(ConfigError) as caught:
        schema.load(path)
    message = str(caught.value)
    assert message.startswith(f"key '{key}' in {path}: "), message
    assert expected in message
    assert "Attribute(" not in message and "<class" not in message


def test_scientific_notation_without_a_dot_is_a_number(tmp_path):
    path = write_tiny_config(tmp_path, TINY_YAML.replace(SVR, SVR + "\n    tol: 1e-4", 1))
    assert schema.load(path)["operators"]["svr"]["parameters"].tol == pytest.approx(1e-4)


@pytest.mark.parametrize("case", [CASES[0], CASES[1], CASES[6]], ids=lambda case: case[2])
def test_cli_stops_before_any_computation(tmp_path, capsys, case):
    old, new, key, _ = case
    path = write_tiny_config(tmp_path, TINY_YAML.replace(old, new, 1))
    output = tmp_path / "out.zarr"
    assert main(["run", str(path), "--output", str(output), "--no-progress"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and f"key '{key}'" in error
    assert not output.exists()  # nothing was built or written: the twin's truth run never started
