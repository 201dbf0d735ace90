"""From a YAML file to a ready :class:`~s1da.framework.experiment.Experiment`."""

from __future__ import annotations

import json
from pathlib import Path

from s1da.containers import schema
from s1da.containers.layers import ExperimentLayer
from s1da.framework.experiment import Experiment


def build_container(config_path: str | Path, *, seed: int | None = None, progress: bool = True) -> ExperimentLayer:
    """A fresh container configured from ``config_path`` (tests override its providers)."""
    resolved = schema.load(config_path, seed=seed)
    container = ExperimentLayer(
        config_text=schema.as_text(resolved),
        progress=progress,
        attributes={"components": json.dumps(schema.components_used(resolved))},
    )
    container.config.from_dict(resolved)
    return container


def build_experiment(config_path: str | Path, *, seed: int | None = None, progress: bool = True) -> Experiment:
    """Check the YAML, assemble the components and return the experiment (nothing has run)."""
    return build_container(config_path, seed=seed, progress=progress).experiment()
