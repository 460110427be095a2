"""Per-device cost model: reference timings of this machine and a projection onto a Raspberry
Pi 4 / 5 and a Jetson Orin Nano (``kiosk bench --devices``).
"""
from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
import numpy as np

from kiosk.privacy.policy import wipe


# ------------------------------------------------------------------------------------------------
# Per-device cost model
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeviceTiming:
    """Published opencv_zoo benchmark timings of one device (OpenCV DNN, default threads, median).

    ``yunet_ms`` at ``yunet_size``; ``sface_ms`` per 112x112 face, None where not published.
    ``cpu`` names the device whose CPU runs everything that is not YuNet or SFace (the same
    device, except for a GPU entry).
    """

    label: str
    yunet_ms: float
    yunet_size: tuple[int, int]
    sface_ms: float | None
    cpu: str


#: The figures quoted in issue 5 (opencv_zoo benchmark tables).
DEVICES: dict[str, DeviceTiming] = {
    "raspberry-pi-4": DeviceTiming("Raspberry Pi 4 (CPU)", 6.2, (160, 120), 68.8, "raspberry-pi-4"),
    "raspberry-pi-5": DeviceTiming("Raspberry Pi 5 (CPU)", 8.0, (320, 240), None, "raspberry-pi-5"),
    "jetson-orin-nano-cpu": DeviceTiming("Jetson Orin Nano (CPU)", 2.6, (160, 120), 20.1, "jetson-orin-nano-cpu"),
    "jetson-orin-nano-cuda": DeviceTiming("Jetson Orin Nano (CUDA)", 5.2, (160, 120), 7.6, "jetson-orin-nano-cpu"),
}
#: Detector input widths the projection considers (multiples of 32: no padded, wasted columns).
DETECTOR_WIDTHS: tuple[int, ...] = (160, 224, 320)


def _timed_ms(fn: Callable[[], Any], warmup: int, repeat: int) -> dict[str, float]:
    """Median and minimum milliseconds of ``repeat`` calls after ``warmup`` calls.

    The projection uses the minimum: on a shared machine other processes only ever add time,
    and the minimum is the best estimate of the uncontended cost that a dedicated device's
    published median corresponds to.
    """
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return {"median": round(float(np.median(times)), 3), "min": round(float(np.min(times)), 3)}


def reference_timings(cfg: Any, image_bgr: np.ndarray, models_dir: Path | None = None,
                      repeat: int = 100) -> dict[str, Any]:
    """This machine's timings of what opencv_zoo measured, and of the kiosk's own model calls.

    opencv_zoo's way: ``cv2.FaceDetectorYN`` on the stock YuNet file at 160x120, 320x240 and
    640x480 (30 warm-up runs, median of ``repeat``), ``cv2.FaceRecognizerSF.feature`` on an
    aligned 112x112 crop, OpenCV's default threads. The kiosk's way: its onnxruntime sessions
    (``runtime.providers``, ``runtime.intra_op_threads``) for YuNet at each width of
    :data:`DETECTOR_WIDTHS` (session run only, the frame's aspect ratio) and SFace per face.
    Each entry is ``{"median": ms, "min": ms}``.
    """
    import cv2

    from kiosk.detect.align import align_face
    from kiosk.detect.yunet import OUTPUT_NAMES, YuNetDetector
    from kiosk.infer.embed import SFaceEmbedder
    from kiosk.models import ModelStore, create_session, model_entries

    store = ModelStore(models_dir or cfg.runtime.models_dir_resolved)
    files = {e.name: store.directory / e.file for e in model_entries()}
    out: dict[str, Any] = {"opencv_threads": cv2.getNumThreads(), "opencv": {}, "kiosk": {}}
    store.require("yunet")
    store.require("sface")
    detector = cv2.FaceDetectorYN.create(str(files["yunet"]), "", (160, 120), 0.6, 0.3, 5000)
    for w, h in ((160, 120), (320, 240), (640, 480)):
        small = cv2.resize(image_bgr, (w, h), interpolation=cv2.INTER_AREA)
        detector.setInputSize((w, h))
        out["opencv"][f"yunet_{w}x{h}_ms"] = _timed_ms(functools.partial(detector.detect, small), 30, repeat)
    # An aligned crop of the frame's largest face (any crop costs the same; a face is realistic).
    rt = cfg.runtime
    session = create_session(store.require("yunet"), list(rt.providers), rt.intra_op_threads)
    kiosk_det = YuNetDetector(session, input_width=640, score_threshold=0.6, nms_iou_threshold=0.3, top_k=50,
                              min_face_px=8)
    faces = kiosk_det.detect(image_bgr)
    if faces:
        crop = align_face(image_bgr, faces[0].landmarks_px)
    else:
        crop = cv2.resize(image_bgr, (112, 112))
    recognizer = cv2.FaceRecognizerSF.create(str(files["sface"]), "")
    out["opencv"]["sface_ms"] = _timed_ms(lambda: recognizer.feature(crop), 3, repeat)
    input_name = session.get_inputs()[0].name
    for width in DETECTOR_WIDTHS:
        det = YuNetDetector(session, input_width=width, score_threshold=0.75, nms_iou_threshold=0.3,
                            top_k=50, min_face_px=8)
        feed = {input_name: det.preprocess(image_bgr)[0]}
        out["kiosk"][f"yunet_w{width}_ms"] = _timed_ms(
            functools.partial(session.run, list(OUTPUT_NAMES), feed), 10, repeat)
        out["kiosk"][f"detect_w{width}_ms"] = _timed_ms(functools.partial(det.detect, image_bgr), 5, repeat)
    embedder = SFaceEmbedder(create_session(store.require("sface"), list(rt.providers), rt.intra_op_threads))
    out["kiosk"]["sface_per_face_ms"] = _timed_ms(lambda: embedder.embed([crop]), 3, repeat)
    wipe(crop)
    return out


