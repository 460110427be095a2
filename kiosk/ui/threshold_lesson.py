"""The watchlist lesson: the visitor searched against the watchlist, and a slider of false-match rates.

What the panel shows, top to bottom:

1. how many portraits the visitor is searched against (or "loading", or "no watchlist");
2. the visitor's live face crop ("You") and the closest portraits with their cosine scores;
   a portrait at or above the threshold gets a "MATCH" band and a thick border. Nobody in view:
   a few portraits of the watchlist and an invitation to step in;
3. the slider: this kiosk's own false-match rate per comparison, 1 in 100 (lenient) to 1 in
   1,000,000 (strict), at the rates its calibration measured, with two marks: "ACLU test"
   (28 / (535 x 25,000) = 2.1e-6 per comparison) and "this kiosk" (the configured threshold);
4. the figures at that rate: expected false matches for this visitor against the loaded
   watchlist, and for 535 members of Congress against 25,000 photos (28 at the ACLU mark,
   by construction, agreeing with the ACLU sentence below it);
5. the ACLU sentence (body text), the fact that AWS publishes no false-match rate for its 99 %
   advice, and whether the current rate is measured or extrapolated from the measured tail.

Every number comes from one function, the calibration's ``fmr(threshold)`` (``UiDeps.fmr``),
inverted here by bisection, so no two numbers on the panel can disagree. Scores are shown as
cosines (0.41), never as percentages: a percentage on this screen would read as a probability
(or as Rekognition's "80 %"), which a cosine is not.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import pygame

from kiosk.ui.rates import (
    ACLU_FMR,
    POSITIONS,
    SLIDER_RATES,
    congress_false_matches,
    expected_false_matches,
    fraction_for_rate,
    one_in,
    rate_for_fraction,
)
from kiosk.ui.portrait_names import PortraitNames
from kiosk.ui.deps import UiDeps
from kiosk.ui.layout import inside, overlaps
from kiosk.ui.text import Rect
from kiosk.ui.widgets import DrawContext

MAX_PORTRAITS = 3
INVITE_PORTRAITS = 4


def threshold_for_rate(fmr: Callable[[float], float], rate: float) -> float:
    """The cosine threshold at which ``fmr`` (monotone non-increasing) equals ``rate``: bisection."""
    lo, hi = -1.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if fmr(mid) > rate:
            lo = mid
        else:
            hi = mid
    return hi


@dataclass(frozen=True, slots=True)
class SliderReading:
    """Everything the panel says about one slider position (one source: the calibration)."""

    fraction: float
    rate: float
    threshold: float | None  # None: no calibration, so no threshold can be derived
    extrapolated: bool
    expected_you: float | None
    congress: float


def reading(deps: UiDeps, fraction: float, watchlist_size: int) -> SliderReading:
    rate = rate_for_fraction(fraction)
    # Snap exactly onto the named rates (the slider only stops there) so "1 in 480,000" and 28 agree.
    for r, p in zip(SLIDER_RATES, POSITIONS):
        if abs(p - fraction) < 1e-9:
            rate = r
    threshold = threshold_for_rate(deps.fmr, rate) if deps.fmr is not None else None
    extrapolated = deps.fmr_measured_down_to > 0 and rate < deps.fmr_measured_down_to * (1 - 1e-9)
    expected = expected_false_matches(rate, watchlist_size) if watchlist_size > 0 else None
    return SliderReading(fraction, rate, threshold, extrapolated, expected, congress_false_matches(rate))


def format_count(ctx: DrawContext, value: float) -> str:
    """Expected false matches: "< 0.01", "0.13", "2.5", "28", "1,340", "134,000" (3 significant digits)."""
    s = ctx.strings
    if value < 0.01:
        return "< " + s.number(0.01, 2)
    if value < 1:
        return s.number(value, 2)
    if value < 10:
        return s.number(value, 1)
    if value < 1000:
        return s.number(round(value), 0)
    digits = len(str(int(value))) - 3
    return s.number(round(value, -digits), 0)


def _label(ctx: DrawContext, deps: UiDeps, name: str) -> str:
    return PortraitNames.from_deps(deps).label(ctx.strings, name)


def fit_name(ctx: DrawContext, label: str, style: str, width: int) -> str:
    """``label`` as it fits ``width``: whole; else given names as initials ("A. Skvortsov"), so a
    name is shortened the way people shorten names, not cut ("Aleksandr Skv…"); cut only if even
    the surname alone does not fit."""
    t = ctx.text
    if t.size(label, style)[0] <= width:
        return label
    words = label.split()
    if len(words) > 1:
        short = " ".join([w[0] + "." for w in words[:-1]] + words[-1:])
        if t.size(short, style)[0] <= width:
            return short
    return t.ellipsize(label, style, width)


_thumbs: dict[tuple[int, str, int], pygame.Surface | None] = {}


def portrait_surface(deps: UiDeps, name: str, size: int) -> pygame.Surface | None:
    """The portrait's thumbnail as a ``size`` square surface, or None (a silhouette is drawn)."""
    key = (id(deps.portrait), name, size)
    if key not in _thumbs:
        image = deps.portrait(name) if deps.portrait is not None else None  # not truthiness: may be empty
        surf = None
        if image is not None and image.ndim == 3 and image.shape[0] > 1 and image.shape[1] > 1:
            h, w = image.shape[:2]
            side = min(h, w)
            crop = image[(h - side) // 2:(h - side) // 2 + side, (w - side) // 2:(w - side) // 2 + side]
            rgb = cv2.cvtColor(cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
            surf = pygame.image.frombuffer(np.ascontiguousarray(rgb).tobytes(), (size, size), "RGB").copy()
        if len(_thumbs) > 256:
            _thumbs.clear()
        _thumbs[key] = surf
    return _thumbs[key]


def silhouette(target: pygame.Surface, rect: Rect, colour: tuple) -> None:
    """A head-and-shoulders placeholder where no portrait image is available."""
    x, y, w, h = rect
    clip = target.get_clip()
    target.set_clip(pygame.Rect(rect))
    pygame.draw.circle(target, colour, (x + w // 2, y + int(h * 0.4)), int(w * 0.2))
    pygame.draw.ellipse(target, colour, (x + int(w * 0.18), y + int(h * 0.66), int(w * 0.64), int(h * 0.6)))
    target.set_clip(clip)


def _status(deps: UiDeps) -> tuple[int, bool, int, int]:
    """(portraits loaded, loading?, done, total) from the live status or the fixed size."""
    if deps.watchlist_status is not None:
        st = deps.watchlist_status()
        return st.loaded, st.loading, st.done, st.total
    return deps.watchlist_size, False, 0, 0


def draw_threshold_lesson(target: pygame.Surface, ctx: DrawContext, area: Rect, view: Any) -> None:
    """``view``: a ``kiosk.ui.lessons.LessonView`` (its ``threshold`` is the slider position 0..1)."""
    # long: one panel laid out top to bottom (the visitor and closest portraits, the slider, the
    # figures at this rate), each part placed below the previous one's measured height; the banners
    # mark its three parts
    theme, sc, t, s = ctx.theme, ctx.scale, ctx.text, ctx.strings
    x, y, w, h = area
    bottom = y + h
    deps: UiDeps = view.deps
    size, loading, done, total = _status(deps)
    rd = reading(deps, view.threshold, size)

    y += t.draw_wrapped(target, s.get("lesson.threshold.title"), "title", theme.text, (x, y), w) + sc.pad // 2
    if loading:
        intro = s.get("lesson.threshold.loading", done=s.number(done), total=s.number(total))
    elif size > 0:
        intro = s.get("lesson.threshold.intro", n=s.number(size))
    else:
        intro = s.get("lesson.threshold.no_watchlist")
    y += t.draw_wrapped(target, intro, "body", theme.text if size else theme.muted, (x, y), w) + sc.pad // 2

    # --- the visitor and the closest portraits -------------------------------------------------
    cell_w = (w - 3 * sc.pad) // 4
    thumb = min(round(ctx.size[1] * 0.1), cell_w)
    face = view.face
    cells: list[tuple[str, Any]] = []
    if face is not None:
        cells = [("you", None)] + [("match", m) for m in sorted(face.watchlist, key=lambda m: -m.score)[:MAX_PORTRAITS]]
    elif size > 0:
        cells = [("invite", n) for n in deps.watchlist_names[:INVITE_PORTRAITS]]
    if cells:
        cx = x
        for kind, m in cells:
            r = (cx + (cell_w - thumb) // 2, y, thumb, thumb)
            pygame.draw.rect(target, theme.background, r)
            yy = y + thumb + sc.pad // 4
            if kind == "you":
                if view.you is not None:
                    target.blit(pygame.transform.smoothscale(view.you, (thumb, thumb)), r[:2])
                else:
                    silhouette(target, r, theme.muted)
                pygame.draw.rect(target, theme.accent, r, max(2, sc.line_px))
                t.draw(target, s.get("lesson.threshold.you"), "body_bold", theme.text, (cx + cell_w // 2, yy), anchor="midtop")
            else:
                name = m.name if kind == "match" else m
                portrait = portrait_surface(deps, name, thumb)
                if portrait is not None:
                    target.blit(portrait, r[:2])
                else:
                    silhouette(target, r, theme.muted)
                is_match = kind == "match" and rd.threshold is not None and m.score >= rd.threshold
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
                t.draw(target, fit_name(ctx, _label(ctx, deps, name), "small", cell_w), "small", theme.muted,
                       (cx + cell_w // 2, yy), anchor="midtop")
                if kind == "match":
                    t.draw(target, s.number(m.score, 2), "body_bold", theme.alert if is_match else theme.text,
                           (cx + cell_w // 2, yy + t.line_height("small")), anchor="midtop")
            cx += cell_w + sc.pad
        y += thumb + sc.pad // 4 + t.line_height("small") + sc.pad // 3
        if face is not None:
            y += t.line_height("body_bold")  # the score row
    if face is None:
        y += t.draw_wrapped(target, s.get("lesson.threshold.nobody"), "body_bold", theme.text, (x, y), w) + sc.pad // 3

    # --- the slider ------------------------------------------------------------------------------
    y = draw_rate_slider(target, ctx, (x, y, w), rd, deps)

    # --- figures at this rate --------------------------------------------------------------------
    if deps.fmr is None:
        y += t.draw_wrapped(target, s.get("lesson.threshold.not_measured"), "body", theme.muted, (x, y), w)
    else:
        if rd.expected_you is not None:
            y += t.draw_wrapped(target, s.get("lesson.threshold.expected_you", n=s.number(size),
                                              value=format_count(ctx, rd.expected_you)), "body", theme.text, (x, y), w)
        y += t.draw_wrapped(target, s.get("lesson.threshold.expected_congress", value=format_count(ctx, rd.congress)),
                            "body_bold", theme.text, (x, y), w)
    y += sc.pad // 3
    y += t.draw_wrapped(target, s.get("lesson.threshold.aclu"), "body", theme.text, (x, y), w) + sc.pad // 4
    for note in lesson_notes(ctx, deps, rd, bottom - y, w):
        y += t.draw_wrapped(target, note, "small", theme.muted, (x, y), w)


def lesson_notes(ctx: DrawContext, deps: UiDeps, rd: SliderReading, space: int, width: int) -> list[str]:
    """The small print under the ACLU sentence, in the order shown, as much as fits in ``space``.

    The note that qualifies the figures above it ("illustrative", or "extrapolated" at a rate
    below what the calibration counted) comes first and is kept; when space runs short the others
    are left out first ("measured", then the AWS note, then the bias sentence). The one exception:
    the explanation of "extrapolated" gives way to the bias sentence, because the slider's row
    under the rate already says "extrapolated" (:func:`draw_rate_slider`).
    """
    s, t = ctx.strings, ctx.text
    qualifier = None
    optional_qualifier = False
    if deps.fmr is not None and not deps.fmr_calibrated:
        qualifier = s.get("lesson.threshold.illustrative")
    elif rd.extrapolated:
        # The slider's own row already says "extrapolated"; the explanation is added where it fits.
        qualifier = s.get("lesson.threshold.extrapolated", n=s.number(one_in(deps.fmr_measured_down_to)))
        if t.wrapped_height(qualifier, "small", width) + _bias_height(ctx, deps, width) > space:
            qualifier = None
            optional_qualifier = True
    bias = None
    if deps.bias is not None:
        b = deps.bias
        bias = s.get("lesson.threshold.bias", n=s.number(one_in(b["rate"])),
                     ratio=s.number(b["ratio"], 0 if b["ratio"] >= 10 else 1),
                     high=s.get(f"lesson.threshold.groups.{b['high']}"), low=s.get(f"lesson.threshold.groups.{b['low']}"))
    measured = (s.get("lesson.threshold.measured")
                if deps.fmr is not None and qualifier is None and not optional_qualifier else None)
    aws = s.get("lesson.threshold.aws")
    shown = [n for n in (qualifier, bias, aws, measured) if n is not None]  # display order
    keep = [n for n in (qualifier, bias, aws, measured) if n is not None]  # what goes last when short
    while len(keep) > 1 and sum(t.wrapped_height(n, "small", width) for n in keep) > space:
        keep.pop()
    if qualifier is None and keep and t.wrapped_height(keep[0], "small", width) > space:
        keep = []
    return [n for n in shown if n in keep]


def _bias_height(ctx: DrawContext, deps: UiDeps, width: int) -> int:
    if deps.bias is None:
        return 0
    b, s = deps.bias, ctx.strings
    text = s.get("lesson.threshold.bias", n=s.number(one_in(b["rate"])), ratio=s.number(b["ratio"], 0 if b["ratio"] >= 10 else 1),
                 high=s.get(f"lesson.threshold.groups.{b['high']}"), low=s.get(f"lesson.threshold.groups.{b['low']}"))
    return ctx.text.wrapped_height(text, "small", width)


def draw_rate_slider(target: pygame.Surface, ctx: DrawContext, area: tuple[int, int, int], rd: SliderReading,
                     deps: UiDeps) -> int:
    """The slider of false-match rates with its stops and marks; returns the y below it."""
    theme, sc, t, s = ctx.theme, ctx.scale, ctx.text, ctx.strings
    x, y, w = area
    # Row 1: the rate (the slider's value), "≈" when it is extrapolated. Row 2: lenient and strict
    # at the ends, the cosine threshold that rate means in the middle.
    rate_text = s.get("lesson.threshold.rate", n=s.number(one_in(rd.rate)))
    if rd.extrapolated:
        rate_text = "≈ " + rate_text
    t.draw(target, rate_text, "body_bold", theme.accent, (x + w // 2, y + t.line_height("body_bold") // 2), anchor="center")
    y += t.line_height("body_bold")
    mid = y + t.line_height("small_bold") // 2
    lenient, strict = s.get("lesson.threshold.lenient"), s.get("lesson.threshold.strict")
    t.draw(target, lenient, "small_bold", theme.muted, (x, mid), anchor="midleft")
    t.draw(target, strict, "small_bold", theme.muted, (x + w, mid), anchor="midright")
    side = 2 * max(t.size(lenient, "small_bold")[0], t.size(strict, "small_bold")[0]) + sc.pad
    middle = None
    if rd.threshold is not None:
        middle = s.get("lesson.threshold.score", value=s.number(rd.threshold, 2))
    if rd.extrapolated:
        # Said in words right under the "≈" rate, at every extrapolated stop: the small print
        # below may have no room for its longer explanation.
        middle = s.get("lesson.threshold.score_extrapolated", value=s.number(rd.threshold, 2)) \
            if rd.threshold is not None else None
        if middle is None or t.size(middle, "small")[0] > w - side:
            middle = s.get("lesson.threshold.extrapolated_short")
    if middle is not None:
        t.draw(target, t.ellipsize(middle, "small", w - side), "small", theme.muted, (x + w // 2, mid), anchor="center")
    y += t.line_height("small_bold") + sc.pad // 4
    knob_r = max(8, round(sc.body * 0.5))
    track_h = max(6, sc.body // 4)
    tx0, tx1 = x + knob_r, x + w - knob_r
    cy = y + knob_r

    def pos(fraction: float) -> int:
        return round(tx0 + (tx1 - tx0) * fraction)

    pygame.draw.rect(target, theme.panel_border, (tx0, cy - track_h // 2, tx1 - tx0, track_h), border_radius=track_h // 2)
    pygame.draw.rect(target, theme.accent, (tx0, cy - track_h // 2, pos(rd.fraction) - tx0, track_h),
                     border_radius=track_h // 2)
    for p in POSITIONS:  # the stops: small ticks
        pygame.draw.line(target, theme.muted, (pos(p), cy - knob_r // 2), (pos(p), cy + knob_r // 2), max(1, sc.line_px // 2))
    label_y = cy + knob_r + sc.pad // 4
    marks: list[tuple[float, str]] = [(fraction_for_rate(ACLU_FMR), s.get("lesson.threshold.mark_aclu"))]
    if deps.watchlist_threshold is not None and deps.fmr is not None:
        marks.append((fraction_for_rate(deps.fmr(deps.watchlist_threshold)), s.get("lesson.threshold.mark_kiosk")))
    placed: list[tuple[int, int]] = []  # label spans on the first row
    rows = 1
    for fraction, label in sorted(marks):
        px = pos(fraction)
        pygame.draw.line(target, theme.text, (px, cy - knob_r), (px, cy + knob_r), max(2, sc.line_px // 2))
        lw = t.size(label, "small_bold")[0]
        lx = min(max(px - lw // 2, x), x + w - lw)
        clash = any(lx <= b and lx + lw >= a for a, b in placed)
        if clash:
            rows = 2  # a second row rather than two labels on top of each other
        else:
            placed.append((lx - sc.pad // 2, lx + lw + sc.pad // 2))
        t.draw(target, label, "small_bold", theme.text, (lx, label_y + (t.line_height("small_bold") if clash else 0)))
    pygame.draw.circle(target, theme.text, (pos(rd.fraction), cy), knob_r)
    pygame.draw.circle(target, theme.accent, (pos(rd.fraction), cy), knob_r, max(2, knob_r // 3))
    ctx.record.slider = (tx0, cy - knob_r, tx1 - tx0, 2 * knob_r)
    return label_y + rows * t.line_height("small_bold") + sc.pad // 3


def mark_searched_face(target: pygame.Surface, ctx: DrawContext, mframe: Any, face: Any, snap: Any,
                       avoid: tuple[Rect, ...] = ()) -> None:
    """With several people in view, mark on the mirror whose face the lesson searched: an outline
    around (never over) their box and the lesson's "You" above it."""
    if sum(1 for f in snap.faces if f.consented) < 2:
        return
    from kiosk.ui.mirror import face_key  # the overlay's own key for the face

    entry = mframe.boxes.get(face_key(face))
    if entry is None:
        return
    (bx, by, bw, bh), _identified, _label = entry
    sc, theme, t = ctx.scale, ctx.theme, ctx.text
    gap = max(4, sc.line_px * 2)
    width = max(3, sc.line_px * 2)
    outer = pygame.Rect(bx - gap - width, by - gap - width, bw + 2 * (gap + width), bh + 2 * (gap + width))
    pygame.draw.rect(target, theme.accent, outer, width, border_radius=gap * 2)
    word = ctx.strings.get("lesson.threshold.you")
    tw, th = t.size(word, "small_bold")
    # Above the ring, else below it; never over a card, chip or panel (the ring alone still
    # says whose face it is when neither place is free).
    rec = ctx.record
    taken = [*rec.cards.values(), *rec.chips.values(), *rec.tags.values(),
             *(r for r in (rec.banner, rec.panel, rec.consent, *avoid) if r is not None)]
    screen = (0, 0, *target.get_size())
    tag = None
    for place in ("above", "below"):
        cand = pygame.Rect(0, 0, tw + sc.pad // 2, th + 2)
        if place == "above":
            cand.midbottom = (outer.centerx, outer.top - 2)
        else:
            cand.midtop = (outer.centerx, outer.bottom + 2)
        r = (cand.x, cand.y, cand.w, cand.h)
        if (inside(r, screen) and not any(overlaps(r, o) for o in taken)
                and not any(overlaps(r, f, rec.face_margin) for f in rec.boxes.values())):
            tag = cand
            break
    if tag is None:
        return
    rec.tags["you"] = (tag.x, tag.y, tag.w, tag.h)
    pygame.draw.rect(target, theme.accent, tag, border_radius=th // 3)
    t.draw(target, word, "small_bold", theme.accent_text, tag.center, anchor="center")


def judge_at_slider(snap: Any, deps: UiDeps, fraction: float) -> Any:
    """``snap`` with every watchlist candidate's ``passes`` re-judged at the slider's threshold
    (unchanged without a calibration). Cheap: a few comparisons per face, new objects only
    where something changes."""
    from dataclasses import replace

    if deps.fmr is None or not any(f.watchlist for f in snap.faces):
        return snap
    thr = reading(deps, fraction, 0).threshold
    if thr is None:
        return snap
    faces = []
    changed = False
    for f in snap.faces:
        wl = tuple(m if m.passes == (m.score >= thr) else replace(m, passes=m.score >= thr) for m in f.watchlist)
        if wl != f.watchlist:
            changed = True
            f = replace(f, watchlist=wl)
        faces.append(f)
    return replace(snap, faces=tuple(faces)) if changed else snap
