"""Thumbnails of watchlist portraits for the threshold lesson, read from the watchlist folder.

The ``Watchlist`` holds only names and embeddings (no images, by design), so the lesson's
portraits are read again from ``watchlist.dir``. These are the operator's public portraits
(e.g. the shipped official NASA portraits), not visitor data: keeping small copies in RAM is
fine. :meth:`PortraitThumbnails.preload` reads them at start-up (the kiosk calls it; 134 crops
of 160 px take well under a second), so the first lesson never waits for the disk; beyond
``max_entries`` names (folders of thousands) the rest are read when first shown.

- The folder is listed once, at the first request (``kiosk.track.watchlist.list_portraits``: the same
  names the watchlist uses, from ``metadata.csv`` or the file names). A name used by several
  images shows the first one.
- Each name is read at most once: the result (a ``size_px`` square BGR thumbnail, or None when
  the file cannot be read) is kept in a bounded dict. Beyond ``max_entries`` names the least
  recently shown is dropped (and would be read again if shown again); the default 512 entries
  at 96 px are 14 MB, more than the names a gallery of a few hundred portraits can show.
- Reading runs on the UI thread during the first frame that shows a name: JPEGs are decoded at
  a quarter of their size (libjpeg scales while decoding, so a large official portrait costs
  little more than a small one); images too small for that are decoded again at full size.
  Measured on the 2-core development PC with 134 NASA portraits (640x439 JPEGs): listing the
  folder 4.9 ms once, then 1.8 ms median, 10.4 ms max per name (60 names).
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

THUMBNAIL_PX = 96
MAX_ENTRIES = 512

Lister = Callable[[Path], list[tuple[Path, str]]]


def _default_lister(folder: Path) -> list[tuple[Path, str]]:
    from kiosk.track.watchlist import list_portraits  # the watchlist's own naming rules

    return list_portraits(folder)


def square_thumbnail(image_bgr: np.ndarray, size_px: int) -> np.ndarray:
    """A ``size_px`` square from the image: the full width (or height), a third of the way down
    for tall images (head-and-shoulders portraits have the face above the centre)."""
    h, w = image_bgr.shape[:2]
    side = min(h, w)
    y0 = (h - side) // 3
    x0 = (w - side) // 2
    crop = image_bgr[y0:y0 + side, x0:x0 + side]
    return cv2.resize(crop, (size_px, size_px), interpolation=cv2.INTER_AREA)


class PortraitThumbnails:
    """``thumbnails(name)`` -> BGR (size_px, size_px, 3) uint8 thumbnail, or None (a silhouette
    is drawn). Single-threaded: called by the UI thread only."""

    def __init__(self, folder: Path | str, size_px: int = THUMBNAIL_PX, max_entries: int = MAX_ENTRIES,
                 lister: Lister = _default_lister) -> None:
        if size_px < 8 or max_entries < 1:
            raise ValueError(f"size_px must be >= 8 and max_entries >= 1, got {size_px} and {max_entries}")
        self.folder = Path(folder)
        self.size_px = int(size_px)
        self.max_entries = int(max_entries)
        self._lister = lister
        self._paths: dict[str, Path] | None = None
        self._cache: OrderedDict[str, np.ndarray | None] = OrderedDict()
        self.reads = 0  # image files read so far (for tests and the log)

    def _index(self) -> dict[str, Path]:
        if self._paths is None:
            paths: dict[str, Path] = {}
            try:
                for path, name in self._lister(self.folder):
                    paths.setdefault(name, path)
            except Exception as exc:  # noqa: BLE001 - a broken folder must not break the lesson
                log.warning("watchlist portraits for the lesson: cannot list %s: %s", self.folder, exc)
            self._paths = paths
        return self._paths

    def _read(self, path: Path) -> np.ndarray | None:
        self.reads += 1
        image = cv2.imread(str(path), cv2.IMREAD_REDUCED_COLOR_4)
        if image is None or min(image.shape[:2]) < self.size_px:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None or image.ndim != 3 or min(image.shape[:2]) < 2:
            log.warning("watchlist portrait %s cannot be read; the lesson shows a silhouette", path)
            return None
        return square_thumbnail(image, self.size_px)

    def __call__(self, name: str) -> np.ndarray | None:
        if name in self._cache:
            self._cache.move_to_end(name)
            return self._cache[name]
        path = self._index().get(name)
        thumb = self._read(path) if path is not None else None
        self._cache[name] = thumb
        if len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)
        return thumb

    def preload(self, limit: int | None = None) -> tuple[str, ...]:
        """Read the thumbnails of the first ``limit`` (default ``max_entries``) names now; returns
        every name in the folder, in its order."""
        names = tuple(self._index())
        for name in names[: self.max_entries if limit is None else limit]:
            self(name)
        return names

    def __len__(self) -> int:
        """Thumbnails held (not the number of portraits; never test this object for truth)."""
        return len(self._cache)

    def __bool__(self) -> bool:
        # An empty cache must not make ``if deps.portrait:`` skip the portraits (it did: every
        # portrait was drawn as a silhouette until something else filled the cache).
        return True
