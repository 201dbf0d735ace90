"""Command line: ``s1da run``, ``s1da inspect``, ``s1da report``.

The CLI lives in the assembly package because it builds experiments from YAML through the
containers; the framework core never imports the containers.
"""

from __future__ import annotations

import argparse
import errno
import logging
import signal
import sys
import threading
import warnings
from pathlib import Path

from s1da.framework import __version__, progress

USER_ERRNOS = frozenset(
    {
        errno.ENOENT, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EISDIR,
        errno.ENOTDIR, errno.ENAMETOOLONG, errno.ELOOP, errno.EEXIST, errno.ENOTEMPTY, errno.EXDEV,
    }
)
"""Operating-system errors caused by the user's paths or machine (shown as one line, exit 2)."""


def _run(args: argparse.Namespace) -> int:
    from s1da.framework.lock import WriterLock
    from s1da.framework.outputs import check_replaceable

    output = Path(args.output)
    protected = [Path(args.config).resolve().parent]  # the config's folder is never replaced
    if args.overwrite:
        check_replaceable(output, "store", protected=protected)
    if args.report:
        check_replaceable(args.report, "report", protected=[*protected, output])
    with WriterLock(output) as lock:
        if lock.took_over:
            print(f"s1da: took over the stale lock of {lock.took_over} (that process is gone)", file=sys.stderr)
        return _run_locked(args, output, protected)


def _run_locked(args: argparse.Namespace, output: Path, protected: list[Path]) -> int:
    from s1da.framework.store import EnsembleStore, StoreError

    seed = None
    existing = health = None
    if output.exists() and not args.overwrite:
        try:
            existing = EnsembleStore.open(output)
        except StoreError as error:
            raise StoreError(f"{error}; choose another output (s1da replaces only stores it recognises)") from error
        health = existing.verify()  # decoded once; the repair below reuses it
        damaged = [name for name, status in health.items() if not status.intact]
        if existing.is_complete and not damaged:
            raise StoreError(f"{output} holds a finished experiment; pass --overwrite to replace it")
        # a config without a seed resumes with the entropy the interrupted run drew and recorded
        seed = int(existing.attributes.get("seed_entropy", 0)) or None
    with progress.showing(not args.no_progress):  # the bars of the twin build, validation, verification, report
        return _run_shown(args, output, protected, seed, existing, health)


def _run_shown(args: argparse.Namespace, output: Path, protected: list[Path], seed, existing, health) -> int:
    from s1da.containers.assembly import build_experiment  # containers know the components

    experiment = build_experiment(args.config, seed=seed, progress=not args.no_progress, overrides=args.overrides)
    if existing is not None:
        recorded = existing.attributes
        if recorded.get("config") == experiment.config_text and recorded.get("seed_entropy") == str(experiment.entropy):
            for action in existing.repair(health):  # only a store of this very experiment is repaired
                print(f"s1da: {output}: {action}", file=sys.stderr)
        print(f"s1da: resuming the unfinished store {output}", file=sys.stderr)
    store = experiment.run(
        output, overwrite=args.overwrite, workers=args.workers, scheduler=args.scheduler, sites_per_task=args.sites_per_task
    )
    print(store.describe(decoded=False))  # what this run wrote: its chunks are there; `s1da inspect` decodes them
    if args.report:
        from s1da.framework.report import write_report

        index = write_report(output, Path(args.report), formats=args.format, dpi=args.dpi, protected=protected)
        print(f"report written to {index}")
    return 0


def _workers(text: str) -> int | str:
    if text == "auto":
        return text
    return _positive_int(text)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _inspect(args: argparse.Namespace) -> int:
    from s1da.framework.store import EnsembleStore

    store = EnsembleStore.open(args.store)
    with progress.showing(not args.no_progress):
        health = store.verify()
    print(store.describe(health))
    print(_provenance(store.attributes))
    return 0 if not store.problems(health) else 1


