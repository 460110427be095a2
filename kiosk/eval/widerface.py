"""``kiosk eval widerface``: AP on easy / medium / hard with the official WIDER FACE protocol.

Re-implemented from the official evaluation code: IoU 0.5 with the +1-pixel box convention,
faces outside the difficulty's keep list ignored, 1000 score levels after min-max
normalisation; and recall of faces >= 64 px wide at the kiosk's operating score, optionally
over several input widths.
"""
from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
import numpy as np
from kiosk.eval.common import EvalDataError, EvalModels, NATIVE_INPUT_WIDTH, check_dir, progress_bar, json_round, read_image


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
    root = check_dir(root, "WIDER FACE")
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
                    "recall": json_round(found[i] / total[i]) if total[i] else None})
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
    for img in progress_bar(images, progress, desc):
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
        "ap": {k: json_round(v) for k, v in aps.items()},
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
            "ap": {k: json_round(v) for k, v in widerface_ap(images, preds).items()},
            "recall_large_faces_at_operating_score": recall_of_large_faces(images, preds, min_width_px, operating_score),
            "recall_by_width_at_operating_score": recall_by_width(images, preds, operating_score),
        })
    if sweep:
        result["input_width_sweep"] = sweep
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


