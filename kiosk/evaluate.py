"""``kiosk eval lfw | widerface | utkface | calibrate``: the kiosk's own models measured on public data.

Every command runs the kiosk's own path (YuNet detection -> 5-point alignment -> SFace, or the
age/gender estimators) on a dataset folder given as an argument, prints one JSON object to
stdout and shows progress (tqdm) on stderr. A missing or malformed dataset folder exits 2 with
a message naming the file and what was expected. No dataset file is ever copied or cached.

- **lfw**: verification on ``pairs.csv`` (``fold,same,img1,img2``, paths relative to the root):
  accuracy with a threshold chosen on the other folds (cross-validated, mean +- sd over folds),
  accuracy at a fixed threshold (0.363, OpenCV's), TAR at FAR 1e-3, detection failures.
- **widerface**: AP on easy / medium / hard with the official WIDER FACE protocol (re-implemented
  from the official evaluation code: IoU 0.5 with the +1-pixel box convention, faces outside the
  difficulty's keep list ignored, 1000 score levels after min-max normalisation), and recall of
  faces >= 64 px wide at the kiosk's operating score, optionally over several input widths.
- **utkface**: age MAE and gender accuracy on padded tight crops, by gender, race and age band.
- **calibrate**: see :mod:`kiosk.calibration`.

Face choice: LFW and UTKFace name the person in the *centre* of the image, so the detection whose
box centre is nearest the image centre is used (the kiosk analyses every face; here only one is
labelled). An image where nothing is detected falls back to the median landmark positions of the
faces detected in the same run (relative to the image size), the "centre crop" fallback LFW
protocols use for their few detector misses; results are reported with the fallback and on the
detected-only subset.
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import math
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kiosk.detect.align import ARCFACE_112
from kiosk.errors import EXIT_OK, EXIT_USAGE, KioskError
from kiosk.types import Detection
from kiosk.watchlist import embed_landmarks, rate_key

log = logging.getLogger(__name__)

#: OpenCV's published same-person cosine threshold for SFace (the kiosk's default).
DEFAULT_LFW_THRESHOLD = 0.363
#: Detector width large enough never to shrink an evaluation image ("native size").
NATIVE_INPUT_WIDTH = 8192
AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("0-12", 0, 12),
    ("13-19", 13, 19),
    ("20-39", 20, 39),
    ("40-59", 40, 59),
    ("60+", 60, 10_000),
)


class EvalDataError(KioskError):
    """The dataset folder is missing or not in the expected format (exit code 2)."""

    exit_code = EXIT_USAGE


# --------------------------------------------------------------------------------------------
# Shared plumbing: models, image reading, face choice, fallback geometry
# --------------------------------------------------------------------------------------------


def _progress(items: Iterable[Any], enabled: bool, desc: str, total: int | None = None) -> Iterable[Any]:
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, total=total, file=sys.stderr, unit="img", dynamic_ncols=True)


@dataclass
class EvalModels:
    """onnxruntime sessions for an evaluation run (created lazily, once)."""

    models_dir: Path | None = None
    threads: int = 0  # 0: onnxruntime's default (one per core); evaluation owns the machine
    _sessions: dict[str, Any] = field(default_factory=dict)

    def session(self, name: str) -> Any:
        if name not in self._sessions:
            from kiosk.models import ModelStore, create_session

            path = ModelStore(self.models_dir).require(name)
            self._sessions[name] = create_session(path, ["CPUExecutionProvider"], self.threads)
        return self._sessions[name]

    def detector(self, input_width: int, score_threshold: float, nms_iou_threshold: float, top_k: int) -> Any:
        from kiosk.detect.yunet import YuNetDetector

        return YuNetDetector(self.session("yunet"), input_width, score_threshold, nms_iou_threshold, top_k, 0)

    def embedder(self) -> Any:
        from kiosk.infer.embed import SFaceEmbedder

        return SFaceEmbedder(self.session("sface"))


def read_image(path: Path) -> np.ndarray:
    """BGR uint8 image, or EvalDataError naming the file."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise EvalDataError(f"{path}: missing or not a readable image")
    return image


def central_face(detections: Sequence[Detection], width: int, height: int) -> Detection | None:
    """The detection whose box centre is nearest the image centre (the labelled person)."""
    if not detections:
        return None
    cx, cy = width / 2.0, height / 2.0

    def dist(d: Detection) -> float:
        x1, y1, x2, y2 = d.box_xyxy
        return math.hypot((x1 + x2) / 2.0 - cx, (y1 + y2) / 2.0 - cy)

    return min(detections, key=dist)


class LandmarkFallback:
    """Landmarks for an image where nothing was detected: the median of the detected ones.

    Collected relative to the image size, so images of different sizes share them. With no
    detection at all yet, the ArcFace template is placed on the central square of half the
    image's shorter side (roughly where LFW and UTKFace put the face).
    """

    def __init__(self) -> None:
        self._relative: list[np.ndarray] = []

    def add(self, landmarks_px: np.ndarray, width: int, height: int) -> None:
        self._relative.append(np.asarray(landmarks_px, np.float64) / np.array([width, height], np.float64))

    def landmarks(self, width: int, height: int) -> np.ndarray:
        if self._relative:
            rel = np.median(np.stack(self._relative), axis=0)
            return (rel * np.array([width, height], np.float64)).astype(np.float32)
        side = 0.5 * min(width, height)
        offset = np.array([(width - side) / 2.0, (height - side) / 2.0])
        return (ARCFACE_112 / 112.0 * side + offset).astype(np.float32)

    @property
    def source(self) -> str:
        return f"median of {len(self._relative)} detected faces" if self._relative else "ArcFace template on the centre"


