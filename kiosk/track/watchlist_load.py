"""Loading a watchlist folder safely and fast: bad files skipped with a reason, embeddings cached.

Two jobs, both about start-up:

**Bad input.** An operator's folder may hold anything. Each file is checked before it is decoded
and skipped with exactly one log line naming the file and why:

- ``empty file`` (zero bytes);
- ``too large`` (more than :data:`MAX_FILE_BYTES` on disk) or ``too many pixels`` (the header
  declares more than :data:`MAX_PIXELS`: a decompression bomb, a few KB that would inflate to
  gigabytes, is refused from its header, before any pixel is decoded);
- ``not a readable image`` (no header Pillow understands, or OpenCV cannot decode it);
- ``duplicate of <other file>`` (byte-identical to an earlier file: one person would otherwise
  count twice in the gallery size, and every "expected false matches" figure with it);
- ``no face found``.

A portrait with several faces uses the largest (the sitter, not a face in the background).
:class:`LoadReport` keeps the counts, which the lesson shows ("134 portraits loaded").

**Start-up time.** Embedding 134 portraits costs ~4 s on the 2-core development PC, more than
the 3 s the kiosk allows before its first frame. Portrait embeddings are derived public data
(public-domain portraits through a public model), so ``kiosk models fetch`` (and ``make
setup``) computes them once into ``<models_dir>/watchlist/<key>.npz``, where ``key`` is the
sha256 of everything they depend on: the YuNet and SFace files' sha256, the detector settings,
and every image's relative path, display name and content sha256. At start-up the kiosk hashes
the folder (~10 ms for 134 crops), and loads the file only if its key matches and the sha256 of
its embeddings matches the one stored inside; any mismatch means "embed again", never "use a
stale file". Without a valid file the kiosk starts anyway and embeds in a background thread
while the mirror already runs (:class:`BackgroundLoader`); the lesson says "loading" meanwhile.
The kiosk itself never writes the file (in strict mode nothing is written after start-up).
"""
from __future__ import annotations

import csv
import hashlib
import io
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kiosk.errors import WatchlistError
from kiosk.privacy.policy import wipe
from kiosk.track.fmr_calibration import FmrCalibration
from kiosk.track.watchlist import (  # noqa: F401  (re-exported: the loading API lives here)
    MAX_FILE_BYTES,
    MAX_PIXELS,
    LoadReport,
    embed_folder,
    image_header_size,
    read_portrait,
    PORTRAIT_INPUT_WIDTH,
    PORTRAIT_SCORE_THRESHOLD,
    Watchlist,
    embed_detection,
    largest_face,
    list_portraits,
)

log = logging.getLogger(__name__)

CACHE_SUBDIR = "watchlist"
CACHE_FORMAT = 1


# --------------------------------------------------------------------------------------------
# The derived embeddings file
# --------------------------------------------------------------------------------------------


def folder_key(folder: Path, model_sha256: Sequence[str]) -> str:
    """sha256 of everything the portrait embeddings depend on (see the module docstring)."""
    h = hashlib.sha256()
    h.update(f"format {CACHE_FORMAT}; detector {PORTRAIT_INPUT_WIDTH} {PORTRAIT_SCORE_THRESHOLD}\n".encode())
    for sha in model_sha256:
        h.update(f"model {sha}\n".encode())
    for path, name in list_portraits(folder):
        rel = path.relative_to(folder).as_posix()
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            digest = "unreadable"
        h.update(f"{rel}\t{name}\t{digest}\n".encode())
    return h.hexdigest()


def cache_file(models_dir: Path, key: str) -> Path:
    return Path(models_dir) / CACHE_SUBDIR / f"{key[:32]}.npz"


def _matrix_sha256(matrix: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(matrix, dtype=np.float32).tobytes()).hexdigest()


def write_cache(models_dir: Path, key: str, names: Sequence[str], rels: Sequence[str], matrix: np.ndarray,
                report: LoadReport) -> Path:
    """Store the embeddings with their key and sha256 (``kiosk models fetch`` only, never at run time)."""
    target = cache_file(models_dir, key)
    target.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez(buf, key=np.array(key), names=np.array(list(names)), rels=np.array(list(rels)),
             embeddings=np.ascontiguousarray(matrix, dtype=np.float32), sha256=np.array(_matrix_sha256(matrix)),
             skipped=np.array([f"{r}\t{why}" for r, why in report.skipped] or [""]),
             total=np.array(report.total))
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(target)
    return target


