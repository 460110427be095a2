#!/usr/bin/env python3
"""A scripted 60-second visitor on the demo scene, through the real pipeline, on offscreen kiosk
screens: the visitor's arc end to end, with the take-home QR code shown on request.

    .venv/bin/python tools/arc_session.py [--languages en,de,es] [--theme default]
                                          [--watchlist DIR] [--out DIR] [--size 1280x720]

One visitor (obama2.jpg of the demo photos) walks up at 1 s, stays, asks for their record at
``--takehome-at`` seconds (the "Take my record" button), and walks off at 45 s; nobody is in view
until 70 s. The real pipeline (detector, embedder, age/gender/expression, face mesh, and with
the shipped watchlist, or ``--watchlist`` a folder of portraits) runs on the demo scene's frames as fast as
it can on the scene clock; one screen per language follows its snapshots. Prints the arc steps
each screen went through, with the scene time they began.

Writes nothing unless ``--out`` is given: then ``arc_<step>_<lang>.png`` per arc step and language
(the step's last frame, so the dossier is complete and the countdown has run; ``_hc`` with
``--theme high_contrast``) and ``arc_attract_<lang>.png`` (the attract screen as the session
ends), reduced to 256 colours. Without
``--out`` it is what ``tools/privacy_audit.sh`` traces (tests/test_privacy_audit.py): the whole
arc, the take-home code included, must write no file and use no network.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.privacy.environment import prepare_environment  # noqa: E402

prepare_environment()  # as `kiosk run` does (no caches, no telemetry)

import pygame  # noqa: E402

from kiosk.capture.demo import EYE_LEVEL, PLAIN, PORTRAITS  # noqa: E402
from kiosk.bench.scenes import SyntheticScene, SyntheticVisit  # noqa: E402
from kiosk.config import config_from_mapping  # noqa: E402
from kiosk.models import ModelStore, default_demo_dir  # noqa: E402
from kiosk.analysis.build import build_analyzer  # noqa: E402
from kiosk.pipeline import Pipeline  # noqa: E402
from kiosk.ui.app import KioskApp  # noqa: E402
from kiosk.ui.build import build_deps  # noqa: E402

log = logging.getLogger("arc_session")

FACE_H = 150.0
SHOT_AFTER_S = 4.0
ARRIVE_S, STAND_S, LEAVE_S, GONE_S, END_S = 1.0, 2.0, 45.0, 46.0, 70.0


def visitor_scene(fps: float) -> SyntheticScene:
    visit = SyntheticVisit("obama2.jpg", PLAIN, ARRIVE_S, STAND_S, LEAVE_S, GONE_S, cx=300.0,
                           cy=EYE_LEVEL * 480 + PORTRAITS["obama2.jpg"].person_dy * FACE_H, face_h=FACE_H)
    return SyntheticScene(default_demo_dir(), (visit,), loop_s=END_S, fps=fps, loop=False)


def save_png(surface: pygame.Surface, path: Path) -> None:
    from PIL import Image  # Pillow comes with matplotlib, a dependency of the kiosk

    image = Image.frombytes("RGB", surface.get_size(), pygame.image.tobytes(surface, "RGB"))
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--languages", default="en,de,es")
    p.add_argument("--theme", default="default", choices=("default", "high_contrast"))
    p.add_argument("--watchlist", type=Path, default=None,
                   help="folder of portraits to search (default: the shipped NASA watchlist, as in kiosk run)")
    p.add_argument("--takehome-at", type=float, default=36.0, help="scene second the visitor asks for their record")
    p.add_argument("--takehome-for", type=float, default=4.0, help="seconds the code stays before they close it")
    p.add_argument("--fps", type=float, default=8.0, help="scene frames per second")
    p.add_argument("--size", default="1280x720")
    p.add_argument("--out", type=Path, default=None, help="write one PNG per arc step and language here")
    p.add_argument("--link", default=None, help="ui.exhibition_link for the second code")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    w, h = (int(v) for v in args.size.lower().split("x"))
    langs = [x.strip() for x in args.languages.split(",") if x.strip()]

    mapping: dict = {"camera": {"source": "demo", "realtime": False}}
    if args.watchlist is not None:
        mapping["watchlist"] = {"enabled": True, "dir": str(args.watchlist.resolve())}
    if args.link:
        mapping["ui"] = {"exhibition_link": args.link}
    cfg = config_from_mapping(mapping)
    scene = visitor_scene(args.fps)
    analyzer = build_analyzer(cfg, ModelStore(cfg.runtime.models_dir_resolved))
    pipeline = Pipeline(cfg, analyzer, source_factory=lambda: scene)
    deps = build_deps(cfg, analyzer.watchlist)
    pygame.display.init()
    pygame.font.init()
    pygame.display.set_mode((1, 1))
    surface = pygame.Surface((w, h))
    day = dt.date.today()
    ui = {"ui.fullscreen": False, "ui.width": w, "ui.height": h, "ui.theme": args.theme, "ui.arc": True}
    apps = {lang: KioskApp((w, h), cfg.with_overrides({**ui, "ui.language": lang}).ui, deps, privacy=cfg.privacy,
                           today=lambda: day)
            for lang in langs}
    last: dict[str, tuple[str, pygame.Surface | None]] = {lang: ("", None) for lang in langs}
    steps: dict[str, list[tuple[float, str]]] = {lang: [] for lang in langs}
    shown: dict[str, int] = {lang: 0 for lang in langs}  # frames drawn with the take-home code
    suffix = "_hc" if args.theme == "high_contrast" else ""
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)

    started: dict[str, float] = {lang: 0.0 for lang in langs}

    def keep(lang: str, screen: str, t: float = 0.0) -> None:
        """Save each arc step as it looked ``SHOT_AFTER_S`` into it (or at its end if shorter): the
        guesses are in, and a card never caught mid-glide; the attract screen as the session ends."""
        prev, surf = last[lang]
        if prev != screen:
            if surf is not None and args.out is not None and (prev.startswith("arc:") or (prev == "attract" and screen == "end")):
                save_png(surf, args.out / f"arc_{prev.removeprefix('arc:')}_{lang}{suffix}.png")
            started[lang] = t
            surf = None
        wanted = args.out is not None and (screen.startswith("arc:") or screen == "attract")
        if wanted and (surf is None or t - started[lang] <= SHOT_AFTER_S):
            surf = surface.copy()
        last[lang] = (screen, surf)

    def on_snapshot(snap) -> None:  # noqa: ANN001
        """Every snapshot, in the inference thread, before the next frame is analysed: the screens
        see the scene's every step (the source is lossless) on the scene clock."""
        frame = pipeline.slot.peek()
        t = snap.t_s
        for lang, app in apps.items():
            app.update(t, frame, pipeline.slot.status(), snap)
            if args.takehome_at <= t < args.takehome_at + args.takehome_for and not app.takehome.is_open:
                button = app.record.buttons.get("arc_qr")
                if button is not None:  # the visitor touches "Take my record"
                    app.tap((button[0] + button[2] // 2, button[1] + button[3] // 2), t)
            elif t >= args.takehome_at + args.takehome_for and app.takehome.is_open:
                button = app.record.buttons.get("arc_qr_close")
                if button is not None:
                    app.tap((button[0] + button[2] // 2, button[1] + button[3] // 2), t)
            rec = app.render(surface, t)
            if rec.screen == "arc:takehome":
                shown[lang] += 1
            if not steps[lang] or steps[lang][-1][1] != rec.screen:
                steps[lang].append((round(t, 1), rec.screen))
            keep(lang, rec.screen, t)

    pipeline.subscribe(on_snapshot)
    pipeline.start()
    try:
        deadline = time.monotonic() + 900
        while pipeline.running() and time.monotonic() < deadline:
            time.sleep(0.05)
        if pipeline.error is not None:
            log.error("the pipeline failed: %s", pipeline.error)
            return 1
    finally:
        pipeline.stop()
    for lang in langs:
        keep(lang, "end")
    print(json.dumps({"steps": steps, "takehome_frames": shown,
                      "arc_history": {lang: app.arc.history for lang, app in apps.items()}}, ensure_ascii=False))
    ok = all(shown[lang] > 0 for lang in langs)
    if not ok:
        log.error("the take-home code was never shown (is the visitor in view at --takehome-at?)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