def _provenance(attributes) -> str:
    """The components (kind, distribution, version) and --set overrides recorded at the store's root."""
    import json

    records = json.loads(attributes.get("components", "{}") or "{}")
    lines = ["  components:"] + [
        f"    {key}: {record['kind']} ({record['distribution']} {record['version']})" for key, record in records.items()
    ]
    if not records:
        lines = ["  components: not recorded"]
    overrides = json.loads(attributes.get("overrides", "[]") or "[]")
    lines.append(f"  overrides: {' '.join('--set ' + item for item in overrides) if overrides else 'none'}")
    return "\n".join(lines)


def _kinds(args: argparse.Namespace) -> int:
    from s1da.containers.catalogue import describe_kinds
    from s1da.containers.registry import LAYERS, registry

    if args.layer is not None and args.layer not in LAYERS:
        from s1da.framework.config import ConfigError

        raise ConfigError(f"unknown layer {args.layer!r} (layers: {', '.join(LAYERS)})")
    print(describe_kinds(registry(), args.layer, args.kind), end="")
    return 0


def _config_init(args: argparse.Namespace) -> int:
    from s1da.containers.registry import registry
    from s1da.containers.template import config_template

    text = config_template(registry(), source=args.source)
    if args.output is None:
        print(text, end="")
        return 0
    output = Path(args.output)
    if output.exists() and not args.overwrite:
        from s1da.framework.config import ConfigError

        raise ConfigError(f"{output} exists; pass --overwrite to replace it")
    output.write_text(text)
    print(f"configuration written to {output}; run it: s1da run {output} --output {output.with_suffix('.zarr')}")
    return 0


def _add_config_command(commands) -> None:
    config = commands.add_parser("config", help="write configurations")
    actions = config.add_subparsers(dest="action", required=True)
    init = actions.add_parser("init", help="write a complete commented experiment YAML that runs as it is")
    init.add_argument("output", nargs="?", help="file to write (default: print it)")
    init.add_argument("--source", choices=("twin", "files"), default="twin", help="data source (default twin)")
    init.add_argument("--overwrite", action="store_true", help="replace an existing file")
    init.set_defaults(handler=_config_init)


def add_set_option(run_parser) -> None:
    """``--set key.path=value`` (repeatable): override the YAML; recorded in the store."""
    run_parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one option, e.g. --set experiment.members=16 (value in YAML syntax; repeatable)",
    )


def _add_kinds_command(commands) -> None:
    kinds = commands.add_parser("kinds", help="list every kind of every layer (built-in and plugins) with its options")
    kinds.add_argument("layer", nargs="?", help="only this layer: source, model, perturbation, filter, operator")
    kinds.add_argument("kind", nargs="?", help="only this kind of the layer")
    kinds.set_defaults(handler=_kinds)


def _report(args: argparse.Namespace) -> int:
    from s1da.framework.outputs import check_replaceable
    from s1da.framework.report import write_report
    from s1da.framework.store import EnsembleStore, IncompleteStoreError

    check_replaceable(args.output, "report", protected=[args.store])
    store = EnsembleStore.open(args.store)
    with progress.showing(not args.no_progress):
        problems = store.problems()
    if problems and not args.partial:
        raise IncompleteStoreError(
            f"{args.store} is not complete and intact ({problems[0]}{'; ...' if len(problems) > 1 else ''}); "
            "pass --partial to report what is there"
        )
    if problems:
        print(f"s1da: PARTIAL report of {args.store}: {'; '.join(problems)}", file=sys.stderr)
    with progress.showing(not args.no_progress):
        index = write_report(Path(args.store), Path(args.output), formats=args.format, dpi=args.dpi, partial=bool(problems))
    print(f"report written to {index}")
    return 0


def _figure_formats(text: str) -> tuple[str, ...]:
    formats = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = [fmt for fmt in formats if fmt not in ("png", "pdf", "svg")]
    if unknown or not formats:
        raise argparse.ArgumentTypeError(f"figure formats are a comma-separated list of png, pdf, svg; got {text!r}")
    return formats


def _dpi(text: str) -> int:
    try:
        dpi = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"dpi must be an integer, got {text!r}") from None
    if not 50 <= dpi <= 1200:
        raise argparse.ArgumentTypeError(f"dpi must lie in 50..1200, got {dpi}")
    return dpi


