"""Preprocessing of Sentinel-1 backscatter and LAI (docs/model/validation.md e)."""
