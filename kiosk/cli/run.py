"""``kiosk run``: configuration -> analyzer -> pipeline -> window (or headless) -> report and exit code."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.errors import EXIT_OK, EXIT_RUNTIME, KioskError

log = logging.getLogger("kiosk")


def setup_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def config_path(given: Path | None) -> Path | None:
    if given is not None:
        return given
    env = os.environ.get("KIOSK_CONFIG")
    return Path(env) if env else None


def run_summary(frames: int, analyzer: object) -> str:
    """The INFO line at the end of a run: counters only, never one visitor's story.

    Per-visitor events ("new visitor 3", "visitor 3 is back", "forgotten after 300 s") are
    logged at DEBUG, which the unit never sets: at INFO the journal holds no timeline of
    who came when.
    """
    gone = list(analyzer.forgotten)  # type: ignore[attr-defined]
    return (f"run ended: {frames} frames analysed, {len(gone)} visitors "
            f"({sum(v.visits - 1 for v in gone)} return visits), "
            f"{analyzer.embeddings_computed} embeddings computed")  # type: ignore[attr-defined]


def cmd_run(args: argparse.Namespace, env_notes: tuple[str, ...] = ()) -> int:
    from kiosk.config import load_config, override_source

    cfg = load_config(config_path(args.config))
    if args.source:
        cfg = override_source(cfg, args.source)
    setup_logging(cfg.logging.level)
    for note in env_notes:
        log.warning("%s", note)
    if args.max_frames is not None and args.max_frames < 1:
        raise KioskError("--max-frames must be at least 1")
    if cfg.privacy.mode == "strict":
        # The kernel sandbox, while the process has one thread: every thread, library and child
        # started from here on inherits it (kiosk.privacy.strict_start).
        from kiosk.privacy.strict_start import enter_kernel_sandbox
        enter_kernel_sandbox(cfg, args.report, window=not args.headless)

    from kiosk.pipeline import Pipeline

    started = time.monotonic()
    pipeline = Pipeline(cfg, build=analyzer_builder(cfg, getattr(args, "slow_analyser", 1.0)),
                        max_frames=args.max_frames)

    def _stop(signum: int, _frame: object) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)
        pipeline.stop_event.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    from kiosk.notify import Notifier
    notifier = Notifier()  # its Unix socket exists before the guard closes the door
    allowed = [Path(args.report)] if args.report and args.report != "-" else []
    counter, persister, files = daily_counter(cfg, pipeline, window=not args.headless)
    allowed += files
    if cfg.privacy.mode == "strict":
        # From here on, nothing may be written or sent except the operator's report file and,
        # if enabled, the aggregate counters. The models load after this, under the guard.
        from kiosk.privacy.guard import install_guard
        log.info("%s", install_guard(allowed).summary())
    if not args.headless:
        # Imported before the threads start: the screen's code is on the way to the first picture,
        # and importing it while the models load (same GIL) takes twice as long.
        from kiosk.ui.window import build_deps, run_window
    log.info("source %s, models %s", cfg.camera.source, cfg.runtime.models_dir_resolved)
    pipeline.start()
    notifier.ready(f"source {cfg.camera.source}")
    try:
        if args.headless:
            while pipeline.running():
                notifier.tick()
                time.sleep(0.05)
        else:
            # The screen's collaborators come from the analyzer once it is built (its watchlist,
            # or the loader still embedding the portraits): the calibration, thumbnails, figures.
            run_window(cfg, pipeline, heartbeat=notifier.tick, counter=counter,
                       deps_when_ready=lambda analyzer: build_deps(cfg, analyzer.watchlist, analyzer.watchlist_loader))
    finally:
        notifier.stopping()
        pipeline.stop()
        # The inference thread closes the analyzer (the MediaPipe graph, the watchlist's embedding
        # thread) before it ends; exiting while a thread is inside a native library aborts the
        # process (status 134), which systemd counts as a crash.
        if not pipeline.inference.done.wait(30.0):
            log.warning("the analysis did not finish closing within 30 s")
        if persister is not None:
            persister.close()
        notifier.close()
    wall_s = time.monotonic() - started
    analyzer = pipeline.analyzer
    if analyzer is None:  # it could not be built (the error is printed) or the run was stopped first
        return exit_code(pipeline)
    log.info("%s", run_summary(pipeline.inference.stats.frames, analyzer))

    if args.report:
        write_run_report(args.report, cfg, pipeline, analyzer, wall_s, started)
    return exit_code(pipeline)


def analyzer_builder(cfg: Any, slow: float = 1.0) -> Callable[[], Any]:
    """The function the inference thread calls to build the analyzer, after the camera has opened:
    the screen shows the visitor while the models load (``kiosk.pipeline``). Whether every model
    file is there is checked now, so a kiosk without its models exits 2 before a window opens."""
    from kiosk.analysis.build import build_analyzer, needed_models
    from kiosk.models import ModelStore

    store = ModelStore(cfg.runtime.models_dir_resolved)
    store.check_present(needed_models(cfg))

    def build() -> Any:
        analyzer = build_analyzer(cfg, store)
        if slow != 1.0:
            from kiosk.bench.slowdown import slow_down
            slow_down(analyzer, slow)
        return analyzer

    return build


def daily_counter(cfg: Any, pipeline: Any, window: bool) -> tuple[Any, Any, list[Path]]:
    """The one daily counter, subscribed to ``pipeline``: (counter, persister, files it writes).

    The attract screen shows its figures and the aggregates file (if the operator enabled it) is
    written from it, so the screen and `kiosk stats` agree. Without the file it lives in RAM, and
    only for the window (a headless run has no attract screen): (None, None, []).
    """
    from kiosk.counters.aggregates_file import allowed_paths
    from kiosk.counters.daily import Aggregates
    from kiosk.counters.persister import Persister
    threshold = cfg.watchlist.threshold if cfg.watchlist.enabled else None
    if cfg.privacy.persist_aggregates and cfg.privacy.aggregates_file is not None:
        agg_file = cfg.privacy.aggregates_file
        counter = Aggregates.resume(agg_file, watchlist_threshold=threshold)
        persister = Persister(counter, agg_file)
        pipeline.subscribe(persister.observe)
        return counter, persister, list(allowed_paths(agg_file))
    if window:
        counter = Aggregates(watchlist_threshold=threshold)  # RAM only, for the attract screen
        pipeline.subscribe(counter.observe)
        return counter, None, []
    return None, None, []


def write_run_report(path: str, cfg: Any, pipeline: Any, analyzer: Any, wall_s: float, started: float) -> None:
    """``--report``: the run's figures as JSON (``kiosk.cli.report``)."""
    from kiosk.cli.report import build_report, write_report
    stats = pipeline.inference.stats
    live = cfg.camera.source_spec.live
    write_report(build_report(
        source=cfg.camera.source, frames=stats.frames, dropped=pipeline.slot.dropped,
        wall_s=wall_s, started_s=started, first_frame_s=stats.first_frame_s,
        clock_origin_s=stats.first_frame_t_s or 0.0,
        stage_ms=stats.stage_ms, max_faces=stats.max_faces,
        embeddings_computed=analyzer.embeddings_computed, visitors=analyzer.forgotten,
        # A live camera films real visitors: their guesses and when each came and left never
        # leave RAM. Recorded material (demo, files) gets the records and times.
        last_faces=stats.last_face if not live else None,
        frame_size=pipeline.snapshot.frame_size if pipeline.snapshot else None,
        visitor_times=not live,
    ), path)


def exit_code(pipeline: Any) -> int:
    """0, or the failed worker's error printed and its exit code."""
    error = pipeline.error
    if error is not None:
        if isinstance(error, KioskError):
            print(f"kiosk: {error}", file=sys.stderr)
            return error.exit_code
        print(f"kiosk: a worker thread failed: {type(error).__name__}: {error} "
              "(details in the log above)", file=sys.stderr)
        return EXIT_RUNTIME
    return EXIT_OK
