"""The take-home record: a QR code whose content is the visitor's record as plain text.

No link, no server: any phone camera reads the text straight out of the code, offline. The
kiosk keeps nothing of it. The text is built from the visitor's live ``FaceView`` (the same
lines as their dossier card, so the code and the card never disagree), encoded into a module
matrix in memory and drawn onto a pygame surface; no file, no image library and no temporary
buffer outside this process is involved. The encoded surface is held only while the code is on
screen (``TakeHome.close`` drops it) and the code closes when its visitor leaves.

Library choice: `segno` (PyPI). It is pure Python with no dependencies (nothing native to audit
for file or network access, installs the same on a Raspberry Pi), it gives the module matrix
directly (``QRCode.matrix``) so nothing is rendered through an image file, it picks the smallest
version and raises the error correction level for free when the text leaves room, and it is
actively maintained and fully implements ISO/IEC 18004 (QR and Micro QR, every mode).
`qrcode` would also work but renders through PIL/pypng image objects, which this kiosk does not
need. Text is encoded as UTF-8 in byte mode (phones and OpenCV's ``QRCodeDetector`` read it).
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import cv2
import numpy as np
import pygame
import segno

from kiosk.types import FaceView
from kiosk.ui.caveats import marker
from kiosk.ui.dossier import card_content, visitor_label
from kiosk.ui.i18n import Strings
from kiosk.ui.portrait_names import SHOW_NAMES, PortraitNames

log = logging.getLogger(__name__)

QUIET_MODULES = 4
"""The white margin a QR reader needs around the code (ISO/IEC 18004: 4 modules)."""
MIN_MODULE_PX = 4
"""Below this, a phone at arm's length no longer reads a code off a screen reliably (and
OpenCV's detector fails on most codes of version 12 and more at 3 px per module)."""
MASKS = (None, *range(8))
"""Data masks to try, segno's choice (the standard's penalty rule) first."""
ERROR_LEVEL = "m"
"""15 % of the code may be unreadable (glare on the screen); segno raises it when it is free."""


def record_text(face: FaceView, snap_t_s: float, strings: Strings, forget_after_s: float,
                day: dt.date, welcome_s: float = 6.0, portraits: PortraitNames = SHOW_NAMES) -> str:
    """The visitor's record as plain text in their language: who and when, each conclusion on
    their card (one line per kind), that this is the only copy, and the closing question.

    Kept short on purpose (about 300 bytes): a small code is read by phones from further away
    and at a glance, and OpenCV's detector (the test's reader) is unreliable beyond version ~15.
    """
    s = strings
    content = card_content(face, snap_t_s, s, welcome_s, portraits)
    who = visitor_label(s, face.visitor_id) if face.visitor_id is not None else s.get("card.identifying")
    lines = [f"{s.get('takehome.text_title')} · {who} · {day.isoformat()}"]
    # One conclusion per kind (the closest portrait, not every one; not blinks after "looking"),
    # with the uncertainty the compact card keeps beside it (the age range, how sure the gender
    # model is): a bare "Age: 52" would claim more than the card does. Greetings and time in
    # view are not conclusions.
    shown: set[int] = set()
    previous: int | None = None
    for line in content.lines:
        if line.marker is None:
            previous = None
            continue
        qualifier = (line.marker == previous and line.compact and line.marker in shown
                     and line.marker != marker("watchlist"))
        if line.marker not in shown or qualifier:
            lines.append(line.text)
            shown.add(line.marker)
        previous = line.marker
    lines.append(s.get("takehome.text_only_copy", duration=s.duration(forget_after_s)))
    lines.append(s.get("arc.question.ask"))
    return "\n".join(lines)


def qr_matrix(text: str, mask: int | None = None) -> np.ndarray:
    """The QR modules of ``text`` (True = dark), without the quiet zone."""
    code = segno.make(text, error=ERROR_LEVEL, micro=False, encoding="utf-8", mask=mask)
    return np.array(code.matrix, dtype=bool)


def readable(surface: pygame.Surface, text: str) -> bool:
    """Does an independent reader (OpenCV's ``QRCodeDetector``) get ``text`` back from these
    pixels? In memory only. Readers differ: a code the standard's mask rule makes is not read by
    every one of them, so the kiosk checks what it is about to show."""
    rgb = np.ascontiguousarray(pygame.surfarray.array3d(surface).transpose(1, 0, 2))
    decoded, _, _ = cv2.QRCodeDetector().detectAndDecode(rgb)
    return decoded == text


