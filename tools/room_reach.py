#!/usr/bin/env python3
"""Faces per frame on a video: the kiosk's detection strategy against OpenCV at full resolution.

For every frame of the video (decoded once, processed in order, no frame skipped):
- the kiosk's detector as configured (``detector.*`` of ``--config``: the single pass at
  ``input_width``, or the room strategy with ``scan_tile_px``), fed frame after frame like the
  inference thread feeds it;
- OpenCV's own ``cv2.FaceDetectorYN`` on the same YuNet file at the frame's full resolution
  (the reference: what a detector sees when it pays full resolution on every frame), at the same
  score threshold.
Both run on the same frame one after the other (interleaved), so the time ratio is fair on a
busy machine. A reference face counts as found when a kiosk box overlaps it with IoU >= 0.3.

    PYTHONPATH=. .venv/bin/python tools/room_reach.py VIDEO [--config presets/room-1080p.yaml] [--json]

Prints mean faces per frame for both, the share of reference faces found, and ms per frame.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    ix = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = ix * iy
    aa = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    bb = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(aa[:, None] + bb[None, :] - inter, 1e-9)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("video", type=Path)
    ap.add_argument("--config", type=Path, default=None)
    ap.add_argument("--frames", type=int, default=0, help="stop after N frames (0: all)")
    ap.add_argument("--score", type=float, default=None, help="score threshold (default: the config's)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    from kiosk.config import load_config
    from kiosk.detect.room import RoomDetector
    from kiosk.models import ModelStore, create_session

    cfg = load_config(args.config)  # None: the defaults
    det = cfg.detector
    score = det.score_threshold if args.score is None else args.score
    store = ModelStore(cfg.runtime.models_dir_resolved)
    path = store.require("yunet")
    session = create_session(path, ["CPUExecutionProvider"], cfg.runtime.intra_op_threads)
    kiosk = RoomDetector(session, det.input_width, score, det.nms_iou_threshold, det.top_k, det.min_face_px,
                         getattr(det, "scan_tile_px", 0))
    cap = cv2.VideoCapture(str(args.video))
    if not cap.isOpened():
        print(f"cannot open {args.video}", file=sys.stderr)
        return 1
    fw, fh = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    # The same file OpenCV's zoo ships (the kiosk's copy has a symbolic input size; OpenCV resizes it).
    ref = cv2.FaceDetectorYN.create(str(path), "", (fw, fh), score, det.nms_iou_threshold, 5000)
    n = 0
    k_faces = r_faces = found = 0
    k_ms: list[float] = []
    r_ms: list[float] = []
    while True:
        ok, frame = cap.read()
        if not ok or (args.frames and n >= args.frames):
            break
        t0 = time.perf_counter()
        mine = kiosk.detect(frame)
        t1 = time.perf_counter()
        _, faces = ref.detect(frame)
        t2 = time.perf_counter()
        k_ms.append((t1 - t0) * 1e3)
        r_ms.append((t2 - t1) * 1e3)
        rb = np.zeros((0, 4)) if faces is None else faces[:, :4].astype(np.float64).copy()
        rb[:, 2:] += rb[:, :2]
        kb = np.array([d.box_xyxy for d in mine], np.float64).reshape(-1, 4)
        k_faces += len(kb)
        r_faces += len(rb)
        if len(rb) and len(kb):
            found += int((_iou(rb, kb).max(axis=1) >= 0.3).sum())
        n += 1
    result = {
        "video": str(args.video), "frame_size": [fw, fh], "frames": n, "score_threshold": score,
        "kiosk": {"input_width": det.input_width, "scan_tile_px": getattr(det, "scan_tile_px", 0),
                  "scan_tiles": len(kiosk.tiles), "faces_per_frame": round(k_faces / max(n, 1), 2),
                  "ms_per_frame_p50": round(float(np.median(k_ms)), 2) if k_ms else None,
                  "ms_per_frame_mean": round(float(np.mean(k_ms)), 2) if k_ms else None},
        "opencv_full_res": {"faces_per_frame": round(r_faces / max(n, 1), 2),
                            "ms_per_frame_p50": round(float(np.median(r_ms)), 2) if r_ms else None},
        "reference_faces_found": round(found / max(r_faces, 1), 3),
        "time_ratio_kiosk_over_opencv": round(float(np.mean(k_ms) / np.mean(r_ms)), 3) if r_ms else None,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        k, r = result["kiosk"], result["opencv_full_res"]
        print(f"{n} frames {fw}x{fh}, score >= {score}")
        print(f"kiosk (input {k['input_width']} px, {k['scan_tiles']} scan tiles): {k['faces_per_frame']} faces/frame, "
              f"{k['ms_per_frame_p50']} ms p50")
        print(f"OpenCV FaceDetectorYN full resolution: {r['faces_per_frame']} faces/frame, {r['ms_per_frame_p50']} ms p50")
        print(f"reference faces found by the kiosk: {result['reference_faces_found']:.1%}; "
              f"time kiosk / OpenCV: {result['time_ratio_kiosk_over_opencv']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
