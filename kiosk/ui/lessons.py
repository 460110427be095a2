"""The lesson panel: the threshold lesson, the caveats, and "your record".

Drawn in a panel on the right of the screen while the mirror keeps running on the left, so the
lesson is always about the visitor standing there. Each lesson is a pure function of its view
data; the panel frame (title area, progress dots, navigation buttons) is shared.

Text blocks are laid out top to bottom; if a language's longer texts would overflow the panel,
the caveats take turns (one at a time) rather than shrinking, and the threshold lesson's
introduction steps down to small print (its translations are kept short enough not to).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import pygame

from kiosk.types import FaceView, Snapshot
from kiosk.ui.caveats import Caveat
from kiosk.ui.dossier import visitor_label
from kiosk.ui.deps import UiDeps
from kiosk.ui.rates import ACLU_DATABASE_SIZE  # noqa: F401  (re-exported)
from kiosk.ui.state import LESSONS
from kiosk.ui.text import Rect
from kiosk.ui.widgets import DrawContext, button_size, draw_button, draw_marker, draw_panel, draw_side_panel, marker_radius

CAVEATS_PER_PAGE = 2
CAVEAT_TURN_S = 7.0  # a page whose two caveats do not fit at body size shows them in turn


@dataclass
class LessonView:
    """What a lesson shows: the lesson id, the visitor in front (largest face), the threshold."""

    lesson: str
    face: FaceView | None
    frame_size: tuple[int, int]
    you: pygame.Surface | None
    threshold: float
    deps: UiDeps
    caveats: tuple[Caveat, ...]
    seconds_in_lesson: float
    lesson_index: int


def panel_rect(size: tuple[int, int], top_px: int) -> Rect:
    """The lesson panel: the right half of the screen below the banner."""
    w, h = size
    pw = round(w * 0.5)
    return w - pw, top_px, pw, h - top_px


def draw_lesson(target: pygame.Surface, ctx: DrawContext, rect: Rect, view: LessonView) -> None:
    theme, sc = ctx.theme, ctx.scale
    draw_side_panel(target, ctx, rect)
    pygame.draw.line(target, theme.accent, (rect[0], rect[1]), (rect[0], rect[1] + rect[3]), max(2, sc.line_px))
    ctx.record.panel = rect
    ctx.record.screen = f"lesson:{view.lesson}"
    nav_top = _draw_nav(target, ctx, rect, view.lesson_index)
    top = rect[1] + sc.pad
    content = (rect[0] + 2 * sc.pad, top, rect[2] - 3 * sc.pad, nav_top - sc.pad // 2 - top)
    if view.lesson == "threshold":
        draw_threshold_lesson(target, ctx, content, view)
    elif view.lesson.startswith("caveats"):
        draw_caveats_lesson(target, ctx, content, view, int(view.lesson.split(":")[1]))
    elif view.lesson == "record":
        draw_record_lesson(target, ctx, content, view)


def _draw_nav(target: pygame.Surface, ctx: DrawContext, rect: Rect, index: int) -> int:
    """Previous / next / back-to-mirror buttons and one dot per lesson; returns their top edge."""
    sc, s = ctx.scale, ctx.strings
    labels = [("previous", s.get("buttons.previous"), "previous"), ("next", s.get("buttons.next"), "next"),
              ("close", s.get("buttons.close"), None)]
    sizes = [button_size(ctx, label)[0] + (button_size(ctx, label)[1] // 3 if icon else 0) for _, label, icon in labels]
    bh = button_size(ctx, "x")[1]
    y = rect[1] + rect[3] - sc.pad - bh
    x = rect[0] + 2 * sc.pad
    for (key, label, icon), bw in zip(labels, sizes):
        draw_button(target, ctx, key, label, (x, y, bw, bh), primary=(key == "next"), icon=icon)
        x += bw + sc.pad
    # Progress: one dot per lesson panel, the current one filled (shape, not just colour).
    r = max(4, sc.small // 4)
    dots_w = len(LESSONS) * 3 * r
    dx = min(rect[0] + rect[2] - sc.pad - dots_w, max(x + sc.pad, x))
    for i in range(len(LESSONS)):
        c = (dx + i * 3 * r + r, y + bh // 2)
        if i == index % len(LESSONS):
            pygame.draw.circle(target, ctx.theme.accent, c, r)
        else:
            pygame.draw.circle(target, ctx.theme.muted, c, r, max(1, r // 3))
    return y


# --- threshold: kiosk/ui/threshold_lesson.py -------------------------------------------------------

from kiosk.ui.threshold_lesson import draw_threshold_lesson  # noqa: E402  (re-exported for callers)


# --- caveats -----------------------------------------------------------------------------------------

def draw_caveats_lesson(target: pygame.Surface, ctx: DrawContext, area: Rect, view: LessonView, page: int) -> None:
    theme, sc, t, s = ctx.theme, ctx.scale, ctx.text, ctx.strings
    x, y, w, h = area
    y += t.draw_wrapped(target, s.get("lesson.caveats.title"), "title", theme.text, (x, y), w) + sc.pad // 2
    items = view.caveats[page * CAVEATS_PER_PAGE:(page + 1) * CAVEATS_PER_PAGE]
    # Paginate rather than shrink: when a page's caveats do not fit at body size (longer
    # languages), they take turns, one at a time, every CAVEAT_TURN_S.
    if len(items) > 1 and _caveats_height(ctx, items, w, "body") > area[1] + h - y:
        k = int(view.seconds_in_lesson // CAVEAT_TURN_S) % len(items)
        items = items[k:k + 1]
    role = "body"
    mr = round(marker_radius(sc) * 1.3)
    for cav in items:
        lh = t.line_height("body_bold")
        draw_marker(target, t, cav.number, (x + mr, y + lh // 2), theme.accent, mr)
        t.draw(target, cav.title, "body_bold", theme.accent, (x + 2 * mr + sc.pad // 2, y))
        y += lh
        y += t.draw_wrapped(target, cav.text, role, theme.text, (x, y), w)
        y += t.draw_wrapped(target, _caveat_footer(ctx, cav), "small", theme.muted, (x, y), w)
        y += sc.pad


def _caveat_footer(ctx: DrawContext, cav: Caveat) -> str:
    """One small line: the kiosk's own figure (or where it is documented) and the sources."""
    cites = "; ".join(src.cite for src in cav.sources)
    sources = f"{ctx.strings.get('lesson.caveats.sources')}: {cites}"
    return f"{cav.measured} {sources}" if cav.measured else sources


