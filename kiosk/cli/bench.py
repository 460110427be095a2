"""``kiosk bench`` (and ``python -m kiosk.bench.run``): the command line of :mod:`kiosk.bench.run`."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any
from kiosk.errors import EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, KioskError
from kiosk.bench.run import _bench_config, _source_for_config, run_bench
from kiosk.bench.soak import run_soak, soak_config
from kiosk.bench.report import format_report, format_soak, format_summary, summarize_reports


# ------------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------------

def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 640x480, got {text!r}") from None
    if not (160 <= w <= 3840 and 120 <= h <= 2160):
        raise argparse.ArgumentTypeError(f"size {w}x{h} out of range (160x120 to 3840x2160)")
    return w, h


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``kiosk bench`` arguments (for ``kiosk.cli`` to add to its ``bench`` sub-parser)."""
    p.add_argument("--source", default=None,
                   help="demo | file:PATH | synthetic:N (N people standing, 1-8) | synthetic:churn | any "
                        "capture spec (default: synthetic:churn with --soak, else demo)")
    p.add_argument("--config", type=Path, default=None, help="kiosk YAML config to measure (default: built-in defaults)")
    p.add_argument("--frames", type=int, default=None, metavar="N",
                   help="frames to process losslessly (default 300; 100000 with --soak)")
    p.add_argument("--size", type=_size, default=None, metavar="WxH",
                   help="frame size of the demo and synthetic scenes (default camera.width x camera.height)")
    p.add_argument("--json", action="store_true", help="print the JSON report instead of tables")
    p.add_argument("--output", type=Path, default=None, metavar="PATH", help="also write the JSON report to PATH")
    p.add_argument("--naive", action=argparse.BooleanOptionalAction, default=True,
                   help="also run the naive mode (every model, every face, every frame) and compare (default on)")
    p.add_argument("--live-s", type=float, default=10.0, metavar="S",
                   help="seconds of the live phase (paced source, UI drawing; 0 skips it)")
    p.add_argument("--ui-frames", type=int, default=120, metavar="N",
                   help="frames drawn in the UI-only phase (0 skips it)")
    p.add_argument("--summarize", nargs="+", type=Path, default=None, metavar="JSON",
                   help="print the medians over saved --json reports (Markdown) and exit")
    p.add_argument("--devices", action="store_true",
                   help="add opencv_zoo-style reference timings and the Raspberry Pi / Jetson projection")
    p.add_argument("--soak", action="store_true", help="run the soak test instead of the benchmark")
    p.add_argument("--layout", action="store_true",
                   help="replay the source once through the analysis and the screen, every frame, and count "
                        "layout violations (cards on faces, overlaps, clipping, crossing leader lines)")
    p.add_argument("--screen-size", type=_size, default=None, metavar="WxH", help="--layout: screen size (1280x720)")
    p.add_argument("--language", default=None, help="--layout: screen language (default: the config's)")
    p.add_argument("--sample-every", type=int, default=1000, metavar="N", help="soak: sample every N frames")
    p.add_argument("--warmup-frames", type=int, default=None, metavar="N",
                   help="soak: frames before the checks start (default: a quarter of --frames)")
    p.add_argument("--forget-after-s", type=float, default=10.0, metavar="S",
                   help="soak: privacy.forget_after_s during the soak (default 10, the schema's minimum)")
    p.add_argument("--max-growth-mb", type=float, default=5.0, metavar="MB",
                   help="soak: largest RSS growth after warm-up that passes (default 5)")


def protect_if_live(cfg: Any, spec: str, output: Path | None, *, window: bool) -> bool:
    """A capture spec that films people (``camera:N``, ``gst:``, ``picamera2``) gets the same kernel
    sandbox and privacy guard as ``kiosk run`` before anything opens it; synthetic scenes, the
    demo and files do not need it. True when installed."""
    from kiosk.bench.scenes import parse_spec

    if parse_spec(spec) is not None:  # a synthetic scene: drawn, nobody filmed
        return False
    from kiosk.privacy.strict_start import protect_live_capture

    return protect_live_capture(cfg, output, window=window)


