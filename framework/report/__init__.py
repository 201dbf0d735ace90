"""The experiment report: figures, ``summary.md``, ``index.html`` and ``sites.csv`` for one store.

``write_report(store_path, output_dir, formats=("png", "pdf", "svg"), dpi=300)`` reads the
groups of an s1da store and writes

* ``fig1_forward_fit`` -- R and RMSD of the forward simulations against Sentinel-1 across sites
  (Rains et al. 2022, Fig. 1);
* ``fig2_backscatter_sites`` -- S1 with each operator's simulation, open-loop soil moisture and
  LAI at two sites (Fig. 2);
* ``fig3_assimilation`` -- Delta R across sites; the runs with their spread, the truth and in situ
  at two sites (Fig. 3);
* ``fig4_reliability`` -- spread-skill, rank histograms and collapsed spread per run;
* ``fig5_maps`` -- maps of increments, innovations, OL - DA and Delta R (gridded stores only);

each as PNG (``dpi``), PDF and SVG; ``summary.md`` and ``index.html`` with the settings of the
experiment, a score table with one column per run, the forward fit, the OSSE table (whenever a
truth exists), the paper's numbers (only for the paper's setup) and the calibration warnings;
``sites.csv`` with every per-site score.  Runs and operators are discovered from the store.

The scores come from the store's ``validation`` tree (:mod:`s1da.framework.validation`); a store
without one is validated on the fly.  The report is written into a temporary sibling directory and
renamed into place, so an interrupted run never leaves a half-written report.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from s1da.framework import progress
from s1da.framework.outputs import REPORT_MARKER, check_replaceable
from s1da.framework.report import figures, maps, render, tables
from s1da.framework.report.content import StoreContent, calibration_warnings, read_store, run_label, settings

__all__ = ["FIGURES", "FORMATS", "StoreContent", "read_store", "run_label", "settings", "write_report"]

FORMATS = ("png", "pdf", "svg")
"""Formats written by default: PNG for the page, PDF and SVG for papers."""

FIGURES = (
    ("fig1_forward_fit", "Fig. 1 analogue: forward simulations against Sentinel-1 across sites"),
    ("fig2_backscatter_sites", "Fig. 2 analogue: Sentinel-1 with the operators' simulations, open-loop soil moisture and LAI at two sites"),
    ("fig3_assimilation", "Fig. 3 analogue: Delta R across sites; open loop, DA runs (mean, ±1 SD), truth and in situ at two sites"),
    ("fig4_reliability", "Ensemble reliability: spread-skill against the truth, rank histograms, days with collapsed spread"),
)
MAPS = ("fig5_maps", "Maps of the gridded DA runs: increments, innovations, open loop minus DA, Delta R at stations")


def _check_formats(formats: Sequence[str], dpi: int) -> tuple[str, ...]:
    formats = tuple(dict.fromkeys(str(fmt).lower().lstrip(".") for fmt in formats))
    unknown = [fmt for fmt in formats if fmt not in FORMATS]
    if unknown or not formats:
        raise ValueError(f"figure formats must be some of {list(FORMATS)}, got {list(formats)}")
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not 50 <= dpi <= 1200:
        raise ValueError(f"dpi must be an integer in 50..1200, got {dpi!r}")
    return formats


def _validate_on_the_fly(content: StoreContent) -> None:
    """Score a store that has no ``validation`` tree (older stores, or a run without one)."""
    if content.validation or not content.runs:
        return
    from s1da.framework.store import EnsembleStore, StoreError
    from s1da.framework.validation import validate_store

    try:
        tree = validate_store(EnsembleStore(content.path), content.operators)
    except (StoreError, KeyError, ValueError) as error:
        content.validation_attrs = {"not_validated": str(error)}
        return
    content.validation = {name: node.to_dataset(inherit=False) for name, node in tree.children.items()}
    content.validation_attrs = {**dict(tree.attrs), "computed_by": "the report (the store had no validation group)"}


def write_report(
    store_path: str | Path,
    output_dir: str | Path,
    *,
    formats: Sequence[str] = FORMATS,
    dpi: int = 300,
    partial: bool = False,
    protected: Sequence[str | Path] = (),
) -> Path:
    """Write the report of a store; returns the path of ``index.html``.

    Written to a temporary directory beside ``output_dir`` and renamed into place; an existing
    ``output_dir`` is replaced only after the new report is complete, and only if it is an s1da
    report (it holds :data:`~s1da.framework.outputs.REPORT_MARKER`) or empty
    (:func:`~s1da.framework.outputs.check_replaceable`; the store and the ``protected`` folders
    never).  ``partial`` marks the report of an incomplete or damaged store: PARTIAL in its title
    and first line.
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:  # pragma: no cover - matplotlib is the "plot" extra
        raise ImportError("the report needs matplotlib: pip install 's1da[plot]'") from error
    formats = _check_formats(formats, dpi)
    check_replaceable(output_dir, "report", protected=[store_path, *protected])
    content = read_store(store_path)
    output_dir = Path(output_dir).resolve()
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.partial-", dir=output_dir.parent))
    try:
        _validate_on_the_fly(content)
        written = _write_figures(content, temporary, formats, dpi)
        found = calibration_warnings(content)
        frame = tables.sites_frame(content, found)
        if frame is not None:
            frame.to_csv(temporary / "sites.csv", float_format="%.6g")
        page = render.Page(
            title=("PARTIAL " if partial or content.incomplete else "") + f"s1da report: {content.path.name}",
            settings=settings(content),
            tables=[table for table in (tables.score_table(content), tables.forward_table(content), tables.osse_table(content),
                                        tables.paper_table(content)) if table is not None and table.rows]
            + tables.warning_tables(found),
            figures=written,
            notes=_notes(content),
            has_sites_csv=frame is not None,
        )
        (temporary / "summary.md").write_text(render.markdown(page))
        (temporary / "index.html").write_text(render.html(page))
        (temporary / REPORT_MARKER).write_text(f"s1da report of {Path(store_path).resolve()}\n")
        temporary.chmod(0o755)  # mkdtemp creates 0700
        _replace(temporary, output_dir)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return output_dir / "index.html"


