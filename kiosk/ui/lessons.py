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

from kiosk.types import FaceView
from kiosk.ui.caveats import Caveat
from kiosk.ui.dossier import visitor_label
from kiosk.ui.settings import UiDeps
from kiosk.ui.state import LESSONS, SLIDER_RANGE
from kiosk.ui.text import Rect
from kiosk.ui.widgets import DrawContext, button_size, draw_button, draw_marker, draw_panel, marker_radius

ACLU_DATABASE_SIZE = 25_000
"""Photos in the arrest-photo database of the ACLU's 2018 test: the "25,000-photo database"."""
REKOGNITION_DEFAULT = 0.80
AWS_POLICE_ADVICE = 0.99
MAX_PORTRAITS = 3
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
    draw_panel(target, ctx, rect, radius=0)
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


# --- threshold ---------------------------------------------------------------------------------------

def expected_false_matches(fmr: float, photos: int) -> float:
    """Base rate: false-match rate per comparison x photos compared = expected false matches."""
    return fmr * photos


def format_expected(ctx: DrawContext, value: float) -> str:
    s = ctx.strings
    if value < 0.01:
        return "< " + s.number(0.01, 2)
    if value < 10:
        return s.number(value, 2 if value < 1 else 1)
    return s.number(value, 0)


_portrait_cache: dict[tuple[object, str, int], pygame.Surface | None] = {}