def project_devices(report: dict[str, Any], reference: dict[str, Any], *, faces: int = 4,
                    refresh_interval_s: float | None = None) -> dict[str, Any]:
    """Project the kiosk's cost onto each device in :data:`DEVICES` (see docs/PERFORMANCE.md).

    The model is a budget for the inference thread, one core, 1000 ms per second:

    - per frame: detection (kiosk's ORT YuNet at the candidate width, x the device's YuNet
      factor) + the kiosk's non-model work per frame (analyzer total minus floor, x the
      device's CPU factor);
    - per second: scheduled per-face work, ``faces`` x (SFace per face / refresh interval +
      each other model's per-face cost x its measured updates per face per second), x the
      SFace factor (SFace) or the CPU factor (the rest);
    - max inference rate = (1000 - per-second work) / per-frame work.

    Device factors are (published device time) / (the same opencv_zoo measurement here): YuNet
    at the published input size, SFace per face. Where SFace is not published (Pi 5) it is
    scaled from the Pi 4's by the ratio of their YuNet factors. CPU factor, for everything else
    (attribute models, MediaPipe, numpy/OpenCV/Python glue): the SFace factor of the device's
    CPU (a GPU entry uses its CPU's). SFace is the larger and steadier measurement (~15 ms here;
    YuNet at 160x120 takes ~1 ms, so a few hundred microseconds of noise on a shared machine
    move its factor by a third). These are estimates to choose settings by, not measurements:
    expect +/- 50 %.
    """
    thr = report["throughput"]
    models = thr["models"]
    ref_cv, ref_k = reference["opencv"], reference["kiosk"]
    total_ms = float(thr["stages_ms"]["total"]["mean"])
    floor_ms = float(thr["floor_ms"]["mean"])
    overhead_ms = max(0.0, total_ms - floor_ms)
    scene_fps = float(report.get("source_fps") or 30.0)
    faces_here = max(float(thr["faces_per_frame"]["mean"]), 1e-9)
    refresh = refresh_interval_s or float(report["settings"].get("recognition.refresh_interval_s", 2.0))
    # Other per-face models (attributes, mesh): per-face cost and updates per face per second here.
    others: dict[str, tuple[float, float]] = {}
    for name, m in models.items():
        if name in ("yunet", "sface") or not m["calls"]:
            continue
        # Schedules run on the pipeline clock (scene seconds), not on the lossless run's wall clock.
        per_face_per_s = m["faces_per_frame"] * scene_fps / faces_here
        others[name] = (float(m["ms_per_face"]), per_face_per_s)

    factors: dict[str, dict[str, float]] = {}
    for key, dev in DEVICES.items():
        w, h = dev.yunet_size
        f_det = dev.yunet_ms / ref_cv[f"yunet_{w}x{h}_ms"]["min"]
        f_sface = dev.sface_ms / ref_cv["sface_ms"]["min"] if dev.sface_ms is not None else None
        factors[key] = {"yunet": f_det, "sface": f_sface if f_sface is not None else math.nan}
    pi4 = factors["raspberry-pi-4"]
    pi5 = factors["raspberry-pi-5"]
    pi5["sface"] = pi4["sface"] * pi5["yunet"] / pi4["yunet"]
    out: dict[str, Any] = {"faces": faces, "refresh_interval_s": refresh, "overhead_ms_here": round(overhead_ms, 3),
                           "others_here": {k: {"ms_per_face": round(v[0], 3), "updates_per_face_per_s": round(v[1], 3)}
                                           for k, v in others.items()},
                           "devices": {}}
    for key, dev in DEVICES.items():
        f = factors[key]
        f_cpu = factors[dev.cpu]["sface"]
        sface_face = ref_k["sface_per_face_ms"]["min"] * f["sface"]
        per_second = faces * sface_face / refresh
        per_second += sum(faces * ms * f_cpu * rate for ms, rate in others.values())
        rows = {}
        for width in DETECTOR_WIDTHS:
            per_frame = ref_k[f"yunet_w{width}_ms"]["min"] * f["yunet"] + overhead_ms * f_cpu
            budget = 1000.0 - per_second
            rows[str(width)] = {
                "frame_ms": round(per_frame, 2),
                "max_fps": round(budget / per_frame, 1) if budget > 0 else 0.0,
                "burst_frame_ms": round(per_frame + 2 * sface_face, 1),  # MAX_EMBEDS_PER_FRAME = 2
            }
        out["devices"][key] = {
            "label": dev.label,
            "factor_yunet": round(f["yunet"], 2),
            "factor_sface": round(f["sface"], 2),
            "factor_cpu": round(f_cpu, 2),
            "sface_per_face_ms": round(sface_face, 1),
            "scheduled_ms_per_s": round(per_second, 1),
            "by_detector_width": rows,
        }
    return out


