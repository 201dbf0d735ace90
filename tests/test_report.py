"""Tests of the report (s1da.framework.report) on small synthetic stores written by the tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")
pytestmark = pytest.mark.filterwarnings("ignore:The data type .* does not have a Zarr V3 specification")

from report_stores import NAMES, SITES, write_grid_store, write_site_store  # noqa: E402

from s1da.framework import report  # noqa: E402
from s1da.framework.report import tables  # noqa: E402
from s1da.framework.report.content import read_store  # noqa: E402


@pytest.fixture(scope="module")
def site_report(tmp_path_factory):
    """One report of a three-operator network (the third labelled ``sm``), PNG and SVG."""
    directory = tmp_path_factory.mktemp("site_report")
    store = write_site_store(directory / "exp.zarr")
    index = report.write_report(store, directory / "report", formats=("png", "svg"), dpi=120)
    return store, index


def test_every_figure_is_written_in_every_format(site_report):
    store, index = site_report
    out = index.parent
    for stem, _ in report.FIGURES:
        png = (out / f"{stem}.png").read_bytes()
        assert png[:4] == b"\x89PNG" and len(png) > 5000, stem
        assert (out / f"{stem}.svg").read_text().lstrip().startswith("<?xml"), stem
        assert not (out / f"{stem}.pdf").exists()
    assert sorted(p.name for p in store.parent.iterdir()) == ["exp.zarr", "report"]  # nothing half-written beside it


def test_the_third_operator_and_its_site_names_appear(site_report):
    _, index = site_report
    page = index.read_text()
    summary = (index.parent / "summary.md").read_text()
    for text in (page, summary):
        assert "DA-SM" in text and "DA-WCM" in text and "DA-SVR" in text
        assert "| score | open loop | DA-WCM | DA-SVR | DA-SM |" in summary
    assert "operators | wcm, svr, sm (wcm)" in summary  # labels with their kinds from the config
    content = read_store(index.parent.parent / "exp.zarr")
    assert [run for run in content.runs] == ["open_loop", "da_wcm", "da_svr", "da_sm"]
    assert content.site_label(SITES[0]) == f"{NAMES[0]} (site {SITES[0]})"


def test_settings_head_the_report(site_report):
    _, index = site_report
    summary = (index.parent / "summary.md").read_text()
    head = summary.split("## Scores")[0]
    for text in ("| members | 6 |", "| filter | denkf (inflation=1.0) |", "| seed | 42 |", "| s1da version | 0.test |",
                 "| period | 2018-01-01 to 2019-02-04 (400 days) |", "| source | synthetic test network |"):
        assert text in head, text


def test_numbers_are_rounded_to_their_meaning(site_report):
    _, index = site_report
    summary = (index.parent / "summary.md").read_text()
    scores = summary.split("## Scores")[1].split("## Forward")[0]
    for line in scores.splitlines():
        if line.startswith("| R vs in situ"):
            assert all(len(cell.strip().split(".")[1]) == 2 for cell in line.strip("|").split("|")[1:])
    assert not any(len(token) > 8 for token in scores.replace("|", " ").split() if token.replace(".", "").isdigit())
    assert tables.format_value(-0.00004, "m3 m-3") == "0.000"
    assert tables.format_value(0.0372, "delta") == "+0.037"
    assert tables.format_value(float("nan"), "1") == "n/a" and tables.format_value(None, "1") == "n/a"
    assert tables.format_interval(0.0372, 0.01, 0.06, "delta") == "+0.037 [0.010, 0.060]"


def test_sites_csv_has_every_per_site_score_without_collisions(site_report):
    _, index = site_report
    frame = pd.read_csv(index.parent / "sites.csv", index_col="site")
    assert list(frame.index) == list(SITES)
    assert list(frame["site_name"]) == list(NAMES)
    for column in ("insitu_r_open_loop", "insitu_r_da_sm", "insitu_anomaly_r_da_wcm", "forward_rmsd_sm",
                   "sites_r_open_loop_backscatter", "improvement_insitu_delta_r_da_svr", "ensemble_spread_skill_ratio_open_loop",
                   "increments_mean_abs_increment_da_sm", "calibration_warnings"):
        assert column in frame, column
    assert not frame["insitu_r_open_loop"].equals(frame["insitu_r_da_sm"])
    assert frame.loc[101, "calibration_warnings"] == 3 and frame.loc[102, "calibration_warnings"] == 0


def test_calibration_warnings_are_counted_by_kind_and_listed_per_site(site_report):
    _, index = site_report
    summary = (index.parent / "summary.md").read_text()
    assert "| WCM | parameter(s) D on their bounds | 1 | 1 |" in summary
    assert "| SM | parameters not identifiable | 1 | 1 |" in summary
    assert "| SVR | 103 | parameters not identifiable (\\|correlation\\| > 0.99) |" in summary


def test_osse_table_whenever_a_truth_exists_and_paper_numbers_only_for_the_paper_setup(site_report, tmp_path):
    _, index = site_report
    summary = (index.parent / "summary.md").read_text()
    assert "## OSSE" in summary and "| temporal SD of S1 (dB) |" in summary and "| 0.80 |" in summary
    assert "Rains et al. 2022 |" not in summary  # 6 members is not the paper's setup
    content = read_store(write_site_store(tmp_path / "paper.zarr", paper_setup=True, truth=False))
    report._validate_on_the_fly(content)
    paper = tables.paper_table(content)
    assert paper is not None and tables.osse_table(content) is None
    quantities = [row[0] for row in paper.rows]
    assert "Delta R vs in situ, WCM" in quantities and "Delta R vs in situ, SM" in quantities  # "sm" is of kind wcm
    assert [row[1] for row in paper.rows if row[0] == "Delta R vs in situ, SVR"] == ["+0.025"]


def test_html_lists_every_figure_and_file(site_report):
    _, index = site_report
    page = index.read_text()
    for stem, _ in report.FIGURES:
        assert f"src='{stem}.png'" in page and f"href='{stem}.svg'" in page
    assert "href='sites.csv'" in page and "href='summary.md'" in page


def test_gridded_store_gets_maps(tmp_path):
    store = write_grid_store(tmp_path / "grid.zarr")
    content = read_store(store)
    assert content.gridded and content.da_runs == ["da_wcm", "da_svr"]
    from s1da.framework.report import maps

    panels = maps.map_panels(content, min_samples=20)
    titles = [title for _, title, *_ in panels]
    assert "DA-WCM\nmean increment" in titles and "DA-SVR\n$\\Delta R$ vs in situ at stations" in titles
    delta = next(values for _, title, values, *_ in panels if "Delta" in title and title.startswith("DA-SVR"))
    assert np.isfinite(delta).sum() == 3  # the three station cells
    sea = next(values for _, title, values, *_ in panels if title == "DA-WCM\nmean increment")[:, -2:]
    assert np.isnan(sea).all()
    index = report.write_report(store, tmp_path / "r", formats=("png",), dpi=80)
    assert (index.parent / "fig5_maps.png").stat().st_size > 5000
    assert "fig5_maps.png" in index.read_text()


def test_formats_and_dpi_are_checked(tmp_path):
    store = write_site_store(tmp_path / "exp.zarr", operators=("wcm",))
    with pytest.raises(ValueError, match="figure formats"):
        report.write_report(store, tmp_path / "r", formats=("gif",))
    with pytest.raises(ValueError, match="dpi"):
        report.write_report(store, tmp_path / "r", dpi=5)
    assert not (tmp_path / "r").exists()


def test_not_a_store_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a Zarr v3 store"):
        report.write_report(tmp_path / "missing.zarr", tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_existing_report_is_replaced_only_when_the_new_one_is_complete(tmp_path, monkeypatch):
    store = write_site_store(tmp_path / "exp.zarr", operators=("wcm",), truth=False)
    target = tmp_path / "report"
    target.mkdir()
    (target / report.REPORT_MARKER).write_text("an earlier s1da report")  # only reports are replaced
    (target / "old.txt").write_text("previous report")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(report.figures, "figure_assimilation", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        report.write_report(store, target, formats=("png",), dpi=60)
    assert (target / "old.txt").read_text() == "previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.zarr", "report"]
    monkeypatch.undo()
    report.write_report(store, target, formats=("png",), dpi=60)
    assert not (target / "old.txt").exists() and (target / "index.html").is_file()


def test_a_store_with_only_an_open_loop_is_tolerated(tmp_path):
    store = write_site_store(tmp_path / "exp.zarr", operators=(), truth=False)
    out = report.write_report(store, tmp_path / "r", formats=("png",), dpi=60).parent
    summary = (out / "summary.md").read_text()
    assert "the store holds no DA run" in summary
    for stem, _ in report.FIGURES:
        assert (out / f"{stem}.png").is_file()


def test_cli_report_options(tmp_path, capsys):
    from s1da.containers.cli import main

    store = write_site_store(tmp_path / "exp.zarr", operators=("wcm",), truth=False)
    assert main(["report", str(store), "--output", str(tmp_path / "r"), "--format", "svg", "--dpi", "72"]) == 0
    assert sorted(p.suffix for p in (tmp_path / "r").glob("fig*")) == [".svg"] * len(report.FIGURES)
    for bad in (["--format", "gif"], ["--dpi", "10"], ["--dpi", "many"]):
        with pytest.raises(SystemExit) as exit_info:
            main(["report", str(store), "--output", str(tmp_path / "bad"), *bad])
        assert exit_info.value.code == 2
    assert "figure formats" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_long_tick_labels_are_wrapped_at_separators():
    from s1da.framework.report.figures import wrap_label

    assert wrap_label("WCM") == "WCM"
    assert wrap_label("open-loop SM") == "open-loop\nSM"
    assert wrap_label("DA-SEASONAL_WCM_CV") == "DA-\nSEASONAL_\nWCM_CV"
    assert all(len(line) <= 10 for line in wrap_label("seasonal_cross_validated_svr").splitlines())
    assert wrap_label("averyveryverylonglabel") == "averyveryverylonglabel"  # no separator: kept whole
