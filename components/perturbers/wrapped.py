"""The common part of the land models that wrap another with a perturbation of the ensemble.

:class:`~s1da.components.perturbers.state.StatePerturbedModel` (additive state perturbations)
and :class:`~s1da.components.perturbers.soil_parameters.SoilPerturbedModel` (soil parameters per
member) both hold the wrapped model, their perturbation's parameters, the site ids that key
their random streams and the entropy of the run.  Cutting them to a subset of sites (a task of
the engine) must keep the perturbation, and a twin's truth runs the wrapped physics without it.
"""

from __future__ import annotations

import numpy as np

from s1da.framework.interfaces import LandModel

DECLARED = ("layer_names", "reported_variables", "analysis_variables_units")
"""Declarations of the :class:`LandModel` interface that are class attributes there, so that
``__getattr__`` would never be asked for them: copied from the wrapped model instead."""


class PerturbedModel(LandModel):
    """A land model around ``model``, perturbed by ``perturbation`` with streams keyed by ``site_ids``."""

    def __init__(self, model: LandModel, perturbation, site_ids, entropy: int):
        self.model = model
        self.perturbation = perturbation
        self.site_ids = np.asarray(site_ids, dtype=np.int64)
        self.entropy = int(entropy)
        for name in DECLARED:
            setattr(self, name, getattr(model, name))

    def subset(self, site_indices) -> PerturbedModel:
        """The same perturbed model on the sites at positions ``site_indices`` (one task of the
        engine); the wrapped model's own ``subset`` would lose the perturbation."""
        site_indices = np.asarray(site_indices, dtype=np.int64)
        return type(self)(self.model.subset(site_indices), self.perturbation, self.site_ids[site_indices], self.entropy)

    def unperturbed(self) -> LandModel:
        """The wrapped model without this perturbation (what a twin's truth runs)."""
        return self.model

    def __getattr__(self, name):  # everything else (statics, kernels ...) is the wrapped model's
        if name == "model":
            raise AttributeError(name)
        return getattr(self.model, name)
