"""``kiosk eval lfw``: verification on ``pairs.csv`` (``fold,same,img1,img2``, paths relative to the root).

Accuracy with a threshold chosen on the other folds (cross-validated, mean +- sd over folds),
accuracy at a fixed threshold (0.363, OpenCV's), TAR at FAR 1e-3, detection failures.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
import cv2
import numpy as np
from kiosk.errors import KioskError
from kiosk.types import Detection
from kiosk.track.fmr_calibration import rate_key
from kiosk.track.watchlist import embed_landmarks
from kiosk.eval.common import DEFAULT_LFW_THRESHOLD, EvalDataError, EvalModels, LandmarkFallback, NATIVE_INPUT_WIDTH, check_dir, open_csv, progress_bar, json_round, central_face, read_image

log = logging.getLogger(__name__)
from kiosk.eval.verification import distribution, accuracy_at, cross_validated_accuracy, tar_at_far
from kiosk.privacy.policy import wipe


# --------------------------------------------------------------------------------------------
# LFW
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    fold: int
    same: bool
    img1: str
    img2: str


def load_lfw_pairs(root: Path) -> list[Pair]:
    """Parse ``root/pairs.csv``; check every referenced image exists (EvalDataError otherwise)."""
    root = check_dir(root, "LFW")
    path = root / "pairs.csv"
    rows = open_csv(path, ("fold", "same", "img1", "img2"))
    pairs: list[Pair] = []
    for line, row in enumerate(rows, start=2):
        try:
            same = int(row["same"])
            fold = int(row["fold"])
        except (TypeError, ValueError):
            raise EvalDataError(f"{path}:{line}: fold and same must be integers, got {row['fold']!r}, {row['same']!r}") from None
        if same not in (0, 1) or not row["img1"] or not row["img2"]:
            raise EvalDataError(f"{path}:{line}: same must be 0 or 1 and both image paths given")
        pairs.append(Pair(fold, bool(same), row["img1"], row["img2"]))
    missing = sorted({p for pair in pairs for p in (pair.img1, pair.img2) if not (root / p).is_file()})
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise EvalDataError(f"{path}: {len(missing)} image(s) listed but not found under {root}: {shown}")
    if not any(p.same for p in pairs) or all(p.same for p in pairs):
        raise EvalDataError(f"{path}: needs both same (1) and different (0) pairs")
    return pairs


@dataclass
class EmbeddedImages:
    """Embeddings of a set of images by the kiosk's path, with detection bookkeeping."""

    embeddings: dict[str, np.ndarray]
    failed: list[str]  # no face detected: embedded from the fallback landmarks
    fallback_source: str
    faces_per_image: dict[int, int]

    def wipe(self) -> None:
        for e in self.embeddings.values():
            e.fill(0.0)


def embed_images(
    root: Path,
    relpaths: Sequence[str],
    detector: Any,
    embedder: Any,
    choose: Callable[[Sequence[Detection], int, int], Detection | None] = central_face,
    progress: bool = False,
    desc: str = "embed",
    align: str = "arcface",
) -> EmbeddedImages:
    """Detect, choose one face, align and embed each image; misses use :class:`LandmarkFallback`.

    Two passes over the misses only: the fallback geometry is the median of *all* detections in
    the run, so the misses are embedded after every image has been detected.

    ``align="arcface"`` is the kiosk's path (5-point similarity onto the ArcFace template);
    ``align="box"`` is for comparison only: the detector's box, padded to a square and resized
    to 112x112 with no landmark alignment (what pipelines that skip 5-point alignment feed
    SFace). Misses always use the ArcFace fallback.
    """
    if align not in ("arcface", "box"):
        raise ValueError(f"align must be 'arcface' or 'box', got {align!r}")
    fallback = LandmarkFallback()
    out: dict[str, np.ndarray] = {}
    failed: list[str] = []
    counts: dict[int, int] = {}
    for rel in progress_bar(relpaths, progress, desc):
        image = read_image(Path(root) / rel)
        h, w = image.shape[:2]
        dets = detector.detect(image)
        counts[len(dets)] = counts.get(len(dets), 0) + 1
        face = choose(dets, w, h)
        if face is None:
            failed.append(rel)
            continue
        fallback.add(face.landmarks_px, w, h)
        if align == "box":
            out[rel] = _embed_box(image, face, embedder)
        else:
            out[rel] = embed_landmarks(image, face.landmarks_px, embedder)
    for rel in failed:
        image = read_image(Path(root) / rel)
        h, w = image.shape[:2]
        out[rel] = embed_landmarks(image, fallback.landmarks(w, h), embedder)
    if failed:
        log.info("%d image(s) without a detected face, embedded from %s", len(failed), fallback.source)
    return EmbeddedImages(out, failed, fallback.source, dict(sorted(counts.items())))


