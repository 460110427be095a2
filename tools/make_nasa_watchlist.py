#!/usr/bin/env python3
"""Make the kiosk's default watchlist (assets/watchlist/nasa/) from the official NASA portraits.

    .venv/bin/python tools/make_nasa_watchlist.py --src ../shared/evaldata/portraits_nasa \
        [--out assets/watchlist/nasa] [--size 160]

Input: a folder with ``metadata.csv`` (``path,name,agency[,gender]``) and the portraits it lists
(official NASA astronaut portraits: US-government works, public domain). Output: one
``SIZE x SIZE`` JPEG face crop per portrait, ``metadata.csv`` (``path,name,agency,source``) and
nothing else; the README beside them is written by hand.

Each crop is what the lesson needs and no more: a square around the largest face the kiosk's
own portrait detector finds (``kiosk.watchlist.portrait_detector``), ``CROP_FACES`` face heights
wide, centred a little above the face centre so the hair and chin fit, replicated at the image
border where the square leaves the photo. At 160 px the face is about 90 px wide, enough for
the 112 px SFace crop (the eyes are ~35 px apart in SFace's template, ~30 px here) and for a
thumbnail. ``--check`` then embeds crop and original and prints their cosine: the crops
must embed like the originals (reported in the README).

Deterministic: the same inputs give the same files (sorted order, fixed JPEG settings).
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CROP_FACES = 1.8  # crop side in face-box heights
UP_SHIFT = 0.08  # crop centre above the face-box centre, in face heights
JPEG_QUALITY = 90


def face_crop(image: np.ndarray, box_xyxy: tuple[float, float, float, float], size: int) -> np.ndarray:
    x1, y1, x2, y2 = box_xyxy
    fh = max(y2 - y1, x2 - x1)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2 - UP_SHIFT * fh
    side = CROP_FACES * fh
    scale = size / side
    # An affine warp crops, scales and pads (border replicate) in one step.
    m = np.array([[scale, 0, size / 2 - scale * cx], [0, scale, size / 2 - scale * cy]], dtype=np.float64)
    return cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", type=Path, required=True, help="folder with metadata.csv and the portraits")
    ap.add_argument("--out", type=Path, default=Path("assets/watchlist/nasa"))
    ap.add_argument("--size", type=int, default=160)
    ap.add_argument("--check", action="store_true", help="embed crop and original, print their cosines")
    args = ap.parse_args(argv)

    from kiosk.eval.common import EvalModels
    from kiosk.track.watchlist import embed_detection, largest_face, portrait_detector

    models = EvalModels(threads=1)
    detector = portrait_detector(models.session("yunet"))
    embedder = models.embedder() if args.check else None
    with (args.src / "metadata.csv").open(newline="", encoding="utf-8") as fh:
        rows = sorted(csv.DictReader(fh), key=lambda r: r["path"])
    (args.out / "images").mkdir(parents=True, exist_ok=True)
    out_rows, cosines = [], []
    for row in rows:
        src = args.src / row["path"]
        image = cv2.imread(str(src), cv2.IMREAD_COLOR)
        face = largest_face(detector.detect(image)) if image is not None else None
        if face is None:
            print(f"{src}: no face found; left out", file=sys.stderr)
            continue
        crop = face_crop(image, face.box_xyxy, args.size)
        rel = f"images/{Path(row['path']).stem}.jpg"
        ok = cv2.imwrite(str(args.out / rel), crop, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY,
                                                     cv2.IMWRITE_JPEG_OPTIMIZE, 1])
        if not ok:
            raise SystemExit(f"cannot write {args.out / rel}")
        out_rows.append({"path": rel, "name": row["name"].strip(), "agency": row["agency"].strip(),
                         "source": "official NASA astronaut portrait"})
        if embedder is not None:
            back = cv2.imread(str(args.out / rel))
            f2 = largest_face(detector.detect(back))
            if f2 is None:
                print(f"{rel}: crop has no detectable face", file=sys.stderr)
                cosines.append(float("nan"))
                continue
            a = embed_detection(image, face, embedder)
            b = embed_detection(back, f2, embedder)
            cosines.append(float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b))))
    with (args.out / "metadata.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=["path", "name", "agency", "source"], lineterminator="\n")
        w.writeheader()
        w.writerows(out_rows)
    total = sum((args.out / r["path"]).stat().st_size for r in out_rows)
    print(f"{len(out_rows)} of {len(rows)} portraits -> {args.out} ({total / 1e6:.2f} MB)")
    if cosines:
        c = np.array(cosines)
        print(f"crop vs original cosine: min {np.nanmin(c):.3f}, median {np.nanmedian(c):.3f}, "
              f"undetected {int(np.isnan(c).sum())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
