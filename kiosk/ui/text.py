"""Fonts, cached text surfaces, wrapping, and the per-frame record of what was drawn.

Rendering text is the usual pygame bottleneck (FreeType rasterises every call), and a kiosk
redraws the same few hundred strings 60 times a second, so every rendered string is kept in a
bounded LRU cache keyed by (role, text, colour). Countdown and time-in-view texts change once
a second, so the cache turns over slowly.

Every string drawn is logged in the current ``FrameRecord`` with its screen rectangle, so tests
can assert what a visitor would read and where (and the debug overlay can count it).
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import pygame

from kiosk.ui.i18n import ASSETS_DIR
from kiosk.ui.theme import Colour, TypeScale

log = logging.getLogger(__name__)

FONTS_DIR = ASSETS_DIR / "fonts"
FONT_FILES: dict[str, str] = {
    "regular": "DejaVuSans.ttf",
    "bold": "DejaVuSans-Bold.ttf",
    "mono": "DejaVuSansMono.ttf",
}
# role -> (face, size attribute of TypeScale)
ROLES: dict[str, tuple[str, str]] = {
    "body": ("regular", "body"),
    "body_bold": ("bold", "body"),
    "title": ("bold", "title"),
    "display": ("bold", "display"),
    "small": ("regular", "small"),
    "small_bold": ("bold", "small"),
    "mono": ("mono", "mono"),
}
_CACHE_ENTRIES = 2000

Rect = tuple[int, int, int, int]  # x, y, w, h in screen pixels


@dataclass(frozen=True, slots=True)
class DrawnText:
    text: str
    rect: Rect
    role: str


@dataclass
class FrameRecord:
    """What one frame showed: screen name, texts with rectangles, cards, buttons, banner."""

    screen: str = ""
    texts: list[DrawnText] = field(default_factory=list)
    cards: dict[str, Rect] = field(default_factory=dict)
    card_levels: dict[str, int] = field(default_factory=dict)
    chips: dict[str, Rect] = field(default_factory=dict)
    boxes: dict[str, Rect] = field(default_factory=dict)
    buttons: dict[str, Rect] = field(default_factory=dict)
    banner: Rect | None = None
    panel: Rect | None = None
    image: Rect | None = None
    slider: Rect | None = None
    debug: Rect | None = None
    consent: Rect | None = None  # the "Analyse me" panel
    tags: dict[str, Rect] = field(default_factory=dict)  # free-standing tags ("+2 more in view")
    leaders: dict[str, tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=dict)  # card key -> line
    face_margin: int = 0  # the clearance every card, tag and note keeps from every face box

    def joined(self) -> str:
        return "\n".join(t.text for t in self.texts)

    def has_text(self, fragment: str) -> bool:
        """``fragment`` is part of one drawn string."""
        return any(fragment in t.text for t in self.texts)

    def says(self, sentence: str) -> bool:
        """``sentence`` was drawn, possibly wrapped over consecutive lines."""
        return " ".join(sentence.split()) in " ".join(t.text for t in self.texts)

    def texts_in(self, rect: Rect) -> list[str]:
        """Texts whose rectangle lies inside ``rect``."""
        x, y, w, h = rect
        return [t.text for t in self.texts
                if t.rect[0] >= x - 1 and t.rect[1] >= y - 1
                and t.rect[0] + t.rect[2] <= x + w + 1 and t.rect[1] + t.rect[3] <= y + h + 1]


class Layer:
    """A surface drawn once and blitted many times, with the texts on it (local coordinates)."""

    def __init__(self, surface: pygame.Surface) -> None:
        self.surface = surface
        self.texts: list[DrawnText] = []

    def blit_to(self, target: pygame.Surface, pos: tuple[int, int], record: FrameRecord | None,
                alpha: int = 255) -> None:
        if alpha < 255:
            self.surface.set_alpha(alpha)
        target.blit(self.surface, pos)
        if alpha < 255:
            self.surface.set_alpha(None)
        if record is not None and alpha > 0:
            for t in self.texts:
                x, y, w, h = t.rect
                record.texts.append(DrawnText(t.text, (x + pos[0], y + pos[1], w, h), t.role))


class TextRenderer:
    """Fonts for one type scale, a cache of rendered strings, and drawing helpers."""

    def __init__(self, scale: TypeScale, fonts_dir: Path = FONTS_DIR) -> None:
        if not pygame.font.get_init():
            pygame.font.init()
        self.scale = scale
        self._fonts: dict[str, pygame.font.Font] = {}
        for role, (face, size_attr) in ROLES.items():
            path = fonts_dir / FONT_FILES[face]
            if not path.is_file():
                raise FileNotFoundError(f"font {path} is missing; it ships in assets/fonts/")
            self._fonts[role] = pygame.font.Font(str(path), int(getattr(scale, size_attr)))
        self._cache: OrderedDict[tuple[str, str, Colour], pygame.Surface] = OrderedDict()
        self._sizes: dict[tuple[str, str], tuple[int, int]] = {}
        self.record: FrameRecord | None = None
        self.renders = 0  # cache misses, for the debug overlay and tests

    def font(self, role: str) -> pygame.font.Font:
        return self._fonts[role]

    def line_height(self, role: str) -> int:
        return self._fonts[role].get_linesize()

    def size(self, text: str, role: str) -> tuple[int, int]:
        key = (role, text)
        size = self._sizes.get(key)
        if size is None:
            size = self._fonts[role].size(text)
            if len(self._sizes) > 8 * _CACHE_ENTRIES:
                self._sizes.clear()
            self._sizes[key] = size
        return size

    def render(self, text: str, role: str, colour: Colour) -> pygame.Surface:
        key = (role, text, tuple(colour[:3]))
        surf = self._cache.get(key)
        if surf is not None:
            self._cache.move_to_end(key)
            return surf
        surf = self._fonts[role].render(text, True, colour[:3])
        self.renders += 1
        self._cache[key] = surf
        if len(self._cache) > _CACHE_ENTRIES:
            self._cache.popitem(last=False)
        return surf

    def draw(self, target: pygame.Surface, text: str, role: str, colour: Colour,
             pos: tuple[int, int], anchor: str = "topleft", layer: Layer | None = None) -> pygame.Rect:
        """Blit ``text`` with its ``anchor`` point at ``pos``; log it in the layer or frame record."""
        if not text:
            return pygame.Rect(pos, (0, 0))
        surf = self.render(text, role, colour)
        rect = surf.get_rect(**{anchor: pos})
        target.blit(surf, rect)
        entry = DrawnText(text, (rect.x, rect.y, rect.w, rect.h), role)
        if layer is not None:
            layer.texts.append(entry)
        elif self.record is not None:
            self.record.texts.append(entry)
        return rect

    def wrap(self, text: str, role: str, width_px: int) -> list[str]:
        """Greedy word wrap to ``width_px``; a single word wider than that is cut with "…"."""
        lines: list[str] = []
        for paragraph in text.split("\n"):
            current = ""
            for word in paragraph.split():
                trial = f"{current} {word}" if current else word
                if self.size(trial, role)[0] <= width_px:
                    current = trial
                    continue
                if current:
                    lines.append(current)
                current = word if self.size(word, role)[0] <= width_px else self.ellipsize(word, role, width_px)
            lines.append(current)
        return lines

    def ellipsize(self, text: str, role: str, width_px: int) -> str:
        """``text`` shortened with "…" to fit ``width_px``."""
        if self.size(text, role)[0] <= width_px:
            return text
        lo, hi = 0, len(text)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.size(text[:mid].rstrip() + "…", role)[0] <= width_px:
                lo = mid
            else:
                hi = mid - 1
        return text[:lo].rstrip() + "…"

    def draw_wrapped(self, target: pygame.Surface, text: str, role: str, colour: Colour,
                     pos: tuple[int, int], width_px: int, max_lines: int | None = None,
                     layer: Layer | None = None, line_gap: float = 1.0) -> int:
        """Wrapped paragraph at ``pos``; returns the height used."""
        lines = self.wrap(text, role, width_px)
        if max_lines is not None and len(lines) > max_lines:
            lines = lines[:max_lines]
            lines[-1] = self.ellipsize(lines[-1] + "…", role, width_px)
        step = round(self.line_height(role) * line_gap)
        x, y = pos
        for i, line in enumerate(lines):
            self.draw(target, line, role, colour, (x, y + i * step), layer=layer)
        return step * len(lines)

    def wrapped_height(self, text: str, role: str, width_px: int, line_gap: float = 1.0) -> int:
        return round(self.line_height(role) * line_gap) * len(self.wrap(text, role, width_px))