def _embed_box(image: np.ndarray, face: Detection, embedder: Any, size: int = 112) -> np.ndarray:
    """Embedding of the detector box squared (black padding) and resized: no alignment."""
    x1, y1, x2, y2 = (round(v) for v in face.box_xyxy)
    crop = image[max(y1, 0):max(y2, y1 + 1), max(x1, 0):max(x2, x1 + 1)]
    h, w = crop.shape[:2]
    side = max(h, w)
    square = cv2.copyMakeBorder(crop, (side - h) // 2, side - h - (side - h) // 2, (side - w) // 2,
                                side - w - (side - w) // 2, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    resized = cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)
    try:
        return np.asarray(embedder.embed([resized])[0], dtype=np.float32)
    finally:
        wipe(resized)
        wipe(square)


def _verification_block(scores: np.ndarray, same: np.ndarray, folds: np.ndarray, threshold: float) -> dict[str, Any]:
    pred = scores >= threshold
    return {
        "pairs": int(scores.size),
        "accuracy_cv": cross_validated_accuracy(scores, same, folds),
        "at_threshold": {
            "threshold": threshold,
            "accuracy": json_round(accuracy_at(scores, same, threshold)),
            "tar": json_round(float(np.mean(pred[same]))) if same.any() else None,
            "far": json_round(float(np.mean(pred[~same])), 6) if (~same).any() else None,
            "false_rejects": int(np.sum(~pred & same)),
            "false_accepts": int(np.sum(pred & ~same)),
        },
        "scores": {"same": distribution(scores[same]), "different": distribution(scores[~same])},
    }


def evaluate_lfw(
    root: Path,
    models: EvalModels,
    threshold: float = DEFAULT_LFW_THRESHOLD,
    det_score: float = 0.75,
    det_input_width: int = NATIVE_INPUT_WIDTH,
    far: float = 1e-3,
    progress: bool = False,
    align: str = "arcface",
) -> dict[str, Any]:
    """LFW verification through the kiosk's path; the JSON-ready result (see module docstring)."""
    started = time.perf_counter()
    pairs = load_lfw_pairs(root)
    images = sorted({p for pair in pairs for p in (pair.img1, pair.img2)})
    detector = models.detector(det_input_width, det_score, 0.3, 5000)
    embedded = embed_images(root, images, detector, models.embedder(), progress=progress, desc="lfw",
                            align=align)
    try:
        e = embedded.embeddings
        scores = np.array([float(e[p.img1] @ e[p.img2]) for p in pairs])
    finally:
        embedded.wipe()
    same = np.array([p.same for p in pairs])
    folds = np.array([p.fold for p in pairs])
    failed = set(embedded.failed)
    detected = np.array([p.img1 not in failed and p.img2 not in failed for p in pairs])

    result: dict[str, Any] = {
        "dataset": "lfw",
        "root": str(root),
        "pairs": len(pairs),
        "same_pairs": int(same.sum()),
        "different_pairs": int((~same).sum()),
        "folds": sorted(set(folds.tolist())),
        "images": len(images),
        "detector": {"input_width": "native" if det_input_width >= NATIVE_INPUT_WIDTH else det_input_width,
                     "score_threshold": det_score, "nms_iou_threshold": 0.3, "face_choice": "nearest the image centre"},
        "alignment": align,
        "faces_detected_per_image": {str(k): v for k, v in embedded.faces_per_image.items()},
        "detection_failures": {
            "images": len(failed),
            "pairs_affected": int((~detected).sum()),
            "fallback": f"median landmarks ({embedded.fallback_source})",
            "files": sorted(failed)[:20],
        },
        "all_pairs": _verification_block(scores, same, folds, threshold),
        "detected_pairs_only": _verification_block(scores[detected], same[detected], folds[detected], threshold),
        "tar_at_far": tar_at_far(scores, same, far),
    }
    try:
        from kiosk.track.fmr_calibration import load_calibration

        cal = load_calibration("sface")
    except KioskError:
        cal = None
    if cal is not None:
        rows = {}
        for rate in (1e-2, 1e-3, 1e-4):
            t = cal.threshold_for(rate)
            rows[rate_key(rate)] = {"threshold": json_round(t), "tar": json_round(float(np.mean(scores[same] >= t)))}
        result["tar_at_calibrated_fmr"] = {"calibration": cal.data, "impostor_pairs": cal.impostor_pairs, "rates": rows}
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


