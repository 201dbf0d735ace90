"""The output policy: what the ``output:`` section accepts and refuses, and a site network that
keeps only ensemble statistics (still calibrated, validated and closing its water balance)."""

import numpy as np
import pytest
from engine_fixtures import s1da_cli
from hypothesis import given
from hypothesis import strategies as st
from tiny_experiment import TINY_YAML, write_tiny_config

from s1da.containers.assembly import build_experiment
from s1da.framework.config import ConfigError
from s1da.framework.output_policy import GRID_DEFAULT, SITE_DEFAULT, OutputPolicy, member_mean

SHORT_YAML = TINY_YAML.replace("end: 2018-07-31", "end: 2018-05-31")
SHORT_YAML = SHORT_YAML[: SHORT_YAML.index("  svr:")] + SHORT_YAML[SHORT_YAML.index("filter:") :]


def test_defaults_differ_by_layout():
    assert OutputPolicy().resolved(gridded=False) == SITE_DEFAULT
    assert OutputPolicy().resolved(gridded=True) == GRID_DEFAULT
    assert OutputPolicy(dtype="float32").resolved(gridded=False).members == "all"


@pytest.mark.parametrize(
    ("section", "key", "message"),
    [
        ("  members: some", "output", "members must be 'all', 'none'"),
        ("  members: [0, 0]", "output", "distinct"),
        ("  statistics: [median]", "output", "unknown"),
        ("  quantiles: [1.5]", "output", "in \\[0, 1\\]"),
        ("  dtype: float16", "output.dtype", "float16"),
        ("  compresion: zstd", "output.compresion", "unknown key"),
        ("  variables: [total_water_storage]", "output", "must include surface_soil_moisture"),
        ("  variables: [surface_soil_moisture, rain]", "output", "unknown \\['rain'\\]"),
        ("  members: [9]", "output", "do not exist in an ensemble of 8"),
        ("  members: none", "output", "store nothing"),
        ("  members: none\n  statistics: [mean]", "output", "members_of: \\[surface_soil_moisture\\]"),
        ("  members: [0]\n  members_of: [precipitation]", "output", "members_of needs members: none or all"),
    ],
)
def test_bad_output_sections_are_refused_by_key(tmp_path, section, key, message):
    config = write_tiny_config(tmp_path, SHORT_YAML + "output:\n" + section + "\n")
    with pytest.raises(ConfigError, match=message) as error:
        build_experiment(config, progress=False)
    assert key in str(error.value)


@pytest.mark.parametrize("flag", [["--workers", "0"], ["--workers", "many"], ["--sites-per-task", "-3"]])
def test_bad_run_flags_exit_2(tmp_path, flag):
    result = s1da_cli("run", str(write_tiny_config(tmp_path)), "--output", str(tmp_path / "x.zarr"), *flag)
    assert result.returncode == 2 and "positive integer" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.zarr").exists()


@given(n_sites=st.integers(1, 5), n_members=st.integers(2, 40), data=st.data())
def test_member_statistics_of_a_site_do_not_depend_on_the_other_sites(n_sites, n_members, data):
    values = np.asarray(data.draw(st.lists(st.floats(-1e3, 1e3), min_size=n_members * n_sites, max_size=n_members * n_sites)))
    ensemble = values.reshape(1, n_members, n_sites)  # (time, member, site)
    together = member_mean(ensemble, 1)
    for site in range(n_sites):
        np.testing.assert_array_equal(member_mean(ensemble[:, :, site : site + 1], 1), together[:, site : site + 1])


def test_a_site_network_keeping_only_statistics(tmp_path):
    text = SHORT_YAML + "output:\n  members: none\n  members_of: [surface_soil_moisture]\n  statistics: [mean, std]\n"
    store = build_experiment(write_tiny_config(tmp_path, text), progress=False).run(tmp_path / "stats.zarr")
    open_loop = store.read("open_loop").load()
    assert "precipitation" not in open_loop and open_loop["precipitation_mean"].dims == ("time", "site")
    assert open_loop["surface_soil_moisture"].dims == ("time", "member", "site")  # members_of
    assert open_loop["surface_soil_moisture_std"].dtype == np.float64  # the site default
    assert store.group_complete("validation")
    for run in ("open_loop", "da_wcm"):
        ds = store.read(run).load()
        net = ds["precipitation_mean"] - ds["total_evaporation_mean"] - ds["deep_drainage_mean"] - ds["surface_runoff_mean"]
        if "analysis_increment_mean" in ds:
            net = net + ds["analysis_increment_mean"].fillna(0.0)
        residual = np.diff(ds["total_water_storage_mean"].values, axis=0) - net.values[1:]
        assert np.abs(residual).max() < 1e-9
