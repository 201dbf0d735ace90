"""Bad input is refused when it is read, naming the file, site, date and limit; nothing
half-written is left.  Every reader decodes text the same way (BOM, UTF-16, Latin-1, empty)."""

from __future__ import annotations

import codecs

import numpy as np
import pandas as pd
import pytest
from files_source_network import write_config, write_network
from test_sitedata import parts

from s1da.components.perturbers import ForcingPerturbationParameters
from s1da.components.perturbers.forcing import ForcingPerturber
from s1da.components.preprocessing.lai import daily_lai
from s1da.components.sources.site_files import SiteFilesError, site_files_data
from s1da.components.sources.text import decode
from s1da.containers import cli, schema
from s1da.framework.sitedata import FORCING_LIMITS, DataError, SiteData

TEXT_FILES = ("sites.csv", "forcing/3.csv", "s1/alpha.csv", "s1/beta.csv", "lai/beta_lai.csv",
              "ismn/alpha/NET_NET_alpha_sm_0.050000_0.050000_Probe_20190325_20190810.stm")
"""Every delimited-text reader of the files source reads one of these."""


@pytest.fixture
def network(tmp_path):
    return write_network(tmp_path / "network")


def read(network):
    options = schema.load(write_config(network, network))["source"]["parameters"]
    return site_files_data(options, start="2019-04-01", end="2019-07-31", run_start="2019-05-01")


def assert_same_data(first: SiteData, second: SiteData) -> None:
    for name in ("forcing", "observations", "sites"):
        assert getattr(first, name).identical(getattr(second, name)), name
    assert first.insitu.identical(second.insitu)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_byte_order_mark_is_read_the_same_in_every_reader(network, encoding):
    plain = read(network)
    for name in TEXT_FILES:
        path = network / name
        path.write_bytes(path.read_text().encode(encoding))
    assert (network / "sites.csv").read_bytes().startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    assert_same_data(plain, read(network))


def test_latin1_and_utf8_decode_alike_where_the_readers_look():
    text = "time,air_temperature [°C]\n2019-04-01,12.5\n"
    assert decode(text.encode("latin-1")) == decode(text.encode("utf-8")) == decode(codecs.BOM_UTF8 + text.encode())


@pytest.mark.parametrize("name", TEXT_FILES)
def test_an_empty_file_names_the_file(network, name):
    (network / name).write_text("")
    with pytest.raises(DataError, match=rf"{network / name}.*(empty|no sites)"):
        read(network)


def replace_row(path, row: int, column: str, value) -> str:
    frame = pd.read_csv(path, dtype=str)
    frame.loc[row, column] = str(value)
    frame.to_csv(path, index=False)
    return frame.loc[row, "time"]


def test_lai_beyond_the_model_range_names_file_site_date_and_limit(network):
    path = network / "lai" / "beta_lai.csv"
    day = replace_row(path, 8, "lai [m2 m-2]", 100)
    with pytest.raises(SiteFilesError) as caught:
        read(network)
    message = str(caught.value)
    for fragment in (str(path), "site 7 (beta)", f"on {day}", "is 100.0", "[0, 20] m2 m-2"):
        assert fragment in message, (fragment, message)


@pytest.mark.parametrize(
    ("column", "value", "variable", "limit"),
    [
        ("precipitation [mm]", 2500, "precipitation = 2500", "..2000"),
        ("air_temperature [K]", 343.15, "air_temperature = 70", "-90..60"),
        ("net_radiation [MJ m-2 d-1]", 60.48, "net_radiation = 700", "-300..600"),
    ],
    ids=["precipitation", "temperature", "radiation"],
)
def test_forcing_beyond_the_model_range_names_file_column_date_and_limit(network, column, value, variable, limit):
    path = network / "forcing" / "3.csv"
    day = replace_row(path, 20, column, value)
    with pytest.raises(SiteFilesError) as caught:
        read(network)
    message = str(caught.value)
    for fragment in (str(path), "site 3 (alpha)", f"column {column.split(' [')[0]!r}", variable, f"on {day}", limit):
        assert fragment in message, (fragment, message)


@pytest.mark.parametrize("name", ["lai", "precipitation", "air_temperature", "net_radiation"])
def test_site_data_refuses_forcing_outside_the_model_range_naming_site_and_date(name):
    low, high, units = FORCING_LIMITS[name]
    values = np.full((10, 2), 1.0)
    values[6, 1] = high * 1.01 + 1
    with pytest.raises(DataError, match=rf"forcing: {name} = .* at site 8 on 2018-01-07 is outside .*\[{low:g}, {high:g}\]"):
        SiteData(*parts(**{name: values}))


def test_perturbed_forcing_stays_in_the_model_range_and_is_counted():
    perturber = ForcingPerturber(ForcingPerturbationParameters(correlation="ldas"), entropy=5)
    state = perturber.initial_state(np.array([4, 9]), 16)
    total = np.zeros((2, 3), dtype=np.int64)
    for day in range(30):
        forcing = {"precipitation": np.array([1990.0, 3.0]), "air_temperature": np.array([64.5, 10.0]),
                   "net_radiation": np.array([990.0, -495.0])}
        perturbed, state = perturber.perturb(forcing, day, state)
        for name, values in perturbed.items():
            low, high, _ = FORCING_LIMITS[name]
            assert values.min() >= low and values.max() <= high, name
            clipped = (values == low) | (values == high)
            total[:, ["precipitation", "air_temperature", "net_radiation"].index(name)] += clipped.sum(axis=0)
    np.testing.assert_array_equal(state["clipped_values"], total)
    assert total[0].min() > 0 and total[1, 2] > 0 and total[1, :2].sum() == 0


def test_an_lai_spline_never_overshoots_the_model_range():
    dates = pd.date_range("2019-04-01", periods=6, freq="10D")
    observed = pd.Series([2.0, 19.5, 20.0, 19.8, 3.0, 1.0], index=dates)
    daily = daily_lai(observed, max_gap_days=32)
    finite = daily.values[np.isfinite(daily.values)]
    assert finite.max() == 20.0 and finite.min() >= 0.0


def test_the_cli_refuses_bad_input_before_writing_anything(network, tmp_path, capsys):
    replace_row(network / "lai" / "beta_lai.csv", 8, "lai [m2 m-2]", 100)
    config = write_config(tmp_path, network)
    (network / "files_tiny.yaml").unlink(missing_ok=True)
    output = tmp_path / "never.zarr"
    assert cli.main(["run", str(config), "--output", str(output), "--no-progress"]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("s1da: ") and "beta_lai.csv" in error and "[0, 20] m2 m-2" in error
    assert not output.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["files_tiny.yaml", "network"]