def main_bench(source: str | None = None, *, config: Path | None = None, frames: int | None = None,
               size: tuple[int, int] | None = None, json_output: bool = False, output: Path | None = None,
               naive: bool = True, live_s: float = 10.0, ui_frames: int = 120, devices: bool = False,
               soak: bool = False,
               sample_every: int = 1000, warmup_frames: int | None = None, forget_after_s: float = 10.0,
               max_growth_mb: float = 5.0) -> int:
    """``kiosk bench``: run the benchmark (or the soak), print tables or JSON; exit code.

    0: done (benchmark: whatever the targets say; soak: every check passed); 1: soak check
    failed or a worker failed; 2: bad config, source or missing model.
    """
    from kiosk.config import load_config

    if not logging.getLogger().handlers:
        # The bench's own output is the report; the kiosk's per-visitor INFO lines would bury it.
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        cfg = load_config(config)
        spec = source or ("synthetic:churn" if soak else "demo")
        cfg = _source_for_config(cfg, spec)
        cfg = _bench_config(cfg, size)
        # While this process has one thread, before the source is opened.
        protect_if_live(cfg, spec, output, window=not soak and (ui_frames > 0 or live_s > 0))
        if soak:
            cfg = soak_config(cfg, forget_after_s)

            def progress(sample: dict[str, Any]) -> None:
                print(f"soak: frame {sample['frame']}, RSS {sample['rss_mb']:.1f} MB, gallery {sample['gallery']}, "
                      f"threads {sample['threads']}, fds {sample['fds']}", file=sys.stderr, flush=True)

            report = run_soak(cfg, spec=spec, frames=frames or 100_000, sample_every=sample_every,
                              warmup_frames=warmup_frames, max_growth_mb=max_growth_mb, progress=progress)
            text = format_soak(report)
            code = EXIT_OK if report["passed"] else EXIT_RUNTIME
        else:
            report = run_bench(spec, cfg, frames=frames or 300, naive=naive, live_s=live_s, ui_frames=ui_frames,
                               devices=devices)
            from kiosk.bench.verdict import verdict

            report["verdict"] = verdict(report, config)
            text = format_report(report) + "\n\n" + report["verdict"]["line"]
            if json_output:  # the JSON goes to stdout; the one line stays visible
                print(report["verdict"]["line"], file=sys.stderr)
            code = EXIT_OK
    except KioskError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return exc.exit_code
    except (ValueError, OSError) as exc:
        print(f"kiosk bench: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if output is not None:
        output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2) if json_output else text)
    return code


def main_summarize(paths: list[Path]) -> int:
    """``kiosk bench --summarize RUN.json...``: medians over saved reports; 2 if one is unreadable."""
    reports = []
    for path in paths:
        try:
            reports.append(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            print(f"kiosk bench: {path}: {exc}", file=sys.stderr)
            return EXIT_USAGE
    print(format_summary(summarize_reports(reports)))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """``python -m kiosk.bench.run``: the same as ``kiosk bench``."""
    p = argparse.ArgumentParser(prog="kiosk bench", description="benchmark or soak the kiosk pipeline")
    add_arguments(p)
    a = p.parse_args(argv)
    if a.layout:
        from kiosk.bench.layout import main_layout

        return main_layout(a.source, config=a.config, frames=a.frames, size=a.screen_size, json_output=a.json,
                           output=a.output, language=a.language)
    if a.summarize:
        return main_summarize(a.summarize)
    return main_bench(a.source, config=a.config, frames=a.frames, size=a.size, json_output=a.json,
                      output=a.output, naive=a.naive, live_s=a.live_s, ui_frames=a.ui_frames,
                      devices=a.devices, soak=a.soak,
                      sample_every=a.sample_every, warmup_frames=a.warmup_frames,
                      forget_after_s=a.forget_after_s, max_growth_mb=a.max_growth_mb)


if __name__ == "__main__":
    sys.exit(main())
