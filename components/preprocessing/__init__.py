"""Preprocessing of Sentinel-1 backscatter and LAI (MODEL_SPEC e)."""
