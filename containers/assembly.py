"""From a YAML file to a ready :class:`~s1da.framework.experiment.Experiment`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from s1da.containers import schema
from s1da.containers.layers import ExperimentLayer
from s1da.framework.experiment import Experiment


def build_container(
    config_path: str | Path, *, seed: int | None = None, progress: bool = True, overrides: Sequence[str] = ()
) -> ExperimentLayer:
    """A fresh container configured from ``config_path`` (tests override its providers).

    ``overrides``: ``key.path=value`` strings applied to the YAML before it is checked; they
    are recorded at the store's root (attribute ``overrides``) and in the stored config.
    """
    resolved = schema.load(config_path, seed=seed, overrides=overrides)
    return container_for(resolved, progress=progress, overrides=overrides)


def container_for(resolved: dict, *, progress: bool = True, overrides: Sequence[str] = ()) -> ExperimentLayer:
    """A fresh container for an already resolved configuration (see :func:`schema.resolve`)."""
    container = ExperimentLayer(
        config_text=schema.as_text(resolved),
        progress=progress,
        attributes={"components": json.dumps(schema.components_used(resolved)), "overrides": json.dumps(list(overrides))},
    )
    container.config.from_dict(resolved)
    return container


def build_experiment(
    config_path: str | Path, *, seed: int | None = None, progress: bool = True, overrides: Sequence[str] = ()
) -> Experiment:
    """Check the YAML, assemble the components and return the experiment (nothing has run)."""
    return build_container(config_path, seed=seed, progress=progress, overrides=overrides).experiment()
