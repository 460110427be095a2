"""The watchlist lesson: search a visitor against a folder of portraits, and say how often that lies.

The operator points the kiosk at a folder of portraits (for example public-domain official
portraits). At start-up every portrait is embedded once (the largest face in each image, the
same detect -> align -> SFace path as the live pipeline) into a (M, 128) float32 matrix held in
RAM only; nothing is written anywhere, and :meth:`Watchlist.close` zeroes the matrix.

A search returns the top-k portraits by cosine similarity and whether each passes the chosen
threshold. Whatever the threshold, every "match" of a visitor is a *false* match (visitors are
not in the gallery), and how many to expect is the lesson: expected false matches per search =
false-match rate (FMR) at the threshold x gallery size. The FMR comes from the calibration that
``kiosk eval calibrate`` measures on tens of thousands to millions of different-person pairs and
stores in ``models/manifest.yaml`` (``calibration: sface: fmr_thresholds``); see
``docs/ACCURACY.md``. This is the ACLU's 2018 mechanism: 535 members of Congress searched against
25,000 mugshots at Amazon Rekognition's default 80 % similarity gave 28 false matches.

Scores are SFace cosines (-1..1), not Rekognition's "similarity %" (an undocumented 0-100 scale
of a different model): the two cannot be converted into each other. :func:`similarity_percent`
exists only to display a cosine on a 0-100 scale and says so.
"""
from __future__ import annotations

import csv
import hashlib
import io
import time
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kiosk.detect.align import align_face
from kiosk.config.source_spec import IMAGE_SUFFIXES  # the one list of image endings (case-insensitive)
from kiosk.safe_input import decode_image, read_regular
from kiosk.errors import WatchlistError
from kiosk.track.fmr_calibration import FmrCalibration
from kiosk.privacy.policy import wipe
from kiosk.types import Detection, WatchlistMatch

log = logging.getLogger(__name__)

#: Optional name table in the portrait folder: columns ``path`` (relative to the folder) and ``name``.
METADATA_FILE = "metadata.csv"

# Detector settings for portraits (see :func:`portrait_detector`).
PORTRAIT_INPUT_WIDTH = 640
PORTRAIT_SCORE_THRESHOLD = 0.6


# --------------------------------------------------------------------------------------------
# Embedding portraits
# --------------------------------------------------------------------------------------------


def largest_face(detections: Sequence[Detection]) -> Detection | None:
    """The detection with the largest box area (portraits: the sitter, not a face in the background)."""
    if not detections:
        return None
    return max(detections, key=lambda d: d.width_px * d.height_px)


def embed_detection(image_bgr: np.ndarray, detection: Detection, embedder: Any) -> np.ndarray:
    """One (D,) unit embedding of ``detection`` in ``image_bgr``: align, embed, erase the crop.

    The kiosk's own path (``align_face`` onto the ArcFace template, then ``SFaceEmbedder``).
    """
    return embed_landmarks(image_bgr, detection.landmarks_px, embedder)


def embed_landmarks(image_bgr: np.ndarray, landmarks_px: np.ndarray, embedder: Any) -> np.ndarray:
    """Like :func:`embed_detection` from 5 landmarks (e.g. a fallback geometry)."""
    crop = align_face(image_bgr, landmarks_px)
    try:
        return np.asarray(embedder.embed([crop])[0], dtype=np.float32)
    finally:
        wipe(crop)


def portrait_detector(session: Any) -> Any:
    """A YuNet detector with settings for portraits rather than the live camera.

    Width 640 (portraits are sharp; shrinking them to the camera's 320 would cost landmark
    precision for nothing: this runs once per portrait at start-up), score 0.6 (a clear frontal
    face scores > 0.9; 0.6 still finds a face in a dim or small portrait), no minimum size.
    """
    from kiosk.detect.yunet import YuNetDetector

    return YuNetDetector(session, PORTRAIT_INPUT_WIDTH, PORTRAIT_SCORE_THRESHOLD, 0.3, 50, 0)


