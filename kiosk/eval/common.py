"""Shared plumbing of ``kiosk eval``: models, image reading, face choice, fallback geometry.

Face choice: LFW and UTKFace name the person in the *centre* of the image, so the detection whose
box centre is nearest the image centre is used (the kiosk analyses every face; here only one is
labelled). An image where nothing is detected falls back to the median landmark positions of the
faces detected in the same run (relative to the image size), the "centre crop" fallback LFW
protocols use for their few detector misses; results are reported with the fallback and on the
detected-only subset.
"""
from __future__ import annotations

import csv
import logging
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
import cv2
import numpy as np
from kiosk.detect.align import ARCFACE_112
from kiosk.errors import EXIT_USAGE, KioskError
from kiosk.types import SAME_PERSON_COSINE, Detection



log = logging.getLogger(__name__)

#: OpenCV's published same-person cosine threshold for SFace (the kiosk's default).
DEFAULT_LFW_THRESHOLD = SAME_PERSON_COSINE
#: Detector width large enough never to shrink an evaluation image ("native size").
NATIVE_INPUT_WIDTH = 8192


class EvalDataError(KioskError):
    """The dataset folder is missing or not in the expected format (exit code 2)."""

    exit_code = EXIT_USAGE

# --------------------------------------------------------------------------------------------
# Shared plumbing: models, image reading, face choice, fallback geometry
# --------------------------------------------------------------------------------------------


def progress_bar(items: Iterable[Any], enabled: bool, desc: str, total: int | None = None) -> Iterable[Any]:
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


def check_dir(root: Path, what: str) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise EvalDataError(f"{root}: {what} folder not found")
    return root


def open_csv(path: Path, required: Sequence[str]) -> list[dict[str, str]]:
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


def json_round(value: float | None, digits: int = 4) -> float | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return round(float(value), digits)


