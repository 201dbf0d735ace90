"""s1da-bucket-plugin: the template for third-party s1da components.

``BucketModel`` (a one-layer bucket land model, Manabe 1969), ``LinearOperator`` (backscatter
linear in soil moisture and LAI) and ``BucketBmi`` (the bucket behind the CSDMS BMI), registered
with s1da through the entry point in ``pyproject.toml`` (see ``registration.py``).
"""

from s1da_bucket.model import BucketModel, BucketParameters
from s1da_bucket.operator import LinearOperator

__all__ = ["BucketModel", "BucketParameters", "LinearOperator"]
