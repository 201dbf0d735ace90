"""Tests of s1da.framework.report on small synthetic stores written by the test itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

pytest.importorskip("matplotlib")
pytestmark = pytest.mark.filterwarnings("ignore:The data type .* does not have a Zarr V3 specification")

from s1da.framework import metrics, report  # noqa: E402

N_DAYS, N_MEMBERS, SITES = 120, 4, np.array([101, 102, 103])


def _coords():
    time = np.datetime64("2017-01-01") + np.arange(N_DAYS).astype("timedelta64[D]")
    return {"time": time, "site": SITES}


def _da(values, dims, units, long_name, coords=None):
    coords = coords or _coords()
    return xr.DataArray(values, dims=dims, coords={d: coords[d] for d in dims if d in coords},
                        attrs={"units": units, "long_name": long_name})


def write_store(path: Path, *, groups=("observations", "insitu", "open_loop", "da_wcm", "da_svr", "calibration"),
                validation: xr.Dataset | None = None) -> Path:
    rng = np.random.default_rng(7)
    n_sites = SITES.size
    days = np.arange(N_DAYS)[:, None]
    truth = 0.25 + 0.08 * np.sin(days / 15.0 + np.arange(n_sites)) + 0.01 * rng.standard_normal((N_DAYS, n_sites))
    lai = 1.0 + 1.5 * np.sin(days / 40.0) ** 2 + 0.0 * truth
    backscatter = -15 + 20 * (truth - 0.25) - 0.5 * lai + 0.5 * rng.standard_normal((N_DAYS, n_sites))
    backscatter[days[:, 0] % 3 != 0] = np.nan  # S1 every third day
    insitu = truth + 0.02 * rng.standard_normal((N_DAYS, n_sites))
    insitu[:10] = np.nan

    def ensemble(noise):
        return truth[:, None, :] + noise * rng.standard_normal((N_DAYS, N_MEMBERS, n_sites)) + 0.03

    datasets = {
        "observations": xr.Dataset({
            "backscatter": _da(backscatter, ("time", "site"), "dB", "Sentinel-1 VV backscatter"),
            "lai": _da(lai, ("time", "site"), "m2 m-2", "leaf area index"),
        }),
        "insitu": xr.Dataset({"insitu_soil_moisture": _da(insitu, ("time", "site"), "m3 m-3", "in-situ SM")}),
        "open_loop": xr.Dataset({"surface_soil_moisture": _da(ensemble(0.04), ("time", "member", "site"), "m3 m-3", "SM")}),
        "calibration": xr.Dataset({
            f"{op}_simulated_backscatter": _da(-15 + 20 * (truth - 0.25) - 0.5 * lai + shift, ("time", "site"), "dB", f"{op} fit")
            for op, shift in (("wcm", 0.1), ("svr", -0.1))
        }),
    }
    for op in ("wcm", "svr"):
        increment = np.where(np.isfinite(backscatter), 0.01 * rng.standard_normal((N_DAYS, n_sites)), np.nan)
        predicted = np.where(np.isfinite(backscatter)[:, None, :], backscatter[:, None, :] + rng.standard_normal((N_DAYS, N_MEMBERS, n_sites)), np.nan)
        datasets[f"da_{op}"] = xr.Dataset({
            "surface_soil_moisture": _da(ensemble(0.02), ("time", "member", "site"), "m3 m-3", "SM"),
            "predicted_backscatter": _da(predicted, ("time", "member", "site"), "dB", "predicted backscatter"),
            "analysis_increment_surface": _da(increment, ("time", "site"), "m3 m-3", "increment"),
        })
    root = xr.Dataset(attrs={"experiment_name": "synthetic", "seed_entropy": 42})
    root.to_zarr(path, mode="w", zarr_format=3, consolidated=False)
    for name in groups:
        datasets[name].to_zarr(path, group=name, mode="a", zarr_format=3, consolidated=False)
    if validation is not None:
        validation.to_zarr(path, group="validation", mode="a", zarr_format=3, consolidated=False)
    return path


def test_full_report(tmp_path):
    store = write_store(tmp_path / "exp.zarr")
    index = report.write_report(store, tmp_path / "report")
    assert index == (tmp_path / "report" / "index.html").resolve()
    out = index.parent
    for name, _ in report.FIGURES:
        assert (out / name).stat().st_size > 5000, name
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    summary = (out / "summary.md").read_text()
    assert "mean Delta R, WCM" in summary and "sites improved, SVR" in summary and "mean absolute increment, WCM" in summary
    assert "n/a" not in summary.split("## Notes")[0].split("## Figures")[0]
    html = index.read_text()
    assert "<table>" in html and "fig3_assimilation.png" in html
    # nothing half-written left beside the report
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.zarr", "report"]


def test_computed_validation_matches_metrics(tmp_path):
    content = report.read_store(write_store(tmp_path / "exp.zarr"))
    validation = report.validation_dataset(content)
    insitu = content.groups["insitu"]["insitu_soil_moisture"]
    runs = {run: content.groups[run]["surface_soil_moisture"].mean("member") for run in ("open_loop", "da_wcm", "da_svr")}
    table = metrics.score_table(runs, insitu)
    np.testing.assert_allclose(validation["r_insitu"].values, table["r"].values)
    np.testing.assert_allclose(validation["delta_r_wcm"].values, table["r"].sel(run="da_wcm").values - table["r"].sel(run="open_loop").values)
    assert list(validation["operator"].values) == ["sm", "wcm", "svr"]
    # WCM simulation is the S1 signal plus a 0.1 dB offset and noise of 0.5 dB
    assert np.all(validation["rmsd_backscatter"].sel(operator="wcm").values < 0.8)
    assert np.all(np.isnan(validation["rmsd_backscatter"].sel(operator="sm").values))
    for name in validation.data_vars:
        assert {"units", "long_name"} <= set(validation[name].attrs), name


def test_validation_group_is_used_when_present(tmp_path):
    validation = xr.Dataset(
        {
            "r_insitu": (("run", "site"), np.full((2, 3), 0.5), {"units": "1", "long_name": "R"}),
            "rmsd_insitu": (("run", "site"), np.full((2, 3), 0.04), {"units": "m3 m-3", "long_name": "RMSD"}),
            "ubrmsd_insitu": (("run", "site"), np.full((2, 3), 0.03), {"units": "m3 m-3", "long_name": "ubRMSD"}),
            "delta_r_wcm": (("site",), np.array([0.05, -0.01, 0.07]), {"units": "1", "long_name": "dR"}),
        },
        coords={"run": ["open_loop", "da_wcm"], "site": SITES},
        attrs={"mean_delta_r_insitu_wcm": 0.037},
    )
    store = write_store(tmp_path / "exp.zarr", groups=("observations", "insitu", "open_loop", "da_wcm"), validation=validation)
    summary = (report.write_report(store, tmp_path / "r").parent / "summary.md").read_text()
    assert "| mean Delta R, WCM (paper: +0.037) | 0.037 | 1 |" in summary
    assert "| sites improved, WCM | 66.7 | % |" in summary
    assert "`mean_delta_r_insitu_wcm`: 0.037" in summary
    assert "scores read from the store's `validation` group" in summary
    assert "Fig. 1 not available" not in summary  # the placeholder figure is an image, the text is in the PNG


def test_minimal_store_is_tolerated(tmp_path):
    store = write_store(tmp_path / "exp.zarr", groups=("observations", "open_loop"))
    out = report.write_report(store, tmp_path / "r").parent
    summary = (out / "summary.md").read_text()
    for group in ("insitu", "da_wcm", "calibration", "validation"):
        assert f"group `{group}` is absent" in summary
    for name, _ in report.FIGURES:
        assert (out / name).is_file()


def test_existing_report_is_replaced_only_when_the_new_one_is_complete(tmp_path, monkeypatch):
    store = write_store(tmp_path / "exp.zarr")
    target = tmp_path / "report"
    target.mkdir()
    (target / report.REPORT_MARKER).write_text("an earlier s1da report")  # only reports are replaced
    (target / "old.txt").write_text("previous report")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "figure_assimilation", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        report.write_report(store, target)
    assert (target / "old.txt").read_text() == "previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.zarr", "report"]

    monkeypatch.undo()
    report.write_report(store, target)
    assert not (target / "old.txt").exists() and (target / "index.html").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.zarr", "report"]


def test_not_a_store_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a Zarr v3 store"):
        report.write_report(tmp_path / "missing.zarr", tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_truth_scores_are_summarised(tmp_path):
    validation = xr.Dataset(
        {
            "r_insitu": (("run", "site"), np.full((1, 3), 0.5), {"units": "1", "long_name": "R"}),
            "r_truth": (("run", "site"), np.array([[0.9, 0.8, np.nan]]), {"units": "1", "long_name": "R"}),
        },
        coords={"run": ["open_loop"], "site": SITES},
        attrs={"complete": True, "group_kind": "static", "n_sites": 3},
    )
    store = write_store(tmp_path / "exp.zarr", groups=("observations", "insitu", "open_loop"), validation=validation)
    summary = (report.write_report(store, tmp_path / "r").parent / "summary.md").read_text()
    assert "| mean R vs truth, open loop | 0.850 | 1 |" in summary
    assert "| sites scored vs truth, open loop | 2 |  |" in summary
    assert "`n_sites`: 3" in summary and "`group_kind`" not in summary