def qr_surface(matrix: np.ndarray, module_px: int) -> pygame.Surface:
    """Dark modules on white, with the quiet zone, ``module_px`` pixels per module. Always black on
    white whatever the theme: readers expect dark modules on a light ground."""
    padded = np.pad(matrix, QUIET_MODULES, constant_values=False)
    grey = np.where(padded, 0, 255).astype(np.uint8)
    big = np.repeat(np.repeat(grey, module_px, axis=0), module_px, axis=1)
    rgb = np.ascontiguousarray(np.stack([big.T] * 3, axis=-1))  # surfarray is (x, y)
    return pygame.surfarray.make_surface(rgb)


def module_px_for(matrix: np.ndarray, side_px: int) -> int:
    """Pixels per module so the code with its quiet zone fits in ``side_px``; 0 if it cannot
    at the readable minimum."""
    px = side_px // (matrix.shape[0] + 2 * QUIET_MODULES)
    return px if px >= MIN_MODULE_PX else 0


@dataclass
class _Code:
    text: str
    matrix: np.ndarray  # the first mask's, for the size
    surfaces: dict[int, pygame.Surface]

    def surface(self, px: int) -> pygame.Surface:
        """The code at ``px`` per module: the first mask whose drawing OpenCV reads back (all
        masks are equally valid codes of the same text); the standard's choice if none is."""
        if px not in self.surfaces:
            self.surfaces.clear()  # one size at a time (a resize makes a new one)
            first = None
            for mask in MASKS:
                matrix = self.matrix if mask is None else qr_matrix(self.text, mask)
                surf = qr_surface(matrix, px)
                first = first or surf
                if readable(surf, self.text):
                    break
            else:
                log.warning("no mask of the take-home code decodes at %d px per module; showing it anyway", px)
                surf = first
            self.surfaces[px] = surf
        return self.surfaces[px]


class TakeHome:
    """The open take-home codes: the visitor's record and, if configured, the exhibition's link.

    ``open`` freezes the record as it is at the moment the visitor asks (a receipt, not a live
    feed: a code that changed while a phone focuses on it would not scan). Everything is dropped
    by ``close``.
    """

    def __init__(self, link: str | None = None) -> None:
        self.link = link or None
        self.subject_track: int | None = None
        self.subject_visitor: int | None = None
        self.opened_s: float | None = None
        self._record: _Code | None = None
        self._link: _Code | None = None
        self.drawn_rect: tuple[int, int, int, int] | None = None  # where the record's code was last drawn
        self.link_rect: tuple[int, int, int, int] | None = None

    @property
    def is_open(self) -> bool:
        return self._record is not None

    @property
    def text(self) -> str | None:
        return self._record.text if self._record else None

    def open(self, face: FaceView, text: str, now_s: float) -> None:
        self._record = _Code(text, qr_matrix(text), {})
        if self.link and self._link is None:
            self._link = _Code(self.link, qr_matrix(self.link), {})
        self.subject_track, self.subject_visitor = face.track_id, face.visitor_id
        self.opened_s = now_s
        log.debug("take-home code shown (%d modules); nothing of it is kept", self._record.matrix.shape[0])

    def close(self) -> None:
        if self._record is not None:
            log.info("take-home code closed")
        self._record = None
        self.drawn_rect = self.link_rect = None
        self.subject_track = self.subject_visitor = None
        self.opened_s = None

    def belongs_to(self, face: FaceView) -> bool:
        return (face.track_id == self.subject_track
                or (self.subject_visitor is not None and face.visitor_id == self.subject_visitor))

    def record_surface(self, side_px: int) -> pygame.Surface | None:
        return self._surface(self._record, side_px)

    def link_surface(self, side_px: int) -> pygame.Surface | None:
        return self._surface(self._link, side_px)

    @staticmethod
    def _surface(code: _Code | None, side_px: int) -> pygame.Surface | None:
        if code is None:
            return None
        px = module_px_for(code.matrix, side_px)
        if px == 0:
            return None
        return code.surface(px)