def _check_dir(root: Path, what: str) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise EvalDataError(f"{root}: {what} folder not found")
    return root


def _open_csv(path: Path, required: Sequence[str]) -> list[dict[str, str]]:
    if not path.is_file():
        raise EvalDataError(f"{path}: missing (expected a CSV with columns {','.join(required)})")
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            fields = reader.fieldnames or []
            missing = [c for c in required if c not in fields]
            if missing:
                raise EvalDataError(
                    f"{path}: missing column(s) {', '.join(missing)}; expected header {','.join(required)}, "
                    f"got {','.join(fields) or 'nothing'}"
                )
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise EvalDataError(f"{path}: cannot read it ({exc})") from None
    if not rows:
        raise EvalDataError(f"{path}: no rows after the header")
    return rows


def _round(value: float | None, digits: int = 4) -> float | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return round(float(value), digits)


# --------------------------------------------------------------------------------------------
# Verification metrics (pure functions, tested on synthetic scores)
# --------------------------------------------------------------------------------------------


def accuracy_at(scores: np.ndarray, same: np.ndarray, threshold: float) -> float:
    """Fraction of pairs decided right when ``score >= threshold`` means "same person"."""
    return float(np.mean((np.asarray(scores) >= threshold) == np.asarray(same, bool)))