def _portrait_surface(deps: UiDeps, name: str, size: int) -> pygame.Surface | None:
    # Keyed by the thumbnail source too: two screens with different watchlists never mix portraits.
    key = (deps.portrait, name, size)
    if key not in _portrait_cache:
        image = deps.portrait(name) if deps.portrait else None
        surf = None
        if image is not None and image.ndim == 3 and image.shape[0] > 1 and image.shape[1] > 1:
            h, w = image.shape[:2]
            side = min(h, w)
            crop = image[(h - side) // 2:(h - side) // 2 + side, (w - side) // 2:(w - side) // 2 + side]
            rgb = cv2.cvtColor(cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
            surf = pygame.image.frombuffer(np.ascontiguousarray(rgb).tobytes(), (size, size), "RGB")
        if len(_portrait_cache) > 128:
            _portrait_cache.clear()
        _portrait_cache[key] = surf
    return _portrait_cache[key]


def _silhouette(target: pygame.Surface, rect: Rect, colour: tuple) -> None:
    """A head-and-shoulders placeholder where no portrait image is available."""
    x, y, w, h = rect
    clip = target.get_clip()
    target.set_clip(pygame.Rect(rect))
    pygame.draw.circle(target, colour, (x + w // 2, y + int(h * 0.4)), int(w * 0.2))
    pygame.draw.ellipse(target, colour, (x + int(w * 0.18), y + int(h * 0.66), int(w * 0.64), int(h * 0.6)))
    target.set_clip(clip)


def draw_threshold_lesson(target: pygame.Surface, ctx: DrawContext, area: Rect, view: LessonView) -> None:
    theme, sc, t, s = ctx.theme, ctx.scale, ctx.text, ctx.strings
    x, y, w, h = area
    bottom = y + h
    thr = view.threshold
    deps = view.deps
    y += t.draw_wrapped(target, s.get("lesson.threshold.title"), "title", theme.text, (x, y), w) + sc.pad // 2
    # The introduction steps down to small print if a language's longer texts would otherwise
    # push the ACLU example off the panel (everything else has a fixed height).
    intro_role = "body"
    if y + _threshold_rest_height(ctx, w, view, "body") > bottom:
        intro_role = "small"
    y += t.draw_wrapped(target, s.get("lesson.threshold.intro"), intro_role, theme.muted, (x, y), w) + sc.pad

    # The visitor and their closest watchlist portraits, each judged at the current threshold:
    # a match gets a thick border and a "MATCH" band (shape and word, not only colour).
    matches = sorted(view.face.watchlist, key=lambda m: -m.score)[:MAX_PORTRAITS] if view.face else []
    cell_w = (w - 3 * sc.pad) // 4
    thumb = min(round(ctx.size[1] * 0.105), cell_w)
    if view.face is None:
        y += t.draw_wrapped(target, s.get("lesson.threshold.nobody"), "body_bold", theme.text, (x, y), w) + sc.pad
    else:
        cx = x
        items: list[tuple[str, Any]] = [("you", None)] + [("match", m) for m in matches]
        for kind, m in items:
            r = (cx + (cell_w - thumb) // 2, y, thumb, thumb)
            pygame.draw.rect(target, theme.background, r)
            yy = y + thumb + sc.pad // 4
            if kind == "you":
                if view.you is not None:
                    target.blit(pygame.transform.smoothscale(view.you, (thumb, thumb)), r[:2])
                else:
                    _silhouette(target, r, theme.muted)
                pygame.draw.rect(target, theme.accent, r, max(2, sc.line_px))
                t.draw(target, s.get("lesson.threshold.you"), "body_bold", theme.text, (cx + cell_w // 2, yy), anchor="midtop")
            else:
                portrait = _portrait_surface(deps, m.name, thumb)
                if portrait is not None:
                    target.blit(portrait, r[:2])
                else:
                    _silhouette(target, r, theme.muted)
                is_match = m.score >= thr
                if is_match:
                    band_h = t.line_height("small_bold")
                    pygame.draw.rect(target, theme.alert, (r[0], r[1] + thumb - band_h, thumb, band_h))
                    word = s.get("lesson.threshold.match")
                    if t.size(word, "small_bold")[0] > thumb - 4:
                        word = "✓"  # the band, the border and the check mark still say it
                    t.draw(target, word, "small_bold", theme.accent_text, (r[0] + thumb // 2, r[1] + thumb - band_h // 2),
                           anchor="center")
                pygame.draw.rect(target, theme.alert if is_match else theme.panel_border, r,
                                 max(3, sc.line_px * 2) if is_match else max(1, sc.line_px // 2))
                t.draw(target, t.ellipsize(m.name, "small", cell_w), "small", theme.muted, (cx + cell_w // 2, yy), anchor="midtop")
                t.draw(target, s.percent(max(0.0, m.score)), "body_bold", theme.alert if is_match else theme.text,
                       (cx + cell_w // 2, yy + t.line_height("small")), anchor="midtop")
            cx += cell_w + sc.pad
        y += thumb + sc.pad // 4 + t.line_height("small") + t.line_height("body_bold") + sc.pad // 2
        if not matches:
            y += t.draw_wrapped(target, s.get("lesson.threshold.no_watchlist"), "body", theme.muted, (x, y), w) + sc.pad // 2

    # The slider: lenient on the left, strict on the right, marks where real systems sit, and
    # the caveat that their 80 % and 99 % are on Rekognition's own scale, not this kiosk's.
    y = _draw_slider(target, ctx, (x, y, w), thr, deps)
    y += t.draw_wrapped(target, s.get("lesson.threshold.scales"), "small", theme.muted, (x, y), w) + sc.pad // 2

    # Base rate: expected false matches = false-match rate x photos searched.
    y += t.draw_wrapped(target, s.get("lesson.threshold.expected_title"), "body_bold", theme.text, (x, y), w)
    if deps.fmr is not None:
        rate = max(0.0, float(deps.fmr(thr)))
        if deps.watchlist_size > 0:
            y += t.draw_wrapped(target, s.get("lesson.threshold.expected_gallery", size=s.number(deps.watchlist_size),
                                              value=format_expected(ctx, expected_false_matches(rate, deps.watchlist_size))),
                                "body", theme.text, (x, y), w)
        y += t.draw_wrapped(target, s.get("lesson.threshold.expected_database", size=s.number(ACLU_DATABASE_SIZE),
                                          value=format_expected(ctx, expected_false_matches(rate, ACLU_DATABASE_SIZE))),
                            "body", theme.text, (x, y), w)
        if not deps.fmr_calibrated:
            y += t.draw_wrapped(target, s.get("lesson.threshold.illustrative"), "small", theme.muted, (x, y), w)
    else:
        y += t.draw_wrapped(target, s.get("lesson.threshold.not_measured"), "body", theme.muted, (x, y), w)
    y += sc.pad // 2
    aclu = s.get("lesson.threshold.aclu")
    if y + t.wrapped_height(aclu, "small", w) <= bottom:
        y += t.draw_wrapped(target, aclu, "small", theme.muted, (x, y), w)


def _threshold_rest_height(ctx: DrawContext, w: int, view: LessonView, intro_role: str) -> int:
    """Height of the threshold lesson below its title with the introduction in ``intro_role``,
    up to and including the ACLU example (the layout of ``draw_threshold_lesson``)."""
    sc, t, s = ctx.scale, ctx.text, ctx.strings
    thumb = min(round(ctx.size[1] * 0.105), (w - 3 * sc.pad) // 4)
    h = t.wrapped_height(s.get("lesson.threshold.intro"), intro_role, w) + sc.pad
    if view.face is None:
        h += t.wrapped_height(s.get("lesson.threshold.nobody"), "body_bold", w) + sc.pad
    else:
        h += thumb + sc.pad // 4 + t.line_height("small") + t.line_height("body_bold") + sc.pad // 2
        if not view.face.watchlist:
            h += t.wrapped_height(s.get("lesson.threshold.no_watchlist"), "body", w) + sc.pad // 2
    knob_r = max(8, round(sc.body * 0.5))
    h += t.line_height("body_bold") + sc.pad // 2 + 2 * knob_r + sc.pad // 3 + t.line_height("small_bold") + sc.pad // 2
    h += t.wrapped_height(s.get("lesson.threshold.scales"), "small", w) + sc.pad // 2
    h += t.wrapped_height(s.get("lesson.threshold.expected_title"), "body_bold", w)
    deps = view.deps
    if deps.fmr is not None:
        lines = 2 if deps.watchlist_size > 0 else 1
        h += lines * t.line_height("body")  # one line each at this width (short texts)
        if not deps.fmr_calibrated:
            h += t.wrapped_height(s.get("lesson.threshold.illustrative"), "small", w)
    else:
        h += t.wrapped_height(s.get("lesson.threshold.not_measured"), "body", w)
    return h + sc.pad // 2 + t.wrapped_height(s.get("lesson.threshold.aclu"), "small", w)


def _draw_slider(target: pygame.Surface, ctx: DrawContext, area: tuple[int, int, int], thr: float, deps: UiDeps) -> int:
    theme, sc, t, s = ctx.theme, ctx.scale, ctx.text, ctx.strings
    x, y, w = area
    mid = y + t.line_height("body_bold") // 2
    t.draw(target, s.get("lesson.threshold.lenient"), "small_bold", theme.muted, (x, mid), anchor="midleft")
    t.draw(target, s.get("lesson.threshold.strict"), "small_bold", theme.muted, (x + w, mid), anchor="midright")
    t.draw(target, s.get("lesson.threshold.threshold", value=s.percent(thr)), "body_bold", theme.accent, (x + w // 2, mid), anchor="center")
    y += t.line_height("body_bold") + sc.pad // 2
    knob_r = max(8, round(sc.body * 0.5))
    track_h = max(6, sc.body // 4)
    tx0, tx1 = x + knob_r, x + w - knob_r
    cy = y + knob_r
    lo, hi = SLIDER_RANGE

    def pos(v: float) -> int:
        return round(tx0 + (tx1 - tx0) * (v - lo) / (hi - lo))

    pygame.draw.rect(target, theme.panel_border, (tx0, cy - track_h // 2, tx1 - tx0, track_h), border_radius=track_h // 2)
    pygame.draw.rect(target, theme.accent, (tx0, cy - track_h // 2, pos(thr) - tx0, track_h), border_radius=track_h // 2)
    marks = [(REKOGNITION_DEFAULT, None), (AWS_POLICE_ADVICE, None)]
    if deps.watchlist_threshold is not None:
        marks.append((deps.watchlist_threshold, "lesson.threshold.mark_kiosk"))
    label_y = cy + knob_r + sc.pad // 3
    for value, label in marks:
        px = pos(value)
        pygame.draw.line(target, theme.text, (px, cy - knob_r), (px, cy + knob_r), max(2, sc.line_px // 2))
        text = s.percent(value) if label is None else s.get(label)
        anchor = "midtop" if value < 0.9 else "topright"
        t.draw(target, text, "small_bold", theme.text, (px if value < 0.9 else min(px + knob_r, x + w), label_y), anchor=anchor)
    pygame.draw.circle(target, theme.text, (pos(thr), cy), knob_r)
    pygame.draw.circle(target, theme.accent, (pos(thr), cy), knob_r, max(2, knob_r // 3))
    ctx.record.slider = (tx0, cy - knob_r, tx1 - tx0, 2 * knob_r)
    # What the 80 % and 99 % marks are is said in the ACLU note below the figures.
    return label_y + t.line_height("small_bold") + sc.pad // 2


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
    who = visitor_label(s, face.visitor_id) if face.visitor_id is not None else s.get("card.identifying")
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