def _read_metadata(folder: Path) -> dict[str, str]:
    """``relative posix path -> name`` from ``folder/metadata.csv`` (empty if there is none)."""
    path = folder / METADATA_FILE
    if not path.exists():
        return {}
    try:
        text = read_regular(path, 4 * 1024 * 1024, "the watchlist's metadata.csv").decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WatchlistError(f"{path}: cannot read it ({exc})") from None
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        fields = reader.fieldnames or []
        missing = [c for c in ("path", "name") if c not in fields]
        if missing:
            raise WatchlistError(
                f"{path}: missing column(s) {', '.join(missing)}; expected a header with at least "
                f"'path,name' (got {','.join(fields) or 'nothing'})"
            )
        out: dict[str, str] = {}
        for line, row in enumerate(reader, start=2):
            rel, name = (row.get("path") or "").strip(), (row.get("name") or "").strip()
            if not rel or not name:
                raise WatchlistError(f"{path}:{line}: empty path or name")
            out[Path(rel).as_posix()] = name
        return out
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise WatchlistError(f"{path}: cannot read it ({exc})") from None


def _name_from_stem(path: Path) -> str:
    return path.stem.replace("_", " ").strip() or path.name


def list_portraits(folder: Path) -> list[tuple[Path, str]]:
    """(image path, display name) for every image under ``folder`` (recursive, in name order).

    Names come from ``folder/metadata.csv`` (``path`` relative to ``folder``) where listed, else
    from the file stem with underscores as spaces (``Sally_Ride.jpg`` -> "Sally Ride").
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise WatchlistError(f"{folder}: portrait folder not found (watchlist.dir); point it at a folder of face images")
    names = _read_metadata(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise WatchlistError(
            f"{folder}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) found in it or its subfolders"
        )
    out = []
    for p in files:
        rel = p.relative_to(folder).as_posix()
        out.append((p, names.get(rel) or _name_from_stem(p)))
    return out


# --------------------------------------------------------------------------------------------
# The watchlist
# --------------------------------------------------------------------------------------------


class Watchlist:
    """Portrait embeddings in RAM, searched by cosine; false-match rates from the calibration.

    ``Watchlist(names, embeddings)`` **takes ownership** of ``embeddings`` ((M, D) float32,
    C-contiguous: used as is, rows normalised in place; any other dtype/layout is copied, and the
    caller then wipes its own array). :meth:`close` zeroes the matrix. Names may repeat (several
    portraits of one person are separate entries).

    Not thread-safe for ``close`` against ``search``: the inference thread owns it.
    """

    def __init__(
        self,
        names: Sequence[str],
        embeddings: np.ndarray,
        calibration: FmrCalibration | None = None,
        skipped: Iterable[str] = (),
    ) -> None:
        matrix = np.ascontiguousarray(embeddings, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(names):
            raise ValueError(f"embeddings must be (len(names)={len(names)}, D), got {matrix.shape}")
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        matrix /= np.maximum(norms, np.float32(1e-12))
        self._matrix: np.ndarray = matrix
        self.names: tuple[str, ...] = tuple(names)
        self.calibration = calibration
        #: Images (paths relative to the folder) in which no face was found, or that could not be read.
        self.skipped: tuple[str, ...] = tuple(skipped)
        self.closed = False

    @property
    def size(self) -> int:
        """Number of portraits (the gallery size of the lesson)."""
        return len(self.names)

    @property
    def dim(self) -> int:
        return int(self._matrix.shape[1])

    @classmethod
    def from_folder(
        cls,
        folder: Path,
        detector: Any,
        embedder: Any,
        calibration: FmrCalibration | None = None,
        progress: bool = False,
    ) -> Watchlist:
        """Embed the largest face of every image under ``folder`` (see :func:`list_portraits`).

        Images without a face (or unreadable) are skipped with a warning naming the file and are
        listed in :attr:`skipped`. Raises :class:`WatchlistError` if the folder is missing, holds no
        images, or no face was found in any of them. ``detector``: e.g. :func:`portrait_detector`;
        ``embedder``: the pipeline's ``SFaceEmbedder`` (shared; start-up only).

        Cost: one detection + one embedding per portrait: 134 NASA portraits took 7.4 s at 1
        onnxruntime thread on the 2-core development PC (start-up only).
        """
        folder = Path(folder)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(list_portraits(folder)), desc="watchlist", unit="img")
        names, _rels, matrix, report = embed_folder(
            folder, detector, embedder, (lambda done, _total: bar.update(done - bar.n)) if bar else None)
        if bar is not None:
            bar.close()
        if matrix is None:
            raise WatchlistError(f"{folder}: no face found in any of its {report.total} image(s)")
        if report.skipped:
            log.warning("watchlist: %d of %d image(s) skipped", len(report.skipped), report.total)
        log.info("watchlist: %d portrait(s) from %s", len(names), folder)
        return cls(names, matrix, calibration=calibration, skipped=[rel for rel, _ in report.skipped])

    def search(self, embedding: np.ndarray, threshold: float, k: int) -> tuple[WatchlistMatch, ...]:
        """The ``k`` portraits most similar to ``embedding`` (cosine, highest first).

        ``passes`` is ``score >= threshold``. ``k`` larger than the gallery returns all of it;
        ``k < 1`` raises ValueError. ``embedding`` need not be unit length. Cost: one (M, D)
        matrix-vector product and a partial sort: ~0.09 ms for 134 portraits, ~4.3 ms for 25,000
        (measured on the 2-core development PC).
        """
        if self.closed:
            raise RuntimeError("watchlist is closed (its embeddings were erased)")
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        e = np.asarray(embedding, dtype=np.float32).reshape(-1)
        if e.shape[0] != self.dim:
            raise ValueError(f"embedding must have {self.dim} values, got {e.shape[0]}")
        norm = float(np.linalg.norm(e))
        if norm == 0.0 or self.size == 0:
            return ()
        scores = self._matrix @ (e / norm)
        k = min(k, self.size)
        # argpartition is O(M) for the top k; only those k are sorted. Ties: lower index first.
        top = np.argpartition(-scores, k - 1)[:k] if k < self.size else np.arange(self.size)
        top = top[np.lexsort((top, -scores[top]))]
        return tuple(
            WatchlistMatch(name=self.names[i], score=float(scores[i]), passes=bool(scores[i] >= threshold))
            for i in top
        )

    def false_match_rate(self, threshold: float) -> float:
        """Calibrated probability that one visitor-vs-portrait comparison passes ``threshold``.

        Raises RuntimeError when no calibration was loaded (``kiosk eval calibrate`` writes it).
        """
        if self.calibration is None:
            raise RuntimeError("no false-match calibration loaded (models/manifest.yaml calibration.sface)")
        return self.calibration.false_match_rate(threshold)

    def expected_false_matches(self, threshold: float, gallery_size: int | None = None, probes: int = 1) -> float:
        """False-match rate x gallery size (x number of people searched).

        ``gallery_size`` defaults to this watchlist's size. Example (the ACLU's test): 535 probes
        against a 25,000-photo gallery make 13.4 million comparisons; at a threshold with a rate
        of 1e-4 that is ~1,300 false matches, 2.5 per member of Congress.
        """
        size = self.size if gallery_size is None else int(gallery_size)
        if size < 0 or probes < 0:
            raise ValueError(f"gallery_size and probes must be >= 0, got {size} and {probes}")
        return self.false_match_rate(threshold) * size * probes

    def close(self) -> None:
        """Zero the embedding matrix in place; the watchlist cannot be searched afterwards."""
        wipe(self._matrix)
        self.closed = True

    def __enter__(self) -> Watchlist:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------------------------
# Reading a folder safely (see kiosk.track.watchlist_load for the start-up path)
# --------------------------------------------------------------------------------------------

MAX_PIXELS = 40_000_000
"""Largest image accepted (width x height from the header): 40 MP is a 7,700 x 5,200 photo; an
official portrait is under 5 MP. A decoded 40 MP image is 120 MB of BGR."""
MAX_FILE_BYTES = 50_000_000


@dataclass
class LoadReport:
    """What happened to each file of the folder: loaded, or skipped with a reason."""

    folder: Path
    total: int = 0
    loaded: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (relative path, reason)
    from_cache: bool = False
    seconds: float = 0.0

    def skip(self, rel: str, reason: str) -> None:
        self.skipped.append((rel, reason))
        log.warning("watchlist: %s skipped: %s", rel, reason)


def image_header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from an image's header without decoding its pixels, or None if unreadable."""
    try:
        from PIL import Image  # Pillow reads headers lazily: .size needs no pixel data

        Image.MAX_IMAGE_PIXELS = None  # we apply our own limit, with our own message
        with Image.open(io.BytesIO(data)) as im:
            return int(im.size[0]), int(im.size[1])
    except Exception:  # noqa: BLE001 - any header Pillow cannot parse counts as unreadable
        return None