def load_cache(models_dir: Path, key: str) -> tuple[list[str], np.ndarray, LoadReport] | None:
    """``(names, matrix, report)`` from a valid derived file for ``key``, else None (logged)."""
    path = cache_file(models_dir, key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            stored_key, sha = str(z["key"]), str(z["sha256"])
            matrix = np.array(z["embeddings"], dtype=np.float32)
            names = [str(n) for n in z["names"]]
            skipped = [tuple(s.split("\t", 1)) for s in (str(x) for x in z["skipped"]) if s]
            total = int(z["total"])
    except Exception as exc:  # noqa: BLE001 - a damaged file is re-derived, not trusted
        log.warning("watchlist embeddings %s unreadable (%s); embedding the portraits again", path, exc)
        return None
    if stored_key != key or sha != _matrix_sha256(matrix) or matrix.shape[0] != len(names):
        log.warning("watchlist embeddings %s do not match the portraits or fail their sha256; "
                    "embedding again (re-run `kiosk models fetch` to store them)", path)
        return None
    report = LoadReport(folder=Path(), total=total, loaded=len(names),
                        skipped=[(s[0], s[1] if len(s) > 1 else "") for s in skipped], from_cache=True)
    return names, matrix, report


# --------------------------------------------------------------------------------------------
# Start-up
# --------------------------------------------------------------------------------------------


class _Cancelled(Exception):
    """Raised between two portraits once :meth:`BackgroundLoader.close` was called."""


class BackgroundLoader:
    """The watchlist, ready now (valid derived file) or embedded in a thread while the kiosk runs.

    ``on_ready(watchlist)`` is called once (from the loading thread, or at once from the
    constructor's thread when the derived file is valid). :meth:`status` is safe from any thread.
    """

    def __init__(self, folder: Path, models_dir: Path, model_sha256: Sequence[str],
                 make_detector: Callable[[], Any], embedder: Any, calibration: FmrCalibration | None,
                 on_ready: Callable[[Watchlist], None] | None = None) -> None:
        self.folder = Path(folder)
        self.calibration = calibration
        self._on_ready = on_ready
        self._lock = threading.Lock()
        self.done = 0
        self.total = 0
        self.error: Exception | None = None
        self.report: LoadReport | None = None
        self.watchlist: Watchlist | None = None
        self.thread: threading.Thread | None = None
        self._cancel = threading.Event()
        started = time.perf_counter()
        key = folder_key(self.folder, model_sha256)
        cached = load_cache(models_dir, key)
        if cached is not None:
            names, matrix, report = cached
            report.folder = self.folder
            report.seconds = time.perf_counter() - started
            self._finish(Watchlist(names, matrix, calibration=calibration,
                                   skipped=[r for r, _ in report.skipped]), report)
            log.info("watchlist: %d portraits from %s (stored embeddings, %.0f ms)", len(names), self.folder,
                     report.seconds * 1000)
            return
        log.info("watchlist: no stored embeddings for %s; embedding them while the kiosk runs "
                 "(`kiosk models fetch` stores them for an instant start)", self.folder)
        self.total = len(list_portraits(self.folder))
        self.thread = threading.Thread(target=self._run, args=(make_detector, embedder), name="watchlist",
                                       daemon=True)
        self.thread.start()

    def _progress(self, done: int, total: int) -> None:
        with self._lock:
            self.done, self.total = done, total
        if self._cancel.is_set():
            raise _Cancelled

    def close(self, timeout_s: float = 30.0) -> bool:
        """Stop embedding after the current portrait and wait for the thread; True when it ended.

        The kiosk calls this at shutdown: a daemon thread still inside onnxruntime or OpenCV while
        the interpreter exits aborts the process ("terminate called without an active
        exception", exit status 134), which systemd counts as a crash. One portrait takes well
        under a second on a Pi; ``timeout_s`` only bounds a wedged library.
        """
        self._cancel.set()
        if self.thread is not None:
            self.thread.join(timeout_s)
            if self.thread.is_alive():
                log.warning("watchlist: the embedding thread did not stop within %.0f s", timeout_s)
                return False
        return True

    def _run(self, make_detector: Callable[[], Any], embedder: Any) -> None:
        try:
            names, _rels, matrix, report = embed_folder(self.folder, make_detector(), embedder, self._progress)
            if matrix is None:
                raise WatchlistError(f"{self.folder}: no face found in any of its {report.total} image(s)")
            self._finish(Watchlist(names, matrix, calibration=self.calibration,
                                   skipped=[r for r, _ in report.skipped]), report)
            log.info("watchlist: %d of %d portraits embedded from %s in %.1f s", report.loaded, report.total,
                     self.folder, report.seconds)
        except _Cancelled:
            log.info("watchlist: embedding stopped at shutdown after %d of %d portraits", self.done, self.total)
        except Exception as exc:  # noqa: BLE001 - the kiosk keeps running without a watchlist
            self.error = exc
            log.error("watchlist: cannot load %s: %s; the lesson runs without a watchlist", self.folder, exc)

    def _finish(self, watchlist: Watchlist, report: LoadReport) -> None:
        with self._lock:
            self.watchlist, self.report = watchlist, report
            self.done = self.total = report.total
            callback = self._on_ready
        if callback is not None:
            callback(watchlist)

    def attach(self, on_ready: Callable[[Watchlist], None]) -> None:
        """Call ``on_ready(watchlist)`` when loaded (at once if it already is)."""
        with self._lock:
            self._on_ready = on_ready
            ready = self.watchlist
        if ready is not None:
            on_ready(ready)

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until loaded or failed (tests, tools); True when a watchlist is loaded."""
        if self.thread is not None:
            self.thread.join(timeout_s)
        return self.watchlist is not None

    def status(self) -> WatchlistStatus:
        with self._lock:
            r = self.report
            return WatchlistStatus(loading=self.watchlist is None and self.error is None,
                                   loaded=r.loaded if r else 0, total=r.total if r else self.total,
                                   skipped=len(r.skipped) if r else 0, done=self.done,
                                   failed=self.error is not None)


@dataclass(frozen=True, slots=True)
class WatchlistStatus:
    """What the lesson says about the watchlist: loading (done of total), or loaded / skipped."""

    loading: bool
    loaded: int
    total: int
    skipped: int
    done: int = 0
    failed: bool = False


def read_metadata_rows(folder: Path) -> dict[str, dict[str, str]]:
    """All columns of ``folder/metadata.csv`` keyed by display name (empty if there is none)."""
    path = Path(folder) / "metadata.csv"
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as fh:
        return {r.get("name", "").strip(): r for r in csv.DictReader(fh) if r.get("name")}


from kiosk.paths import DEFAULT_WATCHLIST  # noqa: E402,F401  (the watchlist that ships with the kiosk)


def model_hashes(store: Any) -> tuple[str, str]:
    """sha256 of the YuNet and SFace files a ``ModelStore`` loads (part of the derived file's key)."""
    return store.entry("yunet").final_sha256, store.entry("sface").final_sha256


def store_embeddings(folder: Path, models_dir: Path) -> tuple[Path, LoadReport]:
    """Embed ``folder`` and write the derived file (``kiosk models fetch``); returns (file, report).

    Skipped when a valid file for the current key already exists.
    """
    from kiosk.detect.yunet import YuNetDetector  # noqa: F401 - imported by portrait_detector
    from kiosk.infer.embed import SFaceEmbedder
    from kiosk.models import ModelStore, create_session
    from kiosk.track.watchlist import portrait_detector

    store = ModelStore(models_dir)
    key = folder_key(folder, model_hashes(store))
    cached = load_cache(models_dir, key)
    if cached is not None:
        return cache_file(models_dir, key), cached[2]
    detector = portrait_detector(create_session(store.require("yunet"), ["CPUExecutionProvider"], 1))
    embedder = SFaceEmbedder(create_session(store.require("sface"), ["CPUExecutionProvider"], 1))
    names, rels, matrix, report = embed_folder(folder, detector, embedder)
    if matrix is None:
        raise WatchlistError(f"{folder}: no face found in any of its {report.total} image(s)")
    try:
        return write_cache(models_dir, key, names, rels, matrix, report), report
    finally:
        wipe(matrix)
