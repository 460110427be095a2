#!/usr/bin/env python3
"""The kiosk side by side with what others would run: same video, same frames, interleaved runs.

Systems (each run in its own process, one after another, repeated ``--rounds`` times in
rotation, so a busy machine slows all of them alike; the result is the median of per-round
ratios to the kiosk):

- ``kiosk``: the kiosk's analyzer as configured (``--config``; detection, tracking, embeddings,
  age, gender, expression and the face mesh on their schedules), frames fed one after another.
- ``opencv``: OpenCV's own per-frame pipeline with the same model files: ``cv2.FaceDetectorYN``
  on the frame shrunk to the kiosk's ``detector.input_width``, then ``cv2.FaceRecognizerSF``
  ``alignCrop`` + ``feature`` on **every face of every frame** (what the OpenCV Zoo demo does).
  No attributes, no mesh.
- ``face_recognition``: ``face_recognition.face_locations`` with the library's defaults (dlib
  HOG, the image upsampled once) on the **full frame** (shrunk to the kiosk's width it finds no
  face at all on the 640x360 clip: HOG needs ~80 px faces), then ``face_encodings`` for every
  face of every frame.
  Only with ``--face-recognition-python PATH``: an interpreter of a throwaway venv that has it
  (it is never a dependency of the kiosk), e.g.

      python3 -m venv /tmp/frvenv
      /tmp/frvenv/bin/pip install dlib-bin numpy==1.26.4 opencv-python-headless==4.11.0.86 Pillow Click
      /tmp/frvenv/bin/pip install --no-deps face_recognition==1.3.0 face_recognition_models==0.3.0

Usage (from the checkout):

    PYTHONPATH=. .venv/bin/python tools/peers.py VIDEO [VIDEO...] [--frames 150] [--rounds 3]
        [--face-recognition-python /tmp/frvenv/bin/python] [--json]

Prints, per video and system: ms per frame (median over rounds), faces per frame, and the
ratio to the kiosk (median of per-round ratios). deepface and insightface are not compared:
they download their weights at first use, which the kiosk's rules exclude.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _frames(video: str, n: int, width: int | None = None):  # noqa: ANN202 (tool)
    import cv2

    cap = cv2.VideoCapture(video)
    out = []
    while len(out) < n:
        ok, frame = cap.read()
        if not ok:
            break
        out.append(frame)
    cap.release()
    if not out:
        raise SystemExit(f"cannot read frames from {video}")
    return out


def run_kiosk(video: str, n: int, config: str | None) -> dict:
    from kiosk.config import load_config
    from kiosk.models import ModelStore
    from kiosk.analysis.build import build_analyzer
    from kiosk.types import Frame

    cfg = load_config(config)
    analyzer = build_analyzer(cfg, ModelStore(cfg.runtime.models_dir_resolved))
    frames = _frames(video, n)
    fps = 30.0
    faces = 0
    # Warm-up frame (graph and session initialisation), not timed.
    analyzer.process(Frame(image=frames[0], index=0, t_s=0.0))
    t0 = time.perf_counter()
    for i, image in enumerate(frames):
        snap = analyzer.process(Frame(image=image, index=i + 1, t_s=(i + 1) / fps))
        faces += len(snap.faces)
    wall = time.perf_counter() - t0
    analyzer.close()
    return {"frames": len(frames), "ms_per_frame": wall * 1e3 / len(frames), "faces_per_frame": faces / len(frames)}


def run_opencv(video: str, n: int, config: str | None) -> dict:
    import cv2

    from kiosk.config import load_config
    from kiosk.models import ModelStore

    cfg = load_config(config)
    store = ModelStore(cfg.runtime.models_dir_resolved)
    frames = _frames(video, n)
    h, w = frames[0].shape[:2]
    scale = min(1.0, cfg.detector.input_width / w)
    size = (round(w * scale), round(h * scale))
    det = cv2.FaceDetectorYN.create(str(store.require("yunet")), "", size, cfg.detector.score_threshold,
                                    cfg.detector.nms_iou_threshold, cfg.detector.top_k)
    rec = cv2.FaceRecognizerSF.create(str(store.require("sface")), "")
    faces_total = 0
    work = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) if scale < 1 else f for f in frames[:1]]
    _, faces = det.detect(work[0])  # warm-up
    t0 = time.perf_counter()
    for frame in frames:
        small = cv2.resize(frame, size, interpolation=cv2.INTER_AREA) if scale < 1 else frame
        _, faces = det.detect(small)
        if faces is None:
            continue
        for face in faces:
            full = face.copy()
            full[:14] /= scale
            crop = rec.alignCrop(frame, full)
            rec.feature(crop)
            faces_total += 1
    wall = time.perf_counter() - t0
    return {"frames": len(frames), "ms_per_frame": wall * 1e3 / len(frames), "faces_per_frame": faces_total / len(frames)}


def run_face_recognition(video: str, n: int, width: int) -> dict:  # noqa: ARG001 (full frame)
    import cv2
    import face_recognition  # type: ignore[import-not-found]

    frames = _frames(video, n)
    h, w = frames[0].shape[:2]
    faces_total = 0
    t0 = time.perf_counter()
    for frame in frames:
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        boxes = face_recognition.face_locations(rgb)  # the library's defaults: HOG, upsampled once
        face_recognition.face_encodings(rgb, boxes)
        faces_total += len(boxes)
    wall = time.perf_counter() - t0
    return {"frames": len(frames), "ms_per_frame": wall * 1e3 / len(frames), "faces_per_frame": faces_total / len(frames)}


def _child(system: str, video: str, n: int, config: str | None, python: str, width: int) -> dict:
    cmd = [python, str(Path(__file__).resolve()), "--child", system, "--frames", str(n), "--width", str(width), video]
    if config:
        cmd += ["--config", config]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{system} failed on {video}:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("videos", nargs="+")
    ap.add_argument("--config", default=None)
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--face-recognition-python", default=None, metavar="PATH")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--width", type=int, default=320, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        video = args.videos[0]
        if args.child == "kiosk":
            res = run_kiosk(video, args.frames, args.config)
        elif args.child == "opencv":
            res = run_opencv(video, args.frames, args.config)
        else:
            res = run_face_recognition(video, args.frames, args.width)
        print(json.dumps(res))
        return 0

    from kiosk.config import load_config

    width = load_config(args.config).detector.input_width
    systems = [("kiosk", sys.executable), ("opencv", sys.executable)]
    if args.face_recognition_python:
        systems.append(("face_recognition", args.face_recognition_python))
    report: dict = {"frames": args.frames, "rounds": args.rounds, "detector_input_width": width, "videos": {}}
    for video in args.videos:
        runs: dict[str, list[dict]] = {name: [] for name, _ in systems}
        for r in range(args.rounds):
            order = systems[r % len(systems):] + systems[:r % len(systems)]  # rotate who goes first
            for name, python in order:
                runs[name].append(_child(name, video, args.frames, args.config, python, width))
        rows = {}
        for name, _ in systems:
            ratios = [run["ms_per_frame"] / k["ms_per_frame"] for run, k in zip(runs[name], runs["kiosk"])]
            rows[name] = {
                "ms_per_frame": round(statistics.median(x["ms_per_frame"] for x in runs[name]), 2),
                "faces_per_frame": round(statistics.median(x["faces_per_frame"] for x in runs[name]), 2),
                "time_over_kiosk": round(statistics.median(ratios), 2),
                "time_over_kiosk_range": [round(min(ratios), 2), round(max(ratios), 2)],
            }
        report["videos"][video] = rows
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for video, rows in report["videos"].items():
            print(f"{video} ({args.frames} frames, {args.rounds} interleaved rounds, detector width {width})")
            for name, row in rows.items():
                print(f"  {name:<18}{row['ms_per_frame']:>9.2f} ms/frame  {row['faces_per_frame']:>5.2f} faces/frame  "
                      f"{row['time_over_kiosk']:>6.2f}x the kiosk's time {row['time_over_kiosk_range']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