def best_threshold(scores: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """(threshold, accuracy) maximising accuracy on these pairs.

    Candidates are the midpoints between consecutive distinct scores (plus one below the lowest
    and one above the highest), so the chosen threshold never sits exactly on a training score.
    The first best candidate (lowest threshold) wins ties.
    """
    scores = np.asarray(scores, np.float64)
    same = np.asarray(same, bool)
    u = np.unique(scores)
    candidates = np.concatenate(([u[0] - 1e-6], (u[:-1] + u[1:]) / 2.0, [u[-1] + 1e-6]))
    gen = np.sort(scores[same])
    imp = np.sort(scores[~same])
    # genuine accepted: >= t; impostor rejected: < t
    tp = gen.size - np.searchsorted(gen, candidates, side="left")
    tn = np.searchsorted(imp, candidates, side="left")
    acc = (tp + tn) / scores.size
    i = int(np.argmax(acc))
    return float(candidates[i]), float(acc[i])


def cross_validated_accuracy(scores: np.ndarray, same: np.ndarray, folds: np.ndarray) -> dict[str, Any]:
    """Per held-out fold: threshold chosen on the other folds, accuracy on the held-out one.

    Returns ``{"mean", "sd", "per_fold", "thresholds", "folds"}``; ``sd`` is the sample standard
    deviation over folds (ddof=1; LFW papers often print the standard error, sd / sqrt(folds)).
    With a single fold cross-validation is impossible and ``mean`` is None.
    """
    folds = np.asarray(folds)
    ids = sorted(set(folds.tolist()))
    if len(ids) < 2:
        return {"mean": None, "sd": None, "per_fold": [], "thresholds": [], "folds": ids,
                "note": "cross-validation needs at least 2 folds"}
    accs, ths = [], []
    for f in ids:
        test = folds == f
        t, _ = best_threshold(scores[~test], same[~test])
        ths.append(t)
        accs.append(accuracy_at(scores[test], same[test], t))
    arr = np.array(accs)
    return {
        "mean": _round(arr.mean()),
        "sd": _round(arr.std(ddof=1)) if arr.size > 1 else None,
        "per_fold": [_round(a) for a in accs],
        "thresholds": [_round(t) for t in ths],
        "folds": ids,
    }


def tar_at_far(scores: np.ndarray, same: np.ndarray, far: float) -> dict[str, Any]:
    """True-accept rate at the threshold that accepts at most ``far`` x impostors.

    The threshold is set just above the (k+1)-th highest impostor score, k = floor(far x n), so
    at most k impostors pass. With n impostor pairs the smallest non-zero FAR is 1/n: when
    far < 1/n, k = 0 and the threshold is set by the single highest impostor score.
    """
    scores = np.asarray(scores, np.float64)
    same = np.asarray(same, bool)
    imp = np.sort(scores[~same])[::-1]
    gen = scores[same]
    if imp.size == 0 or gen.size == 0:
        return {"far_target": far, "threshold": None, "tar": None, "impostor_pairs": int(imp.size)}
    k = math.floor(far * imp.size)
    threshold = float(np.nextafter(imp[k], np.inf)) if k < imp.size else float(imp[-1])
    return {
        "far_target": far,
        "impostor_pairs": int(imp.size),
        "far_resolution": _round(1.0 / imp.size, 6),
        "impostors_allowed": k,
        "threshold": _round(threshold),
        "tar": _round(float(np.mean(gen >= threshold))),
        "far_observed": _round(float(np.mean(imp >= threshold)), 6),
    }


def _distribution(values: np.ndarray) -> dict[str, float | None]:
    if values.size == 0:
        return {}
    q = np.percentile(values, [0, 5, 50, 95, 100])
    return {"min": _round(q[0]), "p5": _round(q[1]), "median": _round(q[2]), "p95": _round(q[3]), "max": _round(q[4])}


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
    root = _check_dir(root, "LFW")
    path = root / "pairs.csv"
    rows = _open_csv(path, ("fold", "same", "img1", "img2"))
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
    for rel in _progress(relpaths, progress, desc):
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
        resized.fill(0)
        square.fill(0)


def _verification_block(scores: np.ndarray, same: np.ndarray, folds: np.ndarray, threshold: float) -> dict[str, Any]:
    pred = scores >= threshold
    return {
        "pairs": int(scores.size),
        "accuracy_cv": cross_validated_accuracy(scores, same, folds),
        "at_threshold": {
            "threshold": threshold,
            "accuracy": _round(accuracy_at(scores, same, threshold)),
            "tar": _round(float(np.mean(pred[same]))) if same.any() else None,
            "far": _round(float(np.mean(pred[~same])), 6) if (~same).any() else None,
            "false_rejects": int(np.sum(~pred & same)),
            "false_accepts": int(np.sum(pred & ~same)),
        },
        "scores": {"same": _distribution(scores[same]), "different": _distribution(scores[~same])},
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
        from kiosk.watchlist import load_calibration

        cal = load_calibration("sface")
    except KioskError:
        cal = None
    if cal is not None:
        rows = {}
        for rate in (1e-2, 1e-3, 1e-4):
            t = cal.threshold_for(rate)
            rows[rate_key(rate)] = {"threshold": _round(t), "tar": _round(float(np.mean(scores[same] >= t)))}
        result["tar_at_calibrated_fmr"] = {"calibration": cal.data, "impostor_pairs": cal.impostor_pairs, "rates": rows}
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


# --------------------------------------------------------------------------------------------
# WIDER FACE (official protocol, re-implemented)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WiderImage:
    """One image of the ground truth: boxes (N, 4) ``x, y, w, h`` and per-difficulty keep indices (0-based)."""

    path: str
    boxes_xywh: np.ndarray
    invalid: np.ndarray
    keep: dict[str, np.ndarray]


def parse_wider_gt(path: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Official ``wider_face_val_bbx_gt.txt``: image path, face count, then one line per face
    (``x y w h blur expression illumination invalid occlusion pose``). An image with 0 faces is
    followed by one placeholder line of zeros. Returns ``(path, boxes (N,4) float, invalid (N,) bool)``.
    """
    if not path.is_file():
        raise EvalDataError(f"{path}: missing (expected the official WIDER FACE ground-truth text file)")
    lines = [ln.strip() for ln in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    out = []
    i = 0
    while i < len(lines):
        if not lines[i]:
            i += 1
            continue
        name = lines[i]
        if i + 1 >= len(lines):
            raise EvalDataError(f"{path}:{i + 1}: image {name!r} has no face-count line")
        try:
            n = int(lines[i + 1])
        except ValueError:
            raise EvalDataError(f"{path}:{i + 2}: expected a face count after {name!r}, got {lines[i + 1]!r}") from None
        rows = []
        for j in range(n):
            k = i + 2 + j
            parts = lines[k].split() if k < len(lines) else []
            if len(parts) < 4:
                got = repr(lines[k]) if k < len(lines) else "end of file"
                raise EvalDataError(f"{path}:{k + 1}: expected 'x y w h ...' for face {j + 1} of {name!r}, got {got}")
            try:
                vals = [float(v) for v in parts[:10]]
            except ValueError:
                raise EvalDataError(f"{path}:{k + 1}: non-numeric face line {lines[k]!r}") from None
            rows.append(vals + [0.0] * (10 - len(vals)))
        # The official file follows a 0-face image with one placeholder line of zeros.
        body = n + (1 if n == 0 and i + 2 < len(lines) and _is_zero_row(lines[i + 2]) else 0)
        arr = np.array(rows, np.float64).reshape(-1, 10)
        out.append((name, arr[:, :4].copy(), arr[:, 7] > 0))
        i += 2 + body
    if not out:
        raise EvalDataError(f"{path}: no images in it")
    return out


def _is_zero_row(line: str) -> bool:
    parts = line.split()
    return len(parts) >= 4 and all(p.lstrip("-").replace(".", "", 1).isdigit() and float(p) == 0 for p in parts)


def load_widerface(root: Path) -> list[WiderImage]:
    """Ground truth and ``difficulty_keep.json`` (per image: 1-based indices kept for easy/medium/hard)."""
    root = _check_dir(root, "WIDER FACE")
    gt = parse_wider_gt(root / "wider_face_val_bbx_gt.txt")
    keep_path = root / "difficulty_keep.json"
    if not keep_path.is_file():
        raise EvalDataError(f"{keep_path}: missing (per image: {{'easy': [...], 'medium': [...], 'hard': [...]}}, 1-based)")
    try:
        keep_all = json.loads(keep_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EvalDataError(f"{keep_path}: not valid JSON ({exc})") from None
    if not isinstance(keep_all, dict):
        raise EvalDataError(f"{keep_path}: expected an object keyed by image path")
    images = []
    for name, boxes, invalid in gt:
        entry = keep_all.get(name)
        if not isinstance(entry, dict):
            raise EvalDataError(f"{keep_path}: no entry for {name!r}")
        keep = {}
        for level in ("easy", "medium", "hard"):
            idx = entry.get(level)
            if not isinstance(idx, list) or not all(isinstance(v, int) and 1 <= v <= len(boxes) for v in idx):
                raise EvalDataError(
                    f"{keep_path}: {name!r}.{level} must be a list of 1-based face indices within 1..{len(boxes)}"
                )
            keep[level] = np.array(sorted(set(idx)), np.intp) - 1
        if not (root / "images" / name).is_file():
            raise EvalDataError(f"{root / 'images' / name}: image listed in the ground truth not found")
        images.append(WiderImage(name, boxes, invalid, keep))
    return images


def bbox_overlaps(boxes: np.ndarray, query: np.ndarray) -> np.ndarray:
    """IoU of (N,4) ``x1 y1 x2 y2`` boxes against (K,4) ones, with the official +1-pixel convention."""
    b = np.asarray(boxes, np.float64)[:, None, :]
    q = np.asarray(query, np.float64)[None, :, :]
    iw = np.minimum(b[..., 2], q[..., 2]) - np.maximum(b[..., 0], q[..., 0]) + 1
    ih = np.minimum(b[..., 3], q[..., 3]) - np.maximum(b[..., 1], q[..., 1]) + 1
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    area_b = (b[..., 2] - b[..., 0] + 1) * (b[..., 3] - b[..., 1] + 1)
    area_q = (q[..., 2] - q[..., 0] + 1) * (q[..., 3] - q[..., 1] + 1)
    union = area_b + area_q - inter
    return np.where(inter > 0, inter / union, 0.0)


def image_eval(pred: np.ndarray, gt_xywh: np.ndarray, kept: np.ndarray, iou_thresh: float) -> tuple[np.ndarray, np.ndarray]:
    """The official per-image matching. ``pred`` (P, 5) ``x y w h score`` sorted by score, highest first.

    Each detection, in score order, goes to the ground-truth face it overlaps most. If that IoU
    is >= ``iou_thresh``: a face outside the keep list makes the detection *ignored* (neither
    true nor false positive: proposal flag -1); a kept face not yet found is recalled. Anything
    else (no overlap, or a second detection of a face already found) stays a proposal and so
    counts as a false positive. Returns (recalled kept faces after each detection, proposal flags).
    """
    p = pred[:, :4].copy()
    p[:, 2] += p[:, 0]
    p[:, 3] += p[:, 1]
    g = gt_xywh.copy()
    g[:, 2] += g[:, 0]
    g[:, 3] += g[:, 1]
    overlaps = bbox_overlaps(p, g)
    recall = np.zeros(g.shape[0])
    proposal = np.ones(p.shape[0])
    pred_recall = np.zeros(p.shape[0])
    for h in range(p.shape[0]):
        j = int(np.argmax(overlaps[h]))
        if overlaps[h, j] >= iou_thresh:
            if not kept[j]:
                recall[j] = -1
                proposal[h] = -1
            elif recall[j] == 0:
                recall[j] = 1
        pred_recall[h] = np.count_nonzero(recall == 1)
    return pred_recall, proposal


def img_pr_info(thresh_num: int, scores: np.ndarray, proposal: np.ndarray, pred_recall: np.ndarray) -> np.ndarray:
    """Per score level t = 1 - (i+1)/thresh_num: (proposals, recalled faces) among detections >= t."""
    info = np.zeros((thresh_num, 2))
    levels = 1.0 - (np.arange(thresh_num) + 1) / thresh_num
    # scores are sorted descending: the detections >= t are a prefix
    counts = np.searchsorted(-scores, -levels, side="right")
    prop_cum = np.cumsum(proposal == 1)
    nz = counts > 0
    info[nz, 0] = prop_cum[counts[nz] - 1]
    info[nz, 1] = pred_recall[counts[nz] - 1]
    return info


def voc_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """Area under the precision envelope (VOC style), as the official WIDER code computes it."""
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([0.0], precision, [0.0]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def widerface_ap(
    images: Sequence[WiderImage], preds: dict[str, np.ndarray], iou_thresh: float = 0.5, thresh_num: int = 1000
) -> dict[str, float]:
    """Official-protocol AP per difficulty. ``preds[path]``: (P, 5) ``x y w h score``.

    Scores are min-max normalised over the whole set (as the official code does), so any
    monotone score works. Images with no ground-truth face or no detection add only their
    kept-face count (as officially: their detections are not counted).
    """
    all_scores = [v[:, 4] for v in preds.values() if len(v)]
    if all_scores:
        cat = np.concatenate(all_scores)
        lo, hi = float(cat.min()), float(cat.max())
    else:
        lo, hi = 0.0, 1.0
    span = (hi - lo) or 1.0
    normed = {}
    for k, v in preds.items():
        if len(v) == 0:
            normed[k] = v
            continue
        v = v[np.argsort(-v[:, 4], kind="stable")].copy()
        v[:, 4] = (v[:, 4] - lo) / span
        normed[k] = v
    aps = {}
    for level in ("easy", "medium", "hard"):
        count_face = 0
        curve = np.zeros((thresh_num, 2))
        for img in images:
            kept_idx = img.keep[level]
            count_face += len(kept_idx)
            pred = normed.get(img.path, np.zeros((0, 5)))
            if len(img.boxes_xywh) == 0 or len(pred) == 0:
                continue
            kept = np.zeros(len(img.boxes_xywh), bool)
            kept[kept_idx] = True
            pred_recall, proposal = image_eval(pred, img.boxes_xywh, kept, iou_thresh)
            curve += img_pr_info(thresh_num, pred[:, 4], proposal, pred_recall)
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(curve[:, 0] > 0, curve[:, 1] / np.maximum(curve[:, 0], 1), 0.0)
        recall = curve[:, 1] / count_face if count_face else np.zeros(thresh_num)
        aps[level] = voc_ap(recall, precision) if count_face else float("nan")
    return aps


WIDTH_BINS_PX: tuple[float, ...] = (0.0, 16.0, 32.0, 64.0, 128.0, 256.0, math.inf)


def recall_by_width(
    images: Sequence[WiderImage],
    preds: dict[str, np.ndarray],
    score: float,
    bins_px: Sequence[float] = WIDTH_BINS_PX,
    iou_thresh: float = 0.5,
) -> list[dict[str, Any]]:
    """Recall of valid faces (those in the 'hard' keep list) per ground-truth width bin.

    A face is found when a detection scoring >= ``score`` has it as its best match with
    IoU >= ``iou_thresh`` (the official greedy matching, all faces kept).
    """
    found = np.zeros(len(bins_px) - 1, np.int64)
    total = np.zeros(len(bins_px) - 1, np.int64)
    for img in images:
        valid = np.zeros(len(img.boxes_xywh), bool)
        valid[img.keep["hard"]] = True
        if not valid.any():
            continue
        widths = img.boxes_xywh[:, 2]
        pred = preds.get(img.path, np.zeros((0, 5)))
        pred = pred[pred[:, 4] >= score] if len(pred) else pred
        hit = np.zeros(len(widths), bool)
        if len(pred):
            pred = pred[np.argsort(-pred[:, 4], kind="stable")]
            hit = _recalled_faces(pred, img.boxes_xywh, iou_thresh)
        b = np.digitize(widths, bins_px[1:-1])
        for i in range(len(total)):
            m = valid & (b == i)
            total[i] += int(m.sum())
            found[i] += int((m & hit).sum())
    out = []
    for i in range(len(total)):
        hi = bins_px[i + 1]
        label = f"{bins_px[i]:g}-{hi:g}" if math.isfinite(hi) else f">={bins_px[i]:g}"
        out.append({"width_px": label, "faces": int(total[i]), "found": int(found[i]),
                    "recall": _round(found[i] / total[i]) if total[i] else None})
    return out


def recall_of_large_faces(
    images: Sequence[WiderImage], preds: dict[str, np.ndarray], min_width_px: float, score: float, iou_thresh: float = 0.5
) -> dict[str, Any]:
    """Share of valid faces (in the 'hard' keep list) at least ``min_width_px`` wide that are found
    (see :func:`recall_by_width`)."""
    row = recall_by_width(images, preds, score, (0.0, min_width_px, math.inf), iou_thresh)[1]
    return {"min_width_px": min_width_px, "score_threshold": score, "faces": row["faces"], "found": row["found"],
            "recall": row["recall"]}


def _recalled_faces(pred: np.ndarray, gt_xywh: np.ndarray, iou_thresh: float) -> np.ndarray:
    p = pred[:, :4].copy()
    p[:, 2:] += p[:, :2]
    g = gt_xywh.copy()
    g[:, 2:] += g[:, :2]
    overlaps = bbox_overlaps(p, g)
    found = np.zeros(len(g), bool)
    for h in range(len(p)):
        j = int(np.argmax(overlaps[h]))
        if overlaps[h, j] >= iou_thresh:
            found[j] = True
    return found


def detect_widerface(root: Path, images: Sequence[WiderImage], detector: Any, progress: bool, desc: str) -> dict[str, np.ndarray]:
    """Run ``detector`` on every image: ``path -> (P, 5) x y w h score``."""
    preds = {}
    for img in _progress(images, progress, desc):
        image = read_image(Path(root) / "images" / img.path)
        dets = detector.detect(image)
        preds[img.path] = np.array(
            [[d.box_xyxy[0], d.box_xyxy[1], d.width_px, d.height_px, d.score] for d in dets], np.float64
        ).reshape(-1, 5)
    return preds


def evaluate_widerface(
    root: Path,
    models: EvalModels,
    det_score: float = 0.02,
    nms_iou: float = 0.45,
    top_k: int = 5000,
    operating_score: float = 0.75,
    min_width_px: float = 64.0,
    sweep_widths: Sequence[int] = (),
    progress: bool = False,
) -> dict[str, Any]:
    """WIDER FACE AP (official protocol) at native size, plus optional input-width sweep."""
    started = time.perf_counter()
    images = load_widerface(root)
    native = detect_widerface(root, images, models.detector(NATIVE_INPUT_WIDTH, det_score, nms_iou, top_k), progress, "wider")
    aps = widerface_ap(images, native)
    result: dict[str, Any] = {
        "dataset": "widerface",
        "root": str(root),
        "images": len(images),
        "faces": {
            "annotated": int(sum(len(i.boxes_xywh) for i in images)),
            **{lvl: int(sum(len(i.keep[lvl]) for i in images)) for lvl in ("easy", "medium", "hard")},
        },
        "protocol": "official WIDER FACE: IoU >= 0.5 (+1 px boxes), faces outside the difficulty's keep list ignored, "
                    "1000 levels of min-max normalised scores, VOC AP",
        "detector": {"input_width": "native", "score_threshold": det_score, "nms_iou_threshold": nms_iou, "top_k": top_k},
        "ap": {k: _round(v) for k, v in aps.items()},
        "recall_large_faces": {
            "at_operating_score": recall_of_large_faces(images, native, min_width_px, operating_score),
            "at_any_score": recall_of_large_faces(images, native, min_width_px, det_score),
        },
        "recall_by_width_at_operating_score": recall_by_width(images, native, operating_score),
        "detections": int(sum(len(v) for v in native.values())),
    }
    sweep = []
    for width in sweep_widths:
        preds = detect_widerface(root, images, models.detector(int(width), det_score, nms_iou, top_k), progress, f"wider@{width}")
        sweep.append({
            "input_width": int(width),
            "ap": {k: _round(v) for k, v in widerface_ap(images, preds).items()},
            "recall_large_faces_at_operating_score": recall_of_large_faces(images, preds, min_width_px, operating_score),
            "recall_by_width_at_operating_score": recall_by_width(images, preds, operating_score),
        })
    if sweep:
        result["input_width_sweep"] = sweep
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


# --------------------------------------------------------------------------------------------
# UTKFace: age and gender
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UtkRow:
    path: str
    age: int
    gender: str
    race: str


def load_utkface(root: Path) -> list[UtkRow]:
    root = _check_dir(root, "UTKFace")
    path = root / "labels.csv"
    rows = _open_csv(path, ("path", "age", "gender", "race"))
    out = []
    for line, row in enumerate(rows, start=2):
        try:
            age = int(row["age"])
        except (TypeError, ValueError):
            raise EvalDataError(f"{path}:{line}: age must be an integer, got {row['age']!r}") from None
        gender = (row["gender"] or "").strip().lower()
        if gender not in ("female", "male") or age < 0:
            raise EvalDataError(f"{path}:{line}: gender must be female or male and age >= 0, got {row['gender']!r}, {age}")
        if not (root / row["path"]).is_file():
            raise EvalDataError(f"{root / row['path']}: listed in {path} but not found")
        out.append(UtkRow(row["path"], age, gender, (row["race"] or "").strip() or "unknown"))
    return out


def age_band(age: float) -> str:
    for name, lo, hi in AGE_BANDS:
        if lo <= age <= hi:
            return name
    return AGE_BANDS[-1][0]


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion (sane for small n and proportions near 0 or 1)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def _group_stats(records: list[dict[str, Any]]) -> dict[str, Any]:
    """n, age MAE (+- standard error), mean signed error, interval coverage, gender accuracy (95 % CI)."""
    if not records:
        return {"n": 0}
    err = np.array([r["age_pred"] - r["age"] for r in records], np.float64)
    correct = np.array([r["gender_pred"] == r["gender"] for r in records])
    inside = np.array([r["age_low"] <= r["age"] <= r["age_high"] for r in records])
    lo, hi = wilson_interval(int(correct.sum()), len(records))
    return {
        "n": len(records),
        "age_mae": _round(float(np.abs(err).mean()), 2),
        "age_mae_se": _round(float(np.abs(err).std(ddof=1) / math.sqrt(err.size)), 2) if err.size > 1 else None,
        "age_bias": _round(float(err.mean()), 2),  # + : estimated older than labelled
        "age_in_interval": _round(float(inside.mean()), 3),
        "gender_accuracy": _round(float(correct.mean()), 3),
        "gender_accuracy_ci95": [_round(lo, 3), _round(hi, 3)],
    }


def utk_summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Overall and per gender / race / age band statistics of per-face records (adults: 20+)."""
    def by(key: Callable[[dict[str, Any]], str], subset: list[dict[str, Any]] = records) -> dict[str, Any]:
        groups: dict[str, list[dict[str, Any]]] = {}
        for r in subset:
            groups.setdefault(key(r), []).append(r)
        return {k: _group_stats(v) for k, v in sorted(groups.items())}

    band_order = [b[0] for b in AGE_BANDS]
    bands = by(lambda r: age_band(r["age"]))
    adults = [r for r in records if r["age"] >= 20]
    return {
        "overall": _group_stats(records),
        "by_gender": by(lambda r: r["gender"]),
        "by_race": by(lambda r: r["race"]),
        "by_age_band": {b: bands[b] for b in band_order if b in bands},
        "adults_20_plus": {
            "overall": _group_stats(adults),
            "by_gender": by(lambda r: r["gender"], adults),
            "by_race": by(lambda r: r["race"], adults),
        },
    }


def evaluate_utkface(
    root: Path,
    models: EvalModels,
    pad: float = 0.5,
    det_score: float = 0.75,
    progress: bool = False,
    estimator: Any = None,
) -> dict[str, Any]:
    """Age and gender through the kiosk's estimator on UTKFace crops padded by ``pad`` x size per side.

    UTKFace crops are tight (the face fills the 200x200 image); YuNet, trained on faces in
    scenes, misses or mislocates many of them unpadded, so each crop is padded with a black
    border first. Estimates go through
    ``kiosk.infer.age_gender.AgeGenderEstimator(age_session, gender_session).estimate(image, [landmarks])``.
    """
    started = time.perf_counter()
    rows = load_utkface(root)
    if estimator is None:
        try:
            from kiosk.infer.age_gender import AgeGenderEstimator
        except ImportError as exc:
            raise EvalDataError(f"the age/gender estimator is not available in this build ({exc})") from None
        estimator = AgeGenderEstimator(models.session("age"), models.session("gender"))
    detector = models.detector(NATIVE_INPUT_WIDTH, det_score, 0.3, 5000)
    fallback = LandmarkFallback()
    records: list[dict[str, Any]] = []
    pending: list[tuple[UtkRow, np.ndarray]] = []
    faces_per_image: dict[int, int] = {}
    for row in _progress(rows, progress, "utkface"):
        image = _pad(read_image(Path(root) / row.path), pad)
        h, w = image.shape[:2]
        dets = detector.detect(image)
        faces_per_image[len(dets)] = faces_per_image.get(len(dets), 0) + 1
        face = central_face(dets, w, h)
        if face is None:
            pending.append((row, image))
            continue
        fallback.add(face.landmarks_px, w, h)
        records.append(_utk_record(row, estimator, image, face.landmarks_px, detected=True))
    for row, image in pending:
        h, w = image.shape[:2]
        records.append(_utk_record(row, estimator, image, fallback.landmarks(w, h), detected=False))
    detected = [r for r in records if r["detected"]]
    result = {
        "dataset": "utkface",
        "root": str(root),
        "images": len(rows),
        "padding": f"{pad:g} x crop size of black border on each side before detecting",
        "detector": {"input_width": "native", "score_threshold": det_score, "face_choice": "nearest the image centre"},
        "faces_detected_per_image": {str(k): v for k, v in sorted(faces_per_image.items())},
        "detection_failures": {
            "images": len(pending),
            "fallback": f"median landmarks ({fallback.source})",
            "files": [r.path for r, _ in pending][:20],
        },
        "all_faces": utk_summary(records),
        "detected_only": utk_summary(detected),
        "age_bands": [b[0] for b in AGE_BANDS],
        "seconds": round(time.perf_counter() - started, 1),
    }
    return result


def _pad(image: np.ndarray, pad: float) -> np.ndarray:
    if pad <= 0:
        return image
    h, w = image.shape[:2]
    py, px = round(h * pad), round(w * pad)
    return cv2.copyMakeBorder(image, py, py, px, px, cv2.BORDER_CONSTANT, value=(0, 0, 0))


def _utk_record(row: UtkRow, estimator: Any, image: np.ndarray, landmarks: np.ndarray, detected: bool) -> dict[str, Any]:
    age, gender = estimator.estimate(image, [np.asarray(landmarks, np.float32)])[0]
    return {
        "path": row.path,
        "age": row.age,
        "gender": row.gender,
        "race": row.race,
        "age_pred": float(age.years),
        "age_low": float(age.low),
        "age_high": float(age.high),
        "gender_pred": str(gender.value).lower(),
        "detected": detected,
    }


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def _unit_interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be within 0..1, got {value}")
    return value


def _cosine(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not -1.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a cosine threshold must be within -1..1, got {value}")
    return value


def _widths(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if any(v < 32 for v in values):
        raise argparse.ArgumentTypeError("input widths must be >= 32")
    return values


def add_eval_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``eval {lfw,widerface,utkface,calibrate}`` to the kiosk's subparsers; returns the ``eval`` parser.

    The lead's ``kiosk/cli.py`` calls this and dispatches ``args.command == "eval"`` to :func:`main_eval`.
    """
    ev = subparsers.add_parser("eval", help="measure the kiosk's models on public datasets (JSON to stdout)")
    esub = ev.add_subparsers(dest="eval_command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--models-dir", type=Path, default=None, help="model folder (default: models/files)")
        p.add_argument("--threads", type=int, default=0, help="onnxruntime threads per model (0: one per core)")
        p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    lfw = esub.add_parser("lfw", help="LFW verification: CV accuracy, accuracy at a threshold, TAR at FAR")
    lfw.add_argument("--root", type=Path, required=True, help="folder with pairs.csv and the images it lists")
    lfw.add_argument("--threshold", type=_cosine, default=DEFAULT_LFW_THRESHOLD,
                     help="fixed cosine threshold to report accuracy at (default 0.363, OpenCV's)")
    lfw.add_argument("--det-score", type=_unit_interval, default=0.75, help="detector score threshold (kiosk default 0.75)")
    lfw.add_argument("--far", type=_unit_interval, default=1e-3, help="FAR for the TAR figure (default 1e-3)")
    lfw.add_argument("--align", choices=("arcface", "box"), default="arcface",
                     help="arcface: the kiosk's 5-point alignment (default); box: detector box resized, for comparison")
    common(lfw)

    wf = esub.add_parser("widerface", help="WIDER FACE AP (official protocol) and recall of large faces")
    wf.add_argument("--root", type=Path, required=True,
                    help="folder with wider_face_val_bbx_gt.txt, difficulty_keep.json and images/")
    wf.add_argument("--det-score", type=_unit_interval, default=0.02,
                    help="detector score threshold while tracing the PR curve (default 0.02)")
    wf.add_argument("--nms-iou", type=_unit_interval, default=0.45, help="NMS IoU (default 0.45, OpenCV Zoo's eval)")
    wf.add_argument("--top-k", type=int, default=5000, help="NMS top_k (default 5000)")
    wf.add_argument("--operating-score", type=_unit_interval, default=0.75,
                    help="score threshold for the large-face recall (the kiosk's default 0.75)")
    wf.add_argument("--min-face-px", type=float, default=64.0, help="'large face' width for the recall figure (default 64)")
    wf.add_argument("--sweep-widths", type=_widths, default=[], metavar="W1,W2,...",
                    help="also evaluate with the image shrunk to these input widths (e.g. 320,640)")
    common(wf)

    utk = esub.add_parser("utkface", help="UTKFace age MAE and gender accuracy, by gender, race and age band")
    utk.add_argument("--root", type=Path, required=True, help="folder with labels.csv and the images it lists")
    utk.add_argument("--pad", type=float, default=0.5, help="black border per side, as a fraction of the crop size (default 0.5)")
    utk.add_argument("--det-score", type=_unit_interval, default=0.75, help="detector score threshold (kiosk default 0.75)")
    common(utk)

    cal = esub.add_parser("calibrate", help="cosine thresholds for false-match rates from different-person pairs")
    cal.add_argument("--lfw-root", type=Path, required=True,
                     help="LFW folder: every image under <root>/lfw/<identity>/ is used (identity = folder name)")
    cal.add_argument("--portraits", type=Path, default=None,
                     help="optional portrait folder (metadata.csv path,name; identity = name)")
    cal.add_argument("--extra-impostors", type=Path, action="append", default=[], metavar="CSV",
                     help="more different-person images: an images.csv (path,person; paths relative to its "
                          "folder) or its folder, e.g. ../shared/evaldata/lfw_calib; may be repeated")
    cal.add_argument("--det-score", type=_unit_interval, default=0.75, help="detector score threshold (kiosk default 0.75)")
    cal.add_argument("--bootstrap", type=int, default=200, help="identity bootstrap resamples for the intervals (default 200)")
    cal.add_argument("--write-manifest", nargs="?", type=Path, const=Path("-default-"), default=None, metavar="PATH",
                     help="store the result as calibration.sface in models/manifest.yaml (or PATH)")
    common(cal)
    from kiosk.eval_watchlist import add_parser as _add_watchlist

    _add_watchlist(esub, common)
    from kiosk.eval_demographics import add_parser as _add_demographics

    _add_demographics(esub, common)
    return ev


def run_eval(args: argparse.Namespace) -> dict[str, Any]:
    """Run the evaluation ``args.eval_command`` describes; the JSON-ready result."""
    if getattr(args, "threads", 0) < 0:
        raise EvalDataError(f"--threads must be >= 0, got {args.threads}")
    models = EvalModels(models_dir=getattr(args, "models_dir", None), threads=getattr(args, "threads", 0))
    progress = not getattr(args, "no_progress", False)
    cmd = args.eval_command
    if cmd == "lfw":
        return evaluate_lfw(args.root, models, threshold=args.threshold, det_score=args.det_score, far=args.far,
                            progress=progress, align=args.align)
    if cmd == "widerface":
        return evaluate_widerface(args.root, models, det_score=args.det_score, nms_iou=args.nms_iou, top_k=args.top_k,
                                  operating_score=args.operating_score, min_width_px=args.min_face_px,
                                  sweep_widths=args.sweep_widths, progress=progress)
    if cmd == "utkface":
        return evaluate_utkface(args.root, models, pad=args.pad, det_score=args.det_score, progress=progress)
    if cmd == "calibrate":
        from kiosk.calibration import calibrate, write_manifest_calibration

        result = calibrate(args.lfw_root, args.portraits, models, det_score=args.det_score,
                           bootstrap=args.bootstrap, progress=progress, extra_lists=args.extra_impostors)
        if args.write_manifest is not None:
            target = None if str(args.write_manifest) == "-default-" else args.write_manifest
            result["manifest"] = str(write_manifest_calibration(result, target))
        return result
    if cmd == "watchlist":
        from kiosk.eval_watchlist import run as run_watchlist

        return run_watchlist(args, models, progress)
    if cmd == "demographics":
        from kiosk.eval_demographics import run as run_demographics

        return run_demographics(args, models, progress)
    raise EvalDataError(f"unknown eval command {cmd!r}")


def main_eval(args: argparse.Namespace | Sequence[str]) -> int:
    """``kiosk eval ...``: print the result JSON to stdout; 0 ok, 2 bad dataset folder or model.

    Accepts the parsed namespace from the kiosk's CLI (see :func:`add_eval_parser`) or an argv
    list such as ``["lfw", "--root", "DIR"]`` (for tests and ``python -m kiosk.evaluate``).
    """
    if not isinstance(args, argparse.Namespace):
        parser = argparse.ArgumentParser(prog="kiosk")
        add_eval_parser(parser.add_subparsers(dest="command", required=True))
        args = parser.parse_args(["eval", *args])
    try:
        result = run_eval(args)
    except KioskError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return exc.exit_code
    if getattr(args, "eval_command", "") == "watchlist" and not getattr(args, "json", False):
        from kiosk.eval_watchlist import summary

        print(summary(result))
        return EXIT_OK
    print(json.dumps(result, indent=2))
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    sys.exit(main_eval(sys.argv[1:]))
