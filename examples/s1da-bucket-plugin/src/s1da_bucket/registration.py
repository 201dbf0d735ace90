"""What this distribution announces to s1da (entry point ``s1da.components`` in pyproject.toml).

Each :class:`~s1da.containers.registry.Component` names its layer, its kind (the YAML
``kind:``), the attrs class its options are checked against, and a factory
``factory(parameters, context)``; s1da fills in this distribution's name and version.
"""

import attrs

from s1da.containers.registry import Component
from s1da_bucket.model import BucketModel, BucketParameters
from s1da_bucket.operator import LinearOperator


def _bucket(parameters, context):
    return BucketModel(context.sites, parameters)  # context.sites: the site table of the data source


def _linear(parameters, context):
    return attrs.evolve(parameters)  # the operator is its own parameter object: a fresh copy


COMPONENTS = [
    Component("model", "bucket", BucketParameters, _bucket),
    Component("operator", "linear", LinearOperator, _linear),
]
