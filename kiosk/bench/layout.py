"""``kiosk bench --layout``: does the mirror keep its promises on a real video, every frame?

Replays a source (``demo``, ``file:PATH``, ...) once, losslessly, through the kiosk's real
analysis (the pipeline's ``FaceAnalyzer``, built from the configuration as ``kiosk run`` builds
it, with detector, tracker, re-identification and the attribute estimators) and draws every
processed frame with the kiosk's real screen (``kiosk.ui.app.KioskApp``, offscreen under SDL's
dummy driver, UI time = frame time, default screen timings: the mirror, the lessons it rotates
in, the attract screen). Each drawn frame is checked with ``kiosk.ui.guarantees.violations``.

Report (``--json``)::

    {"layout": {"source": ..., "size": "1280x720", "frames": N, "frames_with_violations": n,
                "screens": {"mirror": ..., "lesson": ..., "attract": ...},
                "faces_max": k, "cards_max": c, "notes_max": d,
                "violations": {"total": T, "face_covered": ., "overlap": ., "clipped": .,
                               "crossing_leader": .},
                "first_violations": [{"frame": i, "kind": ..., ...}]}}

The frames are drawn one per source frame with no inference lag (the snapshot of frame i is
drawn with frame i): the screen's layout, not the machine's speed, is what is measured.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_SIZE = (1280, 720)


def run_layout_bench(spec: str, cfg: Any, *, size: tuple[int, int] = DEFAULT_SIZE, frames: int | None = None,
                     language: str | None = None, progress: bool = False) -> dict[str, Any]:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    from kiosk.capture import open_source
    from kiosk.types import SourceStatus
    from kiosk.models import ModelStore
    from kiosk.analysis.build import build_analyzer
    from kiosk.types import Frame
    from kiosk.ui.app import KioskApp
    from kiosk.ui.guarantees import KINDS, violations
    from kiosk.ui.build import build_deps

    cam = cfg.camera
    source = open_source(spec, width=cam.width, height=cam.height, fps=cam.fps, realtime=False, loop=False,
                         demo_dir=cfg.runtime.demo_dir_resolved)
    analyzer = build_analyzer(cfg, ModelStore(cfg.runtime.models_dir_resolved))
    pygame.display.init()
    pygame.font.init()
    surface = pygame.display.set_mode(size)
    overrides: dict[str, Any] = {"fullscreen": False, "width": size[0], "height": size[1]}
    if language:
        overrides["language"] = language
    ui = cfg.ui.model_copy(update=overrides)
    app = KioskApp(size, ui, build_deps(cfg, analyzer.watchlist), privacy=cfg.privacy)
    totals = dict.fromkeys(KINDS, 0)
    screens: dict[str, int] = {}
    first: list[dict[str, Any]] = []
    bad_frames = faces_max = cards_max = notes_max = 0
    status = SourceStatus(True, spec, 0.0, 0)
    source.open()
    fps = source.fps or cam.fps
    n = 0
    t0 = time.monotonic()
    try:
        while frames is None or n < frames:
            image = source.read()
            if image is None:
                break
            t_s = n / fps
            frame = Frame(image, n, t_s)
            snap = analyzer.process(frame)
            app.update(t_s, frame, status, snap)
            rec = app.render(surface, t_s)
            counts = violations(rec, size)
            screen = rec.screen.split(":")[0]
            screens[screen] = screens.get(screen, 0) + 1
            faces_max = max(faces_max, len(snap.faces))
            cards_max = max(cards_max, len(rec.cards))
            notes_max = max(notes_max, len(rec.chips))
            if any(counts.values()):
                bad_frames += 1
                for kind, c in counts.items():
                    totals[kind] += c
                    if c and len(first) < 20:
                        first.append({"frame": n, "kind": kind, "count": c, "screen": rec.screen,
                                      "cards": {k: list(r) for k, r in rec.cards.items()},
                                      "boxes": {k: list(r) for k, r in rec.boxes.items()},
                                      "notes": {k: list(r) for k, r in rec.chips.items()}})
            n += 1
            if progress and n % 200 == 0:
                print(f"layout: frame {n}, violations {sum(totals.values())}, {n / (time.monotonic() - t0):.1f} fps",
                      file=sys.stderr, flush=True)
    finally:
        source.close()
        pygame.quit()
    return {"layout": {
        "source": spec, "size": f"{size[0]}x{size[1]}", "language": ui.language, "frames": n,
        "frames_with_violations": bad_frames, "screens": screens, "faces_max": faces_max, "cards_max": cards_max,
        "notes_max": notes_max, "violations": {"total": sum(totals.values()), **totals},
        "first_violations": first, "wall_s": round(time.monotonic() - t0, 1),
    }}


def format_layout(report: dict[str, Any]) -> str:
    lay = report["layout"]
    v = lay["violations"]
    kinds = ", ".join(f"{k} {c}" for k, c in v.items() if k != "total")
    screens = ", ".join(f"{k} {c}" for k, c in sorted(lay["screens"].items()))
    return (f"layout of {lay['source']} at {lay['size']}: {lay['frames']} frames ({screens}); "
            f"up to {lay['faces_max']} faces, {lay['cards_max']} cards, {lay['notes_max']} notes\n"
            f"violations: {v['total']} in {lay['frames_with_violations']} frames ({kinds})")


def main_layout(source: str | None, *, config: Path | None = None, frames: int | None = None,
                size: tuple[int, int] | None = None, json_output: bool = False, output: Path | None = None,
                language: str | None = None) -> int:
    """Exit 0 when every frame kept every promise, 1 when a violation was counted, 2 on bad input."""
    import json

    from kiosk.config import load_config, override_source
    from kiosk.errors import EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, KioskError

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    spec = source or "demo"
    try:
        cfg = override_source(load_config(config), spec)
        from kiosk.privacy.strict_start import protect_live_capture
        protect_live_capture(cfg, output, window=True)  # a live camera: as `kiosk run` (no-op otherwise)
        report = run_layout_bench(spec, cfg, size=size or DEFAULT_SIZE, frames=frames, language=language,
                                  progress=not json_output)
    except KioskError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return exc.exit_code
    except (ValueError, OSError) as exc:
        print(f"kiosk bench --layout: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if output is not None:
        output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2) if json_output else format_layout(report))
    return EXIT_OK if report["layout"]["violations"]["total"] == 0 else EXIT_RUNTIME
