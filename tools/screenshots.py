#!/usr/bin/env python3
"""Render every kiosk screen from real runs on the demo scene into docs/screenshots/*.png.

    .venv/bin/python tools/screenshots.py [--out docs/screenshots] [--languages en,de,es]
                                          [--size 1280x720]

Camera pictures are frames of the built-in demo scene (``kiosk.capture.demo.DemoScene``; the
demo photos and the models must have been fetched: ``make setup`` or ``kiosk models fetch``).
Everything on the cards comes from a real run: each frame goes through the kiosk's own
analysis (``kiosk.pipeline.build_analyzer``: detector, tracker, re-identification, the
attribute estimators), once per configuration (default; ``privacy.consent: required`` with
nobody touching "Analyse me"; ``privacy.forget_after_s: 15`` for the erased note), and the
snapshots are replayed through the real ``KioskApp`` for each screen and language (cards glide,
visitors leave and are counted down, the day's counters fill), then captured. The caveats show
the measured figures of ``assets/caveats/measured.yaml``; the watchlist is the shipped NASA one
(``assets/watchlist/nasa``), with its calibration, as in ``kiosk run`` with the default settings.
The PNGs are reduced to 256 colours so each stays well under 300 KB.
Writes only into ``--out``.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402
from PIL import Image  # noqa: E402  (Pillow comes with matplotlib, a dependency of the kiosk)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.types import SourceStatus  # noqa: E402
from kiosk.capture.demo import DemoScene  # noqa: E402
from kiosk.config import config_from_mapping  # noqa: E402
from kiosk.models import ModelStore, default_demo_dir  # noqa: E402
from kiosk.analysis.build import build_analyzer  # noqa: E402
from kiosk.types import Frame, Snapshot  # noqa: E402
from kiosk.ui.app import KioskApp  # noqa: E402
from kiosk.config import PrivacyConfig, UiConfig  # noqa: E402
from kiosk.ui.build import build_deps  # noqa: E402
from kiosk.ui.deps import UiDeps  # noqa: E402

log = logging.getLogger("screenshots")

FPS = 10.0  # replay rate: enough for the animations to settle between captures
OK = SourceStatus(ok=True, message="demo", since_s=0.0, reconnects=0)
LOOP_S = 46.5  # one loop of the demo scene's timeline


class RealRun:
    """The kiosk's own analysis of the demo scene at ``FPS``, from 0 to ``LOOP_S``, recorded once
    per configuration and replayed for every screen and language."""

    def __init__(self, scene: DemoScene, overrides: dict) -> None:
        cfg = config_from_mapping(overrides)
        analyzer = build_analyzer(cfg, ModelStore(cfg.runtime.models_dir_resolved))
        loader = getattr(analyzer, "watchlist_loader", None)
        if loader is not None and not loader.wait(300.0):  # the shipped watchlist, searched from frame 0
            raise RuntimeError("the watchlist did not load; run `kiosk models fetch` first")
        # What the screen knows besides the snapshots, as in `kiosk run`: the shipped watchlist's
        # size, portraits and calibration, the measured caveat figures.
        self.deps = build_deps(cfg, analyzer.watchlist, loader)
        self.snaps: list[Snapshot] = []
        for n in range(int(round(LOOP_S * FPS)) + 1):
            t = n / FPS
            self.snaps.append(analyzer.process(Frame(scene.render(t), n, t)))
        analyzer.close()
        log.info("real run %s: %d frames, up to %d faces", overrides or "default", len(self.snaps),
                 max(len(s.faces) for s in self.snaps))

    def snapshot(self, t_s: float, frame_index: int) -> Snapshot:
        return self.snaps[min(frame_index, len(self.snaps) - 1)]


class Shooter:
    def __init__(self, out: Path, size: tuple[int, int], scene: DemoScene, deps: UiDeps) -> None:
        self.out, self.size, self.scene, self.deps = out, size, scene, deps
        self.surface = pygame.Surface(size)
        self.written: list[Path] = []

    def app(self, consent_required: bool = False, forget_after_s: float = 300.0, **ui: object) -> KioskApp:
        values = {"fullscreen": False, "width": self.size[0], "height": self.size[1], "arc": False, **ui}
        privacy = PrivacyConfig(consent="required" if consent_required else "implied", forget_after_s=forget_after_s)
        return KioskApp(self.size, UiConfig(**values), self.deps, privacy=privacy)

    def play(self, app: KioskApp, story: RealRun, t0: float, t1: float) -> None:
        """Replay the scene from ``t0`` to ``t1`` (scene seconds) through the app."""
        n0, n1 = int(round(t0 * FPS)), int(round(t1 * FPS))
        for n in range(n0, n1 + 1):
            t = n / FPS
            frame = Frame(self.scene.render(t), n, t)
            app.update(t, frame, OK, story.snapshot(t, n))
            app.render(self.surface, t)

    def save(self, name: str) -> None:
        path = self.out / f"{name}.png"
        raw = pygame.image.tobytes(self.surface, "RGB")
        image = Image.frombytes("RGB", self.size, raw)
        image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
        self.written.append(path)
        log.info("%s: %d KB", path, path.stat().st_size // 1024)


def shoot_language(sh: Shooter, runs: dict[str, RealRun], lang: str, level: int) -> None:
    """Capture the screens of one language. ``level`` 2: every screen and option; 1: every
    screen once; 0: the mirror, the threshold lesson and the attract screen."""
    story = runs["default"]

    # Mirror: two visitors, one of them back for a second visit ("Welcome back").
    app = sh.app(language=lang, lesson_after_s=3600.0)
    sh.play(app, story, 6.0, 10.6)
    sh.save(f"mirror_{lang}")
    if level >= 1:
        # Forgetting: the astronaut has left; her card became a countdown at the bottom.
        sh.play(app, story, 10.7, 18.5)
        sh.save(f"forgetting_{lang}")

    if level >= 1:
        # Consent required (privacy.consent: required): nobody has touched "Analyse me" yet, so
        # the faces are anonymous boxes and nothing about them is shown.
        nobody = runs["consent"]
        app = sh.app(language=lang, lesson_after_s=3600.0, consent_required=True)
        sh.play(app, nobody, 6.0, 10.6)
        sh.save(f"consent_{lang}")

    # Lessons, about the visitor in front (Biden steps up to the screen at ~26 s).
    app = sh.app(language=lang, lesson_after_s=3600.0)
    sh.play(app, story, 22.0, 26.5)
    app.state.next_lesson(26.5)
    app.state.set_slider(26.5, 0.30)
    sh.play(app, story, 26.6, 27.6)
    sh.save(f"lesson_threshold_{lang}")
    if level >= 1:
        for page in range(3):
            app.state.next_lesson(27.6)
            sh.play(app, story, 27.7, 28.6)
            sh.save(f"lesson_caveats{page + 1}_{lang}")
        while app.state.lesson != "record":
            app.state.next_lesson(28.6)
        sh.play(app, story, 28.7, 29.6)
        sh.save(f"lesson_record_{lang}")

    # Attract: nobody left in view; today's counters from the whole loop.
    app = sh.app(language=lang)
    sh.play(app, story, 0.0, 46.5)
    if app.state.mode != "attract":
        raise RuntimeError(f"expected the attract screen at the end of the loop, got {app.state.mode}")
    sh.save(f"attract_{lang}")
    if level < 1:
        return

    # Camera unavailable (after frames had come): visitors get the attract screen with the
    # mirror marked as paused (staff read the diagnosis in the log and the F1 overlay) ...
    status = SourceStatus(ok=False, message="camera:0 delivered no frame for 2.0 s", since_s=100.0, reconnects=7)
    app.update(142.0, None, status, None)
    app.render(sh.surface, 142.0)
    sh.save(f"camera_{lang}")
    # ... and can open every lesson.
    app.tap((sh.size[0] // 2, sh.size[1] // 2), 142.5)
    app.update(143.0, None, status, None)
    app.render(sh.surface, 143.0)
    sh.save(f"camera_lesson_{lang}")

    # Erased: with a short memory (15 s) the astronaut is forgotten while Biden is in view.
    short = runs["forget15"]
    app = sh.app(language=lang, forget_after_s=15.0, lesson_after_s=3600.0, erased_hold_s=8.0)
    sh.play(app, short, 10.0, 28.8)
    sh.save(f"erased_{lang}")
    if level < 2:
        return

    # Accessibility and privacy options: high-contrast theme with landmarks; all faces blurred.
    app = sh.app(language=lang, theme="high_contrast", lesson_after_s=3600.0, show_landmarks=True)
    sh.play(app, story, 6.0, 10.6)
    sh.save(f"high_contrast_{lang}")
    app = sh.app(language=lang, blur_faces=True, lesson_after_s=3600.0)
    sh.play(app, story, 6.0, 10.6)
    sh.save(f"blur_{lang}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "screenshots")
    p.add_argument("--languages", default="en,de,es",
                   help="comma-separated: every screen in each; the first also the options (high contrast, blur)")
    p.add_argument("--size", default="1280x720")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    w, h = (int(v) for v in args.size.lower().split("x"))
    args.out.mkdir(parents=True, exist_ok=True)
    pygame.display.init()
    pygame.font.init()
    pygame.display.set_mode((1, 1))
    scene = DemoScene(default_demo_dir(), 640, 480, realtime=False)
    scene.open()
    runs = {"default": RealRun(scene, {}),
            "consent": RealRun(scene, {"privacy": {"consent": "required"}}),
            "forget15": RealRun(scene, {"privacy": {"forget_after_s": 15.0}})}
    # The screen's collaborators as `kiosk run` makes them (the default configuration searches
    # the shipped NASA watchlist): the lesson's portrait count and names agree with the cards.
    sh = Shooter(args.out, (w, h), scene, runs["default"].deps)
    for i, lang in enumerate(args.languages.split(",")):
        # Every screen in every language; the options (high contrast, blur) in the first.
        shoot_language(sh, runs, lang.strip(), level=2 if i == 0 else 1)
    too_big = [p for p in sh.written if p.stat().st_size > 300_000]
    print(f"wrote {len(sh.written)} screenshots to {args.out}" + (f"; over 300 KB: {too_big}" if too_big else ""))
    return 1 if too_big else 0


if __name__ == "__main__":
    sys.exit(main())