def _caveats_height(ctx: DrawContext, items: tuple[Caveat, ...], width: int, role: str) -> int:
    t, sc = ctx.text, ctx.scale
    return sum(t.line_height("body_bold") + t.wrapped_height(cav.text, role, width)
               + t.wrapped_height(_caveat_footer(ctx, cav), "small", width) + sc.pad for cav in items)


# --- your record -------------------------------------------------------------------------------------

def format_record(value: Any, max_chars: int, indent: int = 2) -> list[str]:
    """JSON, pretty-printed compactly: a dict or list stays on one line when it fits in
    ``max_chars``, otherwise one member per line (what a person reads, not what a machine needs)."""

    def inline(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False, separators=(", ", ": "))

    def emit(prefix: str, v: Any, level: int, suffix: str) -> list[str]:
        pad = " " * (indent * level)
        text = pad + prefix + inline(v) + suffix
        if len(text) <= max_chars or not isinstance(v, (dict, list)) or not v:
            return [text]
        opening, closing = ("{", "}") if isinstance(v, dict) else ("[", "]")
        lines = [pad + prefix + opening]
        members = list(v.items()) if isinstance(v, dict) else [(None, item) for item in v]
        for i, (k, item) in enumerate(members):
            p = f"{json.dumps(k, ensure_ascii=False)}: " if k is not None else ""
            lines += emit(p, item, level + 1, "," if i < len(members) - 1 else "")
        lines.append(pad + closing + suffix)
        return lines

    return emit("", value, 0, "")


def draw_record_lesson(target: pygame.Surface, ctx: DrawContext, area: Rect, view: LessonView) -> None:
    theme, sc, t, s = ctx.theme, ctx.scale, ctx.text, ctx.strings
    x, y, w, h = area
    bottom = y + h
    y += t.draw_wrapped(target, s.get("lesson.record.title"), "title", theme.text, (x, y), w) + sc.pad // 3
    face = view.face
    record = view.deps.record(face, view.frame_size) if (face is not None and view.deps.record) else None
    if face is None or record is None:
        t.draw_wrapped(target, s.get("lesson.record.nobody"), "body_bold", theme.text, (x, y + sc.pad), w)
        return
    who = visitor_label(s, face.visitor_id) if face.visitor_id is not None else s.get("lesson.record.unidentified")
    y += t.draw_wrapped(target, s.get("lesson.record.subtitle", who=who), "body", theme.muted, (x, y), w, max_lines=3) + sc.pad // 2
    note = s.get("lesson.record.absent")
    note_h = t.wrapped_height(note, "small", w)
    view_h = bottom - y - note_h - sc.pad
    char_w = max(1, t.size("0" * 10, "mono")[0] // 10)
    lines = format_record(record, max(20, (w - sc.pad) // char_w))
    lh = t.line_height("mono")
    # A record taller than the panel scrolls slowly: hold at the top, glide, hold at the end.
    overflow = max(0, len(lines) * lh - view_h)
    hold_s, speed_px_s = 3.0, lh * 1.5
    offset = 0 if overflow == 0 else int(min(overflow, max(0.0, view.seconds_in_lesson - hold_s) * speed_px_s))
    clip = target.get_clip()
    box = (x - sc.pad // 2, y, w + sc.pad // 2, max(0, view_h))
    draw_panel(target, ctx, box, fill=(*theme.background, 200), border=True)
    target.set_clip(pygame.Rect(box))
    first = offset // lh
    for i in range(first, len(lines)):
        ly = y + i * lh - offset
        if ly > y + view_h:
            break
        line = lines[i]
        top_level = line.startswith('  "') and not line.startswith('   ')
        colour = theme.accent if top_level else theme.text
        t.draw(target, t.ellipsize(line, "mono", w - sc.pad), "mono", colour, (x, ly))
    target.set_clip(clip)
    t.draw_wrapped(target, note, "small", theme.muted, (x, bottom - note_h), w)


def main_face(snap: Snapshot | None) -> FaceView | None:
    """The visitor a lesson is about: the largest (nearest) face among those the pipeline has
    already embedded (searched against the watchlist, or identified), else the largest. A box
    that was never embedded may be a detector's mistake on a painting or a coat; an embedded
    one held still long enough to be a face. Faces without consent are never the subject of a
    lesson (nothing about them may be shown)."""
    faces = [f for f in snap.faces if f.consented] if snap is not None else []
    if not faces:
        return None

    def area(f: FaceView) -> float:
        return (f.box_xyxy[2] - f.box_xyxy[0]) * (f.box_xyxy[3] - f.box_xyxy[1])

    return max(faces, key=lambda f: (f.visitor_id is not None or bool(f.watchlist), area(f)))
