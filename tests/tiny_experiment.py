"""A tiny twin experiment for end-to-end tests: a few sites, a short spin-up, a few months."""

from pathlib import Path

TINY_YAML = """
experiment:
  name: tiny
  seed: 7
  members: 8
  spinup_start: 2018-03-01
  start: 2018-04-01
  end: 2018-07-31
  chunk_days: 20
  min_samples: 10
source:
  kind: twin
  n_sites: 3
  truth_spinup_years: 0
  backscatter:
    record_start: null   # orbit normalisation over the period only: keeps the tiny run short
model:
  kind: gleam
perturbation:
  kind: forcing
operators:
  wcm:
    kind: wcm
  svr:
    kind: svr
    c_grid: [1, 10]
    gamma_grid: [0.1, 1]
    n_jobs: 1
filter:
  kind: denkf
"""


def write_tiny_config(directory: Path, text: str = TINY_YAML) -> Path:
    path = directory / "tiny.yaml"
    path.write_text(text)
    return path
