#!/usr/bin/env python3
"""Screenshots of the watchlist lesson from a real run: the real pipeline on the demo scene.

    .venv/bin/python tools/watchlist_screenshots.py [--out docs/screenshots] [--size 1280x720]
                                                    [--config kiosk.example.yaml] [--timeout-s 120]

Unlike ``tools/screenshots.py`` (made-up guesses replayed through the screen), nothing here is
synthetic: the demo source, detector, embedder, attribute models and the shipped NASA watchlist
run as in ``make demo``; the screen (``KioskApp``, drawn offscreen under SDL's dummy driver) shows
what the pipeline publishes. The script only presses what a visitor would press: it opens the
threshold lesson and moves the slider, when the scene gives the moment:

- ``watchlist_true_match_en.png``: the astronaut (Eileen Collins, ``skimage.data.astronaut``) is
  the face searched; slider at the strict end (1 in 1,000,000): her official portrait still
  matches, no stranger does;
- ``watchlist_false_match_en.png``: a stranger (Obama or Biden, not on the list) is searched;
  slider at the lenient end (1 in 100): astronauts "match" him.

Writes only the two PNGs into ``--out``.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.config import load_config  # noqa: E402
from kiosk.models import ModelStore  # noqa: E402
from kiosk.analysis.build import build_analyzer  # noqa: E402
from kiosk.pipeline import Pipeline  # noqa: E402
from kiosk.ui.app import KioskApp, main_face  # noqa: E402
from kiosk.ui.build import build_deps  # noqa: E402
from kiosk.ui.threshold_lesson import reading  # noqa: E402

log = logging.getLogger("watchlist_screenshots")
TRUE_NAME = "Eileen Collins"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--config", type=Path, default=Path("kiosk.example.yaml"))
    ap.add_argument("--timeout-s", type=float, default=120.0)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    w, h = (int(v) for v in args.size.split("x"))
    cfg = load_config(args.config)
    analyzer = build_analyzer(cfg, ModelStore(cfg.runtime.models_dir_resolved))
    pipeline = Pipeline(cfg, analyzer)
    pygame.font.init()
    surface = pygame.Surface((w, h))
    deps = build_deps(cfg, analyzer.watchlist, analyzer.watchlist_loader)
    ui = cfg.with_overrides({"ui.fullscreen": False, "ui.width": w, "ui.height": h}).ui
    app = KioskApp((w, h), ui, deps, privacy=cfg.privacy)
    args.out.mkdir(parents=True, exist_ok=True)
    wanted = {"true": False, "false": False}
    pending: tuple[str, float] | None = None  # (shot, when to take it): let the cards settle first
    started = time.monotonic()
    pipeline.start()
    try:
        while pipeline.running() and not all(wanted.values()) and time.monotonic() - started < args.timeout_s:
            now = time.monotonic()
            snap = pipeline.snapshot
            app.update(now, pipeline.slot.peek(), pipeline.slot.status(), snap)
            face = main_face(snap)
            top = sorted(face.watchlist, key=lambda m: -m.score)[0] if face is not None and face.watchlist else None
            if pending is None and top is not None:
                lenient_thr = reading(deps, 0.0, 0).threshold or 1.0
                if not wanted["true"] and top.name == TRUE_NAME:
                    pending = ("true", now + 1.5)
                    fraction = 1.0
                elif (not wanted["false"] and top.name != TRUE_NAME and top.score >= lenient_thr
                      and not any(m.name == TRUE_NAME for f in snap.faces for m in f.watchlist[:1])):
                    pending = ("false", now + 1.5)
                    fraction = 0.0
                if pending is not None:
                    while app.state.mode != "lesson" or app.state.lesson != "threshold":
                        app.state.next_lesson(now)
                    app.state.set_slider(now, fraction)
            app.render(surface, now)
            if pending is not None and now >= pending[1]:
                shot = pending[0]
                face = main_face(pipeline.snapshot)
                top = sorted(face.watchlist, key=lambda m: -m.score)[0] if face is not None and face.watchlist else None
                ok = top is not None and ((top.name == TRUE_NAME) == (shot == "true"))
                if ok:
                    path = args.out / f"watchlist_{shot}_match_en.png"
                    # 256 colours, like tools/screenshots.py: each PNG stays well under 300 KB.
                    from PIL import Image

                    image = Image.frombytes("RGB", (w, h), pygame.image.tobytes(surface, "RGB"))
                    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                   dither=Image.Dither.NONE).save(path, optimize=True)
                    log.info("%s: searched face's top candidate %s (%.2f)", path, top.name, top.score)
                    wanted[shot] = True
                pending = None
                app.state.close_lesson(now)
            time.sleep(1 / 20)
    finally:
        pipeline.stop()
    missing = [k for k, v in wanted.items() if not v]
    if missing:
        log.error("no moment for: %s within %.0f s", ", ".join(missing), args.timeout_s)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
