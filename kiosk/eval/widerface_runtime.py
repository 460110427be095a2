"""``kiosk eval widerface --runtime``: WIDER FACE scored with exactly the detection the kiosk runs.

The plain ``kiosk eval widerface`` runs YuNet at each photo's native size (~1024 px wide): what
the model can do, not what the kiosk sees. Here every photo becomes a *camera frame*: fitted into
the configured camera size (``camera.width`` x ``camera.height``, or ``--size``), never enlarged
(a camera cannot add detail the photo does not have), black around it. The kiosk's detector is
built from the configuration exactly as ``kiosk run`` builds it (``detector.input_width``,
``scan_tile_px``, ``min_face_px``, ...: :class:`kiosk.detect.room.RoomDetector`) and fed that
frame repeatedly, like a camera looking at a still scene, for one full rotation of the scan
tiles plus one frame; its detections on the last frame are scored (boxes mapped back to the
photo's pixels). The first frame's detections are scored too (``ap_first_frame``: what the
kiosk reports the instant a scene appears).

Two things differ from the running kiosk, both needed by the protocol: detections are kept down
to ``--det-score`` (AP needs the ranking; the zoom pass still only follows faces at the kiosk's
operating score), and NMS uses the evaluation's IoU and top_k (as the native-size command does,
so the two compare). Faces narrower than ``detector.min_face_px`` in the camera frame are
dropped, as in the kiosk.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

from kiosk.config import Config


def camera_frame(image: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, float]:
    """``image`` fitted into a black ``size`` (w, h) frame at the top-left, never enlarged.

    Returns the frame and the scale (frame pixels per photo pixel, <= 1).
    """
    cw, ch = size
    h, w = image.shape[:2]
    scale = min(1.0, cw / w, ch / h)
    frame = np.zeros((ch, cw, 3), np.uint8)
    if scale < 1.0:
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        frame[:nh, :nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
    else:
        frame[:h, :w] = image
    return frame, scale


def evaluate_widerface_runtime(
    root: Path,
    models: Any,
    cfg: Config,
    size: tuple[int, int] | None = None,
    det_score: float = 0.02,
    nms_iou: float = 0.45,
    top_k: int = 5000,
    operating_score: float | None = None,
    min_width_px: float = 64.0,
    progress: bool = False,
) -> dict[str, Any]:
    """WIDER FACE AP of the runtime detection strategy on camera-sized frames (module docstring)."""
    # long: one evaluation loop and its JSON result; the loop keeps per-image first and last detections
    # and timings that the result is built from
    from kiosk.detect.room import RoomDetector
    from kiosk.eval.common import json_round as _round, progress_bar as _progress, read_image
    from kiosk.eval.widerface import (load_widerface, recall_by_width, recall_of_large_faces,
                                      widerface_ap)

    started = time.perf_counter()
    det = cfg.detector
    op_score = det.score_threshold if operating_score is None else operating_score
    cam = size or (cfg.camera.width, cfg.camera.height)
    images = load_widerface(root)
    session = models.session("yunet")
    room = RoomDetector(session, det.input_width, det_score, nms_iou, top_k, det.min_face_px,
                        det.scan_tile_px, hint_score=op_score)
    last: dict[str, np.ndarray] = {}
    first: dict[str, np.ndarray] = {}
    frame_ms: list[float] = []
    frames_per_image = 0
    scales: list[float] = []
    for img in _progress(images, progress, "wider runtime"):
        photo = read_image(Path(root) / "images" / img.path)
        frame, scale = camera_frame(photo, cam)
        scales.append(scale)
        room.reset()
        # Same frame size every time: the rotation length is known after the first call.
        n = 0
        dets: list[Any] = []
        while True:
            t0 = time.perf_counter()
            dets = room.detect(frame)
            frame_ms.append((time.perf_counter() - t0) * 1e3)
            if n == 0:
                first[img.path] = _boxes(dets, scale)
            n += 1
            if n >= len(room.tiles) + 1:
                break
        frames_per_image = n
        last[img.path] = _boxes(dets, scale)
    aps = widerface_ap(images, last)
    aps_first = widerface_ap(images, first)
    ms = np.asarray(frame_ms)
    result: dict[str, Any] = {
        "dataset": "widerface",
        "mode": "runtime",
        "root": str(root),
        "images": len(images),
        "faces": {
            "annotated": int(sum(len(i.boxes_xywh) for i in images)),
            **{lvl: int(sum(len(i.keep[lvl]) for i in images)) for lvl in ("easy", "medium", "hard")},
        },
        "protocol": "official WIDER FACE: IoU >= 0.5 (+1 px boxes), faces outside the difficulty's keep list ignored, "
                    "1000 levels of min-max normalised scores, VOC AP; each photo fitted into a camera frame "
                    "(never enlarged) and detected by the kiosk's runtime strategy, last frame of one scan rotation",
        "runtime": {
            "camera_size": list(cam),
            "photo_scale": {"min": _round(min(scales)) if scales else None,
                            "median": _round(float(np.median(scales))) if scales else None},
            "detector.input_width": det.input_width,
            "detector.scan_tile_px": det.scan_tile_px,
            "detector.min_face_px": det.min_face_px,
            "scan_tiles": len(room.tiles),
            "frames_per_image": frames_per_image,
            "detect_ms_per_frame": {"mean": _round(float(ms.mean())) if ms.size else None,
                                    "p50": _round(float(np.median(ms))) if ms.size else None,
                                    "p95": _round(float(np.percentile(ms, 95))) if ms.size else None},
            "detect_fps": _round(1e3 / float(ms.mean())) if ms.size else None,
            "note": "detect_* is the detection stage alone on this machine (one onnxruntime session, "
                    "--threads); the kiosk's whole-pipeline rate is measured by `kiosk bench`",
        },
        "detector": {"score_threshold": det_score, "nms_iou_threshold": nms_iou, "top_k": top_k,
                     "operating_score": op_score},
        "ap": {k: _round(v) for k, v in aps.items()},
        "ap_first_frame": {k: _round(v) for k, v in aps_first.items()},
        "recall_large_faces": {
            "at_operating_score": recall_of_large_faces(images, last, min_width_px, op_score),
            "at_any_score": recall_of_large_faces(images, last, min_width_px, det_score),
        },
        "recall_by_width_at_operating_score": recall_by_width(images, last, op_score),
        "detections": int(sum(len(v) for v in last.values())),
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def _boxes(dets: Sequence[Any], scale: float) -> np.ndarray:
    """(P, 5) x y w h score in photo pixels."""
    return np.array(
        [[d.box_xyxy[0] / scale, d.box_xyxy[1] / scale, d.width_px / scale, d.height_px / scale, d.score]
         for d in dets], np.float64).reshape(-1, 5)


def parse_size(text: str) -> tuple[int, int]:
    """``"1920x1080"`` -> (1920, 1080); ValueError otherwise."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"expected WIDTHxHEIGHT such as 1920x1080, got {text!r}") from None
    if not (32 <= w <= 8192 and 32 <= h <= 8192):
        raise ValueError(f"size {w}x{h} out of range (32-8192 per side)")
    return w, h
