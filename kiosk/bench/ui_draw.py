"""Draw time of the kiosk screen, offscreen: ``python -m kiosk.bench.ui_draw``.

Steps the kiosk's own window loop (``kiosk.ui.loop.WindowLoop.step``, unpaced) on the mirror (and
optionally a lesson) with four visitors at 1280x720 under SDL's dummy video driver and prints the
per-frame draw time (``KioskApp.render``) as JSON (mean, p50, p95, max, implied fps).
The camera picture changes every second display step (a 30 fps camera on a 60 Hz screen) and
a new snapshot arrives every sixth (10 inference fps), so the figure includes the picture
conversion, card layout, the countdown texts and the caches as they behave in a real run.
It measures drawing only (not the update, not ``display.flip``; no inference running beside it),
of the steps that draw: a step with nothing new to show does not (``kiosk.ui.redraw``), and
``steps_drawn`` says how many of the steps did.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from dataclasses import replace
from types import SimpleNamespace


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kiosk.bench.ui_draw", description=__doc__.split("\n\n")[0])
    p.add_argument("--size", default="1280x720")
    p.add_argument("--frames", type=int, default=600)
    p.add_argument("--screen", choices=("mirror", "lesson", "attract"), default="mirror")
    p.add_argument("--blur", action="store_true", help="pixelate faces (blur_faces)")
    args = p.parse_args(argv)
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import numpy as np
    import pygame

    from kiosk.analysis.record import face_detail
    from kiosk.bench.fake_snapshots import WATCHLIST_THRESHOLD, four_faces, placeholder_fmr
    from kiosk.capture.slot import LatestFrame
    from kiosk.config import UiConfig
    from kiosk.types import Frame
    from kiosk.ui.deps import UiDeps
    from kiosk.ui.loop import open_screen

    w, h = (int(v) for v in args.size.lower().split("x"))
    ui = UiConfig(fullscreen=False, width=w, height=h, blur_faces=args.blur, lesson_after_s=3600.0,
                  attract_after_s=3600.0 if args.screen != "attract" else 1.0, arc=False)
    deps = UiDeps(record=face_detail, fmr=placeholder_fmr, watchlist_size=40, watchlist_threshold=WATCHLIST_THRESHOLD)
    # What the window loop reads each step, as from a Pipeline: the newest frame and status in a
    # slot, the newest snapshot beside it.
    feed = SimpleNamespace(slot=LatestFrame(), snapshot=None)
    feed.slot.set_status(True, "bench")
    loop = open_screen(ui, feed, deps, max_fps=None)  # the kiosk's own loop step, unpaced
    app = loop.app
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (480, 640, 3), dtype=np.uint8) for _ in range(4)]
    base = four_faces((640, 480))
    if args.screen == "lesson":
        feed.slot.put(Frame(images[0], 0, 0.0))
        feed.snapshot = base
        app.update(0.0, feed.slot.peek(), feed.slot.status(), base)
        app.state.next_lesson(0.0)
    times_ms: list[float] = []
    steps = drawn = 0
    t = 0.0
    for i in range(args.frames):
        t += 1 / 60
        if i % 2 == 0:  # a new camera frame
            feed.slot.put(Frame(images[(i // 2) % 4], i // 2, t))
        k = i // 6
        if i % 6 == 0:  # a new snapshot
            snap = base if args.screen != "attract" else replace(base, faces=(), visitors=())
            # Faces drift a little with every snapshot, as real detections do.
            faces = tuple(replace(f, box_xyxy=tuple(v + (k % 7) for v in f.box_xyxy),
                                  time_in_view_s=f.time_in_view_s + t) for f in snap.faces)
            feed.snapshot = replace(snap, faces=faces, frame_index=k, t_s=100.0 + t)
        step = loop.step(t)
        if i >= 30:  # the first steps fill the caches
            steps += 1
            drawn += step.drawn
        if step.drawn:
            times_ms.append(step.render_ms)  # drawing only: not the update, not the flip
    warm = times_ms[15:] or times_ms  # the first frames fill the caches
    q = statistics.quantiles(warm, n=100)
    result = {
        "size": f"{w}x{h}", "screen": args.screen, "faces": len(base.faces) if args.screen != "attract" else 0,
        "blur": args.blur, "frames": len(warm), "steps": steps, "steps_drawn": drawn,
        "draw_ms_mean": round(statistics.fmean(warm), 2), "draw_ms_p50": round(q[49], 2),
        "draw_ms_p95": round(q[94], 2), "draw_ms_max": round(max(warm), 2),
        "fps_at_mean": round(1000.0 / statistics.fmean(warm), 1),
    }
    print(json.dumps(result))
    pygame.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
