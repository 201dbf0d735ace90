"""Command line: ``s1da run``, ``s1da inspect``, ``s1da report``.

The CLI lives in the assembly package because it builds experiments from YAML through the
containers; the framework core never imports the containers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from s1da.framework import __version__


def _run(args: argparse.Namespace) -> int:
    from s1da.containers.assembly import build_experiment  # containers know the components
    from s1da.framework.store import EnsembleStore

    output = Path(args.output)
    seed = None
    if output.exists() and not args.overwrite:
        try:
            existing = EnsembleStore.open(output)
        except Exception as error:
            print(f"s1da: {output} exists and is not a readable s1da store ({error}); pass --overwrite", file=sys.stderr)
            return 2
        if existing.is_complete:
            print(f"s1da: {output} holds a finished experiment; pass --overwrite to replace it", file=sys.stderr)
            return 2
        print(f"s1da: resuming the unfinished store {output}", file=sys.stderr)
        # a config without a seed resumes with the entropy the interrupted run drew and recorded
        seed = int(existing.attributes.get("seed_entropy", 0)) or None
    experiment = build_experiment(args.config, seed=seed, progress=not args.no_progress, overrides=args.overrides)
    store = experiment.run(output, overwrite=args.overwrite)
    print(store.describe())
    if args.report:
        from s1da.framework.report import write_report

        index = write_report(output, Path(args.report), formats=args.format, dpi=args.dpi)
        print(f"report written to {index}")
    return 0


def _inspect(args: argparse.Namespace) -> int:
    from s1da.framework.store import EnsembleStore

    store = EnsembleStore.open(args.store)
    print(store.describe())
    print(_provenance(store.attributes))
    return 0 if store.is_complete else 1


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
    from s1da.framework.report import write_report

    index = write_report(Path(args.store), Path(args.output), formats=args.format, dpi=args.dpi)
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
    run.add_argument("--overwrite", action="store_true", help="replace an existing store")
    run.add_argument("--report", metavar="DIR", help="also write the report (figures, summary) to DIR")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    add_set_option(run)
    _report_options(run)
    run.set_defaults(handler=_run)

    inspect = commands.add_parser("inspect", help="print what a store holds and whether each run is complete")
    inspect.add_argument("store")
    inspect.set_defaults(handler=_inspect)

    report = commands.add_parser("report", help="write figures, summary.md and index.html for a store")
    report.add_argument("store")
    report.add_argument("--output", required=True, help="directory for the report")
    _report_options(report)
    report.set_defaults(handler=_report)

    _add_kinds_command(commands)
    _add_config_command(commands)
    return main_parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from s1da.framework.config import ConfigError
    from s1da.framework.sitedata import DataError
    from s1da.framework.store import StoreError

    try:
        return args.handler(args)
    except (ConfigError, StoreError, DataError) as error:
        print(f"s1da: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
