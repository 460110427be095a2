#!/usr/bin/env python3
"""Median milliseconds per face of the age+gender, expression and quality estimators.

Runs the kiosk's own code with ``create_session(path, ["CPUExecutionProvider"], 1)`` on the demo
photos scaled into a 640x480 frame (one face each, YuNet landmarks and box), after a warm-up:

    .venv/bin/python tools/time_attributes.py [--repeats 200]

age+gender = both dlib-style chips (64 and 32 px) + both model runs; expression = gray crop +
resize + model run; quality = two image statistics. Each figure is given as wall-clock time and
as the calling thread's CPU time (onnxruntime with 1 intra-op thread computes on the calling
thread): wall time grows when other processes compete for the cores, CPU time much less so.
Quote the command and the machine's load with the figures.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kiosk.detect.yunet import YuNetDetector  # noqa: E402
from kiosk.infer.age_gender import AgeGenderEstimator  # noqa: E402
from kiosk.infer.expression import ExpressionEstimator  # noqa: E402
from kiosk.infer.quality import face_quality  # noqa: E402
from kiosk.models import ModelStore, create_session, default_demo_dir, default_models_dir  # noqa: E402

PHOTOS = ("astronaut.png", "obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg")


def _median_ms(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(median wall ms, median thread-CPU ms) per call after a warm-up."""
    for _ in range(10):
        fn()
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.thread_time()
        fn()
        cpu.append((time.thread_time() - c0) * 1e3)
        wall.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(wall), statistics.median(cpu)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=200)
    args = ap.parse_args(argv)
    store = ModelStore(default_models_dir())

    def session(name: str):  # noqa: ANN202
        return create_session(store.require(name), ["CPUExecutionProvider"], 1)

    detector = YuNetDetector(session("yunet"), 320, 0.75, 0.3, 50, 20)
    age_gender = AgeGenderEstimator(session("age"), session("gender"))
    expression = ExpressionEstimator(session("expression"))
    rows: list[tuple[str, float, tuple[float, float], tuple[float, float], tuple[float, float]]] = []
    for name in PHOTOS:
        photo = cv2.imread(str(default_demo_dir() / name), cv2.IMREAD_COLOR)
        scale = min(640 / photo.shape[1], 480 / photo.shape[0])
        small = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        frame = np.zeros((480, 640, 3), np.uint8)
        frame[: small.shape[0], : small.shape[1]] = small
        (face,) = detector.detect(frame)
        lm, box = [face.landmarks_px], [face.box_xyxy]
        rows.append((
            name, face.width_px,
            _median_ms(lambda: age_gender.distributions(frame, lm), args.repeats),
            _median_ms(lambda: expression.probabilities(frame, box), args.repeats),
            _median_ms(lambda: face_quality(frame, box[0]), args.repeats),
        ))
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"{'photo':14s} {'face px':>7s}  age+gender ms     expression ms     quality ms")
    print(f"{'':14s} {'':7s}  {'wall':>7s} {'cpu':>7s}   {'wall':>7s} {'cpu':>7s}   {'wall':>6s} {'cpu':>6s}")
    for name, width, ag, ex, q in rows:
        print(f"{name:14s} {width:7.0f}  {ag[0]:7.2f} {ag[1]:7.2f}   {ex[0]:7.2f} {ex[1]:7.2f}   {q[0]:6.2f} {q[1]:6.2f}")
    med = [statistics.median(r[2][j] for r in rows) for j in (0, 1)]
    med += [statistics.median(r[3][j] for r in rows) for j in (0, 1)]
    med += [statistics.median(r[4][j] for r in rows) for j in (0, 1)]
    print(f"{'median':14s} {'':7s}  {med[0]:7.2f} {med[1]:7.2f}   {med[2]:7.2f} {med[3]:7.2f}   {med[4]:6.2f} {med[5]:6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