def read_portrait(path: Path) -> tuple[np.ndarray | None, bytes, str | None]:
    """``(image BGR or None, file bytes, reason it was refused or None)``; see the module docstring."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        return None, b"", f"cannot read it ({exc.strerror or exc})"
    if size == 0:
        return None, b"", "empty file (0 bytes)"
    if size > MAX_FILE_BYTES:
        return None, b"", f"too large ({size:,} bytes; at most {MAX_FILE_BYTES:,})"
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, b"", f"cannot read it ({exc.strerror or exc})"
    wh = image_header_size(data)
    if wh is None:
        return None, data, "not a readable image (no image header recognised)"
    if wh[0] * wh[1] > MAX_PIXELS:
        return None, data, (f"too many pixels ({wh[0]} x {wh[1]} declared in its header; at most "
                            f"{MAX_PIXELS:,}): possibly a decompression bomb, not decoded")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.ndim != 3 or min(image.shape[:2]) < 8:
        return None, data, "not a readable image (decoding failed)"
    return image, data, None


def embed_folder(folder: Path, detector: Any, embedder: Any,
                 progress: Callable[[int, int], None] | None = None,
                 ) -> tuple[list[str], list[str], np.ndarray | None, LoadReport]:
    """Embed the largest face of every acceptable image: ``(names, relative paths, (M, D) matrix
    or None, report)``. Every refusal is logged once, naming the file and the reason."""
    started = time.perf_counter()
    folder = Path(folder)
    entries = list_portraits(folder)
    report = LoadReport(folder=folder, total=len(entries))
    seen: dict[str, str] = {}
    names: list[str] = []
    rels: list[str] = []
    rows: list[np.ndarray] = []
    for i, (path, name) in enumerate(entries):
        rel = path.relative_to(folder).as_posix()
        image, data, reason = read_portrait(path)
        if data:
            digest = hashlib.sha256(data).hexdigest()
            if reason is None and digest in seen:
                reason = f"duplicate of {seen[digest]} (identical file)"
            seen.setdefault(digest, rel)
        if reason is not None or image is None:
            report.skip(rel, reason or "not a readable image")
        else:
            try:
                face = largest_face(detector.detect(image))
                if face is None:
                    report.skip(rel, "no face found")
                else:
                    rows.append(embed_detection(image, face, embedder))
                    names.append(name)
                    rels.append(rel)
            finally:
                wipe(image)
        if progress is not None:
            progress(i + 1, len(entries))
    report.loaded = len(rows)
    report.seconds = time.perf_counter() - started
    matrix = np.stack(rows).astype(np.float32) if rows else None
    for row in rows:
        wipe(row)
    return names, rels, matrix, report
