"""The adaptive filter (per-site inflation and/or Desroziers R) is selectable in YAML as
``filter: {kind: adaptive, ...}``, checked at load, and runs end to end with its memory restarted
for each DA run (issue 12 items 3-4)."""

from __future__ import annotations

import numpy as np
import pytest
from tiny_experiment import TINY_YAML, write_tiny_config

from s1da.components.filters import DEnKF, StochasticEnKF
from s1da.components.filters.adaptive import AdaptiveFilter, AdaptiveInflation, DesroziersR
from s1da.containers import schema
from s1da.containers.assembly import build_experiment
from s1da.containers.cli import main
from s1da.framework.config import ConfigError


def _config(tmp_path, block: str):
    return write_tiny_config(tmp_path, TINY_YAML.replace("filter:\n  kind: denkf\n", f"filter:\n{block}", 1))


def test_adaptive_kind_builds_the_wrapped_filter(tmp_path):
    path = _config(tmp_path, "  kind: adaptive\n  base: enkf\n  inflation: {max_inflation: 3}\n  observation_error: {}\n")
    built = build_experiment(path, progress=False).filter
    assert isinstance(built, AdaptiveFilter) and isinstance(built.base, StochasticEnKF)
    assert built.inflation == AdaptiveInflation(max_inflation=3.0)
    assert built.observation_error == DesroziersR()
    assert built.needs_rng  # the perturbed-observation EnKF draws: the wrapper says so


@pytest.mark.parametrize(
    ("block", "key", "expected"),
    [
        ("  kind: adaptive\n  observation_error: null\n", "filter.observation_error", "nothing is adaptive"),
        ("  kind: adaptive\n  base: kalman\n  inflation: {}\n", "filter.base", "kalman"),
        ("  kind: adaptive\n  inflation: {forgetting: 2}\n", "filter.inflation.forgetting", "2"),
    ],
    ids=["nothing adaptive", "unknown base", "bad inflation option"],
)
def test_bad_adaptive_options_are_blamed_on_their_key(tmp_path, block, key, expected):
    path = _config(tmp_path, block)
    with pytest.raises(ConfigError) as caught:
        schema.load(path)
    message = str(caught.value)
    assert message.startswith(f"key '{key}' in {path}: "), message
    assert expected in message and "Attribute(" not in message


def test_default_adapts_the_r_only(tmp_path):
    built = build_experiment(_config(tmp_path, "  kind: adaptive\n"), progress=False).filter
    assert built.observation_error == DesroziersR() and built.inflation is None


def test_kinds_lists_the_adaptive_filter(capsys):
    assert main(["kinds", "filter", "adaptive"]) == 0
    listed = capsys.readouterr().out
    assert "adaptive" in listed and "inflation" in listed and "observation_error" in listed


def test_adaptive_r_runs_and_its_r_is_stored(tmp_path):
    path = _config(tmp_path, "  kind: adaptive\n  observation_error: {prior_weight: 2}\n")
    experiment = build_experiment(path, progress=False)
    assert isinstance(experiment.filter.base, DEnKF)
    store = experiment.run(tmp_path / "adaptive.zarr")
    calibrated = store.read("calibration")["wcm_error_variance"].values  # (site,) dB2
    used = store.read("da_wcm")["observation_error_variance"].transpose("time", "site").values
    analysed = np.isfinite(used)
    assert analysed.any()
    # the Desroziers estimate starts at the operator's R and moves away from it with the innovations
    assert not np.allclose(used[analysed], np.broadcast_to(calibrated, used.shape)[analysed], rtol=1e-6, atol=0)
    assert (used[analysed] > 0).all()
