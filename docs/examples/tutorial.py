"""s1da tutorial: a small twin experiment from YAML to scores, then a filter on its own.

Run it with ``python docs/examples/tutorial.py [WORKDIR]``; the test suite runs it on every
change (``tests/test_docs.py``), so every line below works with the installed s1da.
"""

# %% 1. Describe the experiment.
# An experiment is one YAML file. This one is a synthetic twin (a truth run generates
# observations and in-situ data) over four sites, with 16 members, one month of spin-up and
# three months of assimilation, using the Water Cloud Model and the DEnKF.
import sys
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

CONFIG = """
experiment:
  name: tutorial
  seed: 42
  members: 16
  spinup_start: 2018-03-01
  start: 2018-04-01
  end: 2018-06-30
  chunk_days: 30
  min_samples: 10
source:
  kind: twin
  n_sites: 4
  truth_spinup_years: 0
model:
  kind: gleam
  state_vector: top
perturbation:
  kind: forcing
  precipitation_relative_sd: 0.3
  air_temperature_sd: 2.5
  net_radiation_relative_sd: 0.3
operators:
  wcm:
    kind: wcm
filter:
  kind: denkf
  inflation: 1.0
"""

workdir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="s1da-tutorial-"))
workdir.mkdir(parents=True, exist_ok=True)
config_path = workdir / "tutorial.yaml"
config_path.write_text(CONFIG)

# %% 2. Build and run it.
# ``build_experiment`` checks the YAML against every component's parameters (a typo is an error
# naming the key) and assembles the components; ``run`` writes spin-up, open loop, calibration,
# the DA run and the validation into one Zarr store. The CLI does the same:
# ``s1da run tutorial.yaml --output tutorial.zarr``.
from s1da.containers.assembly import build_experiment

experiment = build_experiment(config_path, progress=False)
store_path = workdir / "tutorial.zarr"
store = experiment.run(store_path)
print(store.describe())

# %% 3. Read the ensembles with xarray.
# Every run is a group with dimensions (time, member, site); every variable has units.
open_loop = xr.open_zarr(store_path, group="open_loop", consolidated=False)
assimilated = xr.open_zarr(store_path, group="da_wcm", consolidated=False)
surface = open_loop["surface_soil_moisture"]
print(surface.attrs["long_name"], surface.attrs["units"], dict(surface.sizes))

spread = float(surface.std("member").mean())
increments = assimilated["analysis_increment_surface"]
print(f"open-loop ensemble spread of surface soil moisture: {spread:.4f} m3 m-3")
print(f"analysis days: {int(np.isfinite(increments).sum())}, "
      f"mean |increment| {float(np.nanmean(np.abs(increments))):.5f} m3 m-3")

# %% 4. Score against in situ.
# R, RMSD and ubRMSD of the ensemble mean against the in-situ soil moisture, on the days where
# both runs and the station are valid.
from s1da.framework.metrics import pearson_r

insitu = xr.open_zarr(store_path, group="insitu", consolidated=False)["insitu_soil_moisture"]
reference = insitu.transpose("time", "site").values
for label, run in (("open loop", open_loop), ("DA-WCM", assimilated)):
    mean = run["surface_soil_moisture"].mean("member").transpose("time", "site").values
    per_site = pearson_r(mean, reference, axis=0, min_samples=10)  # (site,), NaN: too few days
    print(f"{label:>9}: R per site {np.round(per_site, 3)}")

# %% 5. Use one piece without the framework.
# The filters are plain functions of arrays: (site, member, n_state) states, (site, member, 1)
# predicted observations, (site, 1) observations and error variances.
from s1da.components.filters import DEnKF

rng = np.random.default_rng(0)
states = 0.25 + 0.02 * rng.standard_normal((3, 32, 1))
predicted = -12.0 + 40.0 * (states - 0.25)
observed = np.array([[-11.0], [-12.5], [np.nan]])  # the third site has no observation today
analysed = DEnKF(inflation=1.0).analyse(states, predicted, observed, np.full((3, 1), 0.5))
print("analysed minus forecast mean per site:", (analysed - states).mean(axis=1).ravel())
assert np.array_equal(analysed[2], states[2])  # no observation, no change