def _write_figures(content: StoreContent, directory: Path, formats, dpi) -> list[tuple[str, str, list[str]]]:
    sites = figures.pick_sites(content)
    makers = {
        "fig1_forward_fit": lambda stem: figures.figure_forward_fit(content, stem, formats, dpi),
        "fig2_backscatter_sites": lambda stem: figures.figure_backscatter_sites(content, sites, stem, formats, dpi),
        "fig3_assimilation": lambda stem: figures.figure_assimilation(content, sites, stem, formats, dpi),
        "fig4_reliability": lambda stem: figures.figure_reliability(content, stem, formats, dpi),
    }
    entries = list(FIGURES)
    if content.gridded:
        makers[MAPS[0]] = lambda stem: maps.figure_maps(content, stem, formats, dpi)
        entries.append(MAPS)
    written = []
    with progress.bar(len(entries), "report: figures", "figure", leave=False) as shown:
        for stem, caption in entries:
            shown.set_postfix_str(stem)
            paths = makers[stem](directory / stem)
            written.append((stem, caption, [path.name for path in paths]))
            shown.update()
    return written


def _notes(content: StoreContent) -> list[str]:
    notes = []
    for group in ("observations", "insitu", "open_loop", "calibration"):
        if group not in content.groups:
            notes.append(f"group `{group}` is absent")
    if not content.da_runs:
        notes.append("the store holds no DA run")
    for group in content.incomplete:
        notes.append(f"group `{group}` is INCOMPLETE (interrupted run): scores cover the days written so far")
    if "computed_by" in content.validation_attrs:
        notes.append("the store has no `validation` group: scores computed by the report")
    elif content.validation:
        notes.append("scores read from the store's `validation` group")
    if "not_validated" in content.validation_attrs:
        notes.append(f"no scores: {content.validation_attrs['not_validated']}")
    return notes


def _replace(temporary: Path, output_dir: Path) -> None:
    if output_dir.exists():
        previous = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.old-", dir=output_dir.parent))
        previous.rmdir()
        output_dir.rename(previous)
        temporary.rename(output_dir)
        shutil.rmtree(previous, ignore_errors=True)
    else:
        temporary.rename(output_dir)
