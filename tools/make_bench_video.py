"""Write the bench's synthetic scene (``synthetic:N``) to a video file, for ``kiosk bench --source file:...``.

Issue 17 measures the cost over the floor "on a 4-face 640x480 video": this makes that video
honestly from the same scene the bench renders itself (the demo photos composited by
``kiosk.bench.scenes.SyntheticScene.standing``), so the two sources differ only in how the
frames arrive (decoded from a file instead of rendered). The output belongs in /tmp: it is
evaluation data and is never committed.

    PYTHONPATH=. .venv/bin/python tools/make_bench_video.py --people 4 --frames 600 /tmp/bench_4faces.mp4
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2


def main(argv: list[str] | None = None) -> int:
    from kiosk.bench.scenes import SyntheticScene
    from kiosk.paths import default_demo_dir

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("output", type=Path, help="video file to write (.mp4)")
    ap.add_argument("--people", type=int, default=4, help="people standing in view (1-8), default 4")
    ap.add_argument("--frames", type=int, default=600, help="frames to write, default 600 (20 s at 30 fps)")
    ap.add_argument("--size", default="640x480", help="WxH, default 640x480")
    ap.add_argument("--fps", type=float, default=30.0)
    args = ap.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    scene = SyntheticScene.standing(default_demo_dir(), args.people, width=width, height=height,
                                    fps=args.fps, realtime=False)
    scene.open()
    writer = cv2.VideoWriter(str(args.output), cv2.VideoWriter_fourcc(*"mp4v"), args.fps, (width, height))
    if not writer.isOpened():
        print(f"cannot write {args.output}", file=sys.stderr)
        return 1
    try:
        for _ in range(args.frames):
            image = scene.read()
            if image is None:
                break
            writer.write(image)
    finally:
        writer.release()
        scene.close()
    print(f"{args.output}: {args.frames} frames, {width}x{height}, {args.people} people, {args.fps:g} fps")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