def _report_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--format", type=_figure_formats, default=("png", "pdf", "svg"), metavar="LIST",
                         help="figure formats, comma-separated from png, pdf, svg (default: all three)")
    command.add_argument("--dpi", type=_dpi, default=300, help="resolution of the PNG figures (default: 300)")


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(
        prog="s1da",
        description="Assimilate Sentinel-1 VV backscatter into GLEAM with ensemble Kalman filters "
        "(after Rains et al., IEEE GRSL 2022).",
    )
    main_parser.add_argument("--version", action="version", version=f"s1da {__version__}")
    commands = main_parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run (or resume) an experiment defined in YAML")
    run.add_argument("config", help="experiment YAML, e.g. experiments/quickstart.yaml")
    run.add_argument("--output", required=True, help="Zarr store to write, e.g. quickstart.zarr")
    run.add_argument("--overwrite", action="store_true", help="replace an existing s1da store (never anything else)")
    run.add_argument("--report", metavar="DIR", help="also write the report (figures, summary) to DIR")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    add_set_option(run)
    where = run.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=_workers, metavar="N|auto",
        help="run the tasks on a local dask cluster of N single-threaded worker processes (auto: one per core)",
    )
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run the tasks on an existing dask cluster")
    run.add_argument(
        "--sites-per-task", type=_positive_int, metavar="K",
        help="sites per task and store chunk (grids: cells of a square tile); default: experiment.sites_per_task",
    )
    _report_options(run)
    run.set_defaults(handler=_run)

    inspect = commands.add_parser("inspect", help="print what a store holds and whether each run is complete")
    inspect.add_argument("store")
    inspect.add_argument("--no-progress", action="store_true", help="hide the progress bar of the verification")
    inspect.set_defaults(handler=_inspect)

    report = commands.add_parser("report", help="write figures, summary.md and index.html for a store")
    report.add_argument("store")
    report.add_argument("--output", required=True, help="directory for the report (an existing one must be an s1da report)")
    report.add_argument(
        "--partial", action="store_true", help="report an incomplete or damaged store (marked PARTIAL) instead of refusing"
    )
    report.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    _report_options(report)
    report.set_defaults(handler=_report)

    _add_kinds_command(commands)
    _add_config_command(commands)
    return main_parser


def user_error_message(error: BaseException) -> str | None:
    """The one-line message of a user error (bad config, data, paths, store), None for a bug."""
    from s1da.framework.config import ConfigError
    from s1da.framework.lock import LockError
    from s1da.framework.outputs import OutputError
    from s1da.framework.sitedata import DataError
    from s1da.framework.store import StoreError

    if isinstance(error, (ConfigError, StoreError, DataError, OutputError, LockError)):
        return " ".join(str(error).split())
    seen = set()
    while error is not None and id(error) not in seen:  # libraries may wrap the OSError
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in USER_ERRNOS:
            where = f": {error.filename}" if error.filename else ""
            return f"{error.strerror or error}{where}"
        error = error.__cause__ or error.__context__
    return None


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds, so the writer lock is released


_PACKAGE_DIR = str(Path(__file__).resolve().parents[1])


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """s1da's own warnings (e.g. the calibration warnings, one line per kind) as one line for
    the user; warnings of other libraries keep Python's format with their source location."""
    if issubclass(category, UserWarning) and str(Path(filename).resolve()).startswith(_PACKAGE_DIR):
        print(f"s1da: warning: {message}", file=sys.stderr if file is None else file)
    else:
        _python_show_warning(message, category, filename, lineno, file, line)


_python_show_warning = warnings.showwarning


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return args.handler(args)
    except Exception as error:
        message = user_error_message(error)
        if message is None:
            raise  # an internal error keeps its traceback
        print(f"s1da: {message}", file=sys.stderr)
        # sibling writes that failed alongside (a full disk fails them all) would otherwise be
        # logged at exit as "exception was never retrieved", with tracebacks
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        return 2
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
