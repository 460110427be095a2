"""The arc's screens: one pure draw function per step (``draw_arc`` dispatches), drawn into the
panel beside the mirror from an ``ArcView``. The steps and when they change are ``kiosk.ui.arc``;
their texts are ``arc.*`` in ``assets/i18n/``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pygame

from kiosk.infer.uncertainty import shown_age_range, shown_probability
from kiosk.types import FaceView
from kiosk.ui.caveats import marker
from kiosk.ui.deps import UiDeps
from kiosk.ui.dossier import visitor_label
from kiosk.ui.i18n import Strings
from kiosk.ui.memory import Departure
from kiosk.ui.takehome import TakeHome
from kiosk.ui.text import Rect
from kiosk.ui.widgets import DrawContext, button_size, draw_button, draw_marker, draw_side_panel, marker_radius


@dataclass
class ArcView:
    """What one arc screen shows."""

    step: str
    face: FaceView | None
    present: bool
    guesses: list[str]
    frame_size: tuple[int, int]
    deps: UiDeps
    departure: Departure | None
    pipeline_now_s: float | None
    takehome: TakeHome
    can_take_home: bool
    others_in_view: bool = False  # someone else stands there while the visitor's ending shows


def _nav(target: pygame.Surface, ctx: DrawContext, rect: Rect, buttons: list[tuple[str, str, bool]]) -> int:
    """Buttons along the bottom of the panel, right-aligned in the given order (the last is
    "Next"); those that do not fit beside it in a language go to a row above. Returns the top of
    the buttons."""
    sc = ctx.scale
    bh = button_size(ctx, "x")[1]

    def width(key: str, label: str) -> int:
        return button_size(ctx, label)[0] + (bh // 3 if key == "arc_next" else 0)

    room = rect[2] - 3 * sc.pad
    rows: list[list[tuple[str, str, bool]]] = [[]]
    used = 0
    for item in reversed(buttons):
        w = width(item[0], item[1])
        if rows[-1] and used + sc.pad + w > room:
            rows.append([])
            used = 0
        used += w + (sc.pad if rows[-1] else 0)
        rows[-1].append(item)
    y = rect[1] + rect[3] - sc.pad - bh
    for row in rows:
        x = rect[0] + rect[2] - sc.pad
        for key, label, primary in row:
            bw = width(key, label)
            x -= bw
            draw_button(target, ctx, key, label, (x, y, bw, bh), primary=primary,
                        icon="next" if key == "arc_next" else None)
            x -= sc.pad
        y -= bh + sc.pad // 2
    return y + bh + sc.pad // 2


def draw_arc(target: pygame.Surface, ctx: DrawContext, rect: Rect, view: ArcView) -> None:
    """One arc screen in the panel ``rect`` (the lesson panel's place, right of the mirror)."""
    theme, sc, s = ctx.theme, ctx.scale, ctx.strings
    draw_side_panel(target, ctx, rect)
    pygame.draw.line(target, theme.accent, (rect[0], rect[1]), (rect[0], rect[1] + rect[3]), max(2, sc.line_px))
    ctx.record.panel = rect
    step = "takehome" if view.takehome.is_open else view.step
    ctx.record.screen = f"arc:{step}"
    buttons: list[tuple[str, str, bool]] = []
    if step == "takehome":
        buttons.append(("arc_qr_close", s.get("arc.buttons.close"), True))
    else:
        # The take-home offer first: where one row is too narrow for a language it moves up.
        if view.can_take_home and step in ("record", "watchlist", "why", "question"):
            buttons.append(("arc_qr", s.get("arc.buttons.takehome"), step == "question"))
        if step == "record":
            buttons.append(("arc_json", s.get("arc.buttons.json"), False))
        elif step == "watchlist":
            buttons.append(("arc_threshold", s.get("arc.buttons.threshold"), False))
        if step != "question":
            buttons.append(("arc_next", s.get("buttons.next"), True))
    nav_top = _nav(target, ctx, rect, buttons)
    x = rect[0] + 2 * sc.pad
    y = rect[1] + sc.pad
    area = (x, y, rect[2] - 3 * sc.pad, nav_top - sc.pad - y)
    {"dossier": _dossier, "record": _record, "watchlist": _watchlist, "forgetting": _forgetting,
     "why": _why, "question": _question, "takehome": _takehome}[step](target, ctx, area, view)


def sentence(text: str) -> str:
    """``text`` with its first letter capitalised (a name that can open a sentence or sit inside one)."""
    return text[:1].upper() + text[1:]


def _title(target: pygame.Surface, ctx: DrawContext, area: Rect, key: str, sentence: bool = False,
           **values: Any) -> int:
    x, y, w, _ = area
    text = ctx.strings.get(key, **values)
    if sentence:
        text = text[:1].upper() + text[1:]
    return y + ctx.text.draw_wrapped(target, text, "title", ctx.theme.text, (x, y), w) + ctx.scale.pad // 2


def _para(target: pygame.Surface, ctx: DrawContext, x: int, y: int, w: int, text: str, role: str = "body",
          colour: tuple | None = None) -> int:
    return y + ctx.text.draw_wrapped(target, text, role, colour or ctx.theme.text, (x, y), w)


def guess_line(s: Strings, kind: str, face: FaceView, forget_after_s: float) -> str:
    """What was inferred and how sure, in a few words (values as on the card: the calibrated age
    range and gender probability, or no claim of certainty where there is no calibration)."""
    a = face.attributes
    if kind == "age" and a.age is not None:
        shown = shown_age_range(a.age)
        if shown is None:
            return s.get("card.age_no_range", years=int(round(a.age.years)))
        return s.get("arc.dossier.age", years=int(round(a.age.years)), low=shown[0], high=shown[1])
    if kind == "gender" and a.gender is not None:
        v = a.gender.value.lower()
        value = s.get(f"gender.{v}") if v in ("female", "male") else a.gender.value
        if not a.gender.calibrated:
            return s.get("card.gender", value=value)
        return s.get("arc.dossier.gender", value=value, confidence=s.percent(shown_probability(a.gender.probability)))
    if kind == "expression" and a.expression is not None:
        return s.get("arc.dossier.expression", value=s.get(f"expression.{a.expression.top}"))
    if kind == "attention" and a.gaze is not None:
        return s.get("arc.dossier.looking_yes" if a.gaze.at_screen else "arc.dossier.looking_no")
    if kind == "reidentification" and face.visitor_id is not None:
        before = max(0, face.visit_number - 1)
        if before == 0:
            return s.get("arc.dossier.first_visit", duration=s.duration(forget_after_s))
        return s.plural("arc.dossier.seen_before", before)
    return ""


def _dossier(target: pygame.Surface, ctx: DrawContext, area: Rect, view: ArcView) -> None:
    theme, sc, t, s = ctx.theme, ctx.scale, ctx.text, ctx.strings
    x, _, w, _ = area
    y = _title(target, ctx, area, "arc.dossier.title")
    face = view.face
    if face is None or not view.guesses:
        _para(target, ctx, x, y, w, s.get("arc.dossier.waiting"), "body", theme.muted)
        return
    mr = round(marker_radius(sc) * 1.2)
    lh = t.line_height("body")
    indent = 2 * mr + sc.pad // 2
    forget_s = ctx.privacy.forget_after_s
    for i, kind in enumerate(view.guesses):
        text = guess_line(s, kind, face, forget_s)
        newest = i == len(view.guesses) - 1
        draw_marker(target, t, marker(kind), (x + mr, y + lh // 2), theme.accent, mr)
        y = _para(target, ctx, x + indent, y, w - indent, text, "body_bold" if newest else "body",
                  theme.accent if newest else theme.text)
        y += sc.pad // 3
    # The rings are explained where they first appear.
    y += sc.pad // 2
    _para(target, ctx, x, y, w, s.get("arc.dossier.markers", button=s.get("buttons.lessons")), "body", theme.muted)


def _plain_record(s: Strings, record: dict[str, Any]) -> list[str]:
    lines = []
    age, gender = record.get("AgeRange"), record.get("Gender")
    if age and gender:
        value = s.get(f"gender.{str(gender['Value']).lower()}") if str(gender["Value"]).lower() in ("female", "male") else gender["Value"]
        lines.append(s.get("arc.record.age_gender", low=age["Low"], high=age["High"], gender=value,
                           confidence=s.percent(gender["Confidence"] / 100.0)))
    elif age:
        lines.append(s.get("arc.record.age", low=age["Low"], high=age["High"]))
    emotions = record.get("Emotions")
    if emotions:
        lines.append(s.get("arc.record.emotion", value=s.get(f"arc.record.emotions.{emotions[0]['Type'].lower()}")))
    lines.append(s.get("arc.record.also"))
    return lines


def _record(target: pygame.Surface, ctx: DrawContext, area: Rect, view: ArcView) -> None:
    theme, sc, s = ctx.theme, ctx.scale, ctx.strings
    x, _, w, _ = area
    y = _title(target, ctx, area, "arc.record.title")
    face = view.face
    record = view.deps.record(face, view.frame_size) if (face is not None and view.deps.record) else None
    if record is None:
        _para(target, ctx, x, y, w, s.get("arc.record.nobody"), "body", theme.muted)
        return
    for line in _plain_record(s, record):
        y = _para(target, ctx, x, y, w, line, "body") + sc.pad // 3
    y += sc.pad // 2
    _para(target, ctx, x, y, w, s.get("arc.record.keep"), "body_bold", theme.accent)


def _watchlist(target: pygame.Surface, ctx: DrawContext, area: Rect, view: ArcView) -> None:
    theme, sc, s = ctx.theme, ctx.scale, ctx.strings
    x, _, w, _ = area
    y = _title(target, ctx, area, "arc.watchlist.title")
    face = view.face
    matches = sorted(face.watchlist, key=lambda m: -m.score) if face is not None else []
    if not matches:
        key = "arc.watchlist.none" if view.deps.watchlist_size == 0 else "arc.watchlist.searching"
        y = _para(target, ctx, x, y, w, s.get(key), "body") + sc.pad // 2
    else:
        best = matches[0]
        size = view.deps.watchlist_size
        y = _para(target, ctx, x, y, w, s.get("arc.watchlist.closest", name=ctx.portraits.label(s, best.name),
                                              score=s.number(best.score, 2),
                                              size=s.number(size) if size else "?"), "body") + sc.pad // 3
        y = _para(target, ctx, x, y, w, s.get("arc.watchlist.match" if best.passes else "arc.watchlist.no_match"),
                  "body_bold", theme.alert if best.passes else theme.accent) + sc.pad // 2
    _para(target, ctx, x, y, w, s.get("arc.watchlist.lesson"), "body", theme.muted)


def _forgetting(target: pygame.Surface, ctx: DrawContext, area: Rect, view: ArcView) -> None:
    theme, sc, t, s = ctx.theme, ctx.scale, ctx.text, ctx.strings
    x, _, w, _ = area
    # Said to "you" only while nobody else stands there: the person now in front did not leave.
    other = view.others_in_view and not view.present
    sfx = "_other" if other else ""
    visitor = view.face.visitor_id if view.face is not None else None
    who = visitor_label(s, visitor) if visitor is not None else s.get("arc.forgetting.someone")
    y = _title(target, ctx, area, "arc.forgetting.title" + sfx, who=who, sentence=True)
    duration = s.duration(ctx.privacy.forget_after_s)
    dep = view.departure
    if view.present:
        y = _para(target, ctx, x, y, w, s.get("arc.forgetting.when_you_leave", duration=duration), "body")
    elif dep is not None and dep.erased_ui_s is not None:
        y = _para(target, ctx, x, y, w, sentence(s.get("arc.forgetting.erased" + sfx, who=who)), "body_bold",
                  theme.accent)
    elif dep is not None:
        y = _para(target, ctx, x, y, w, sentence(s.get("arc.forgetting.left" + sfx, who=who)), "body") + sc.pad // 2
        remaining = dep.remaining_s(view.pipeline_now_s)
        y = t.draw(target, Strings.clock(remaining), "display", theme.accent, (x, y)).bottom + sc.pad // 2
    else:
        y = _para(target, ctx, x, y, w,
                  sentence(s.get("arc.forgetting.left_unknown" + sfx, duration=duration, who=who)), "body")
    y += sc.pad // 2
    _para(target, ctx, x, y, w, s.get("arc.forgetting.promise"), "body_bold", theme.text)


def _why(target: pygame.Surface, ctx: DrawContext, area: Rect, view: ArcView) -> None:
    theme, sc, s = ctx.theme, ctx.scale, ctx.strings
    x, _, w, h = area
    y = _title(target, ctx, area, "arc.why.title")
    y = _para(target, ctx, x, y, w, s.get("arc.why.letters"), "body") + sc.pad // 2
    _para(target, ctx, x, y, w, s.get("arc.why.fear"), "body_bold", theme.accent)
    _sources(target, ctx, area, s.get("arc.why.sources"))


def _question(target: pygame.Surface, ctx: DrawContext, area: Rect, view: ArcView) -> None:
    theme, sc, s = ctx.theme, ctx.scale, ctx.strings
    x, y, w, h = area
    y = _para(target, ctx, x, y, w, s.get("arc.question.aclu"), "body") + sc.pad
    _para(target, ctx, x, y, w, s.get("arc.question.ask"), "title", theme.accent)
    _sources(target, ctx, area, s.get("arc.question.sources"))


def _sources(target: pygame.Surface, ctx: DrawContext, area: Rect, text: str) -> None:
    x, y, w, h = area
    t = ctx.text
    sh = t.wrapped_height(text, "small", w)
    t.draw_wrapped(target, text, "small", ctx.theme.muted, (x, y + h - sh), w)


def _takehome(target: pygame.Surface, ctx: DrawContext, area: Rect, view: ArcView) -> None:
    theme, sc, t, s = ctx.theme, ctx.scale, ctx.text, ctx.strings
    x, _, w, h = area
    y = _title(target, ctx, area, "arc.takehome.title")
    below = [s.get("arc.takehome.how"), s.get("arc.takehome.only_copy")]
    text_h = sum(t.wrapped_height(p, "body", w) for p in below) + sc.pad
    link = view.takehome.link is not None
    side = min(area[1] + h - y - text_h - sc.pad, w if not link else round(w * 0.68))
    surf = view.takehome.record_surface(side)
    if surf is None:
        y = _para(target, ctx, x, y, w, s.get("arc.takehome.too_small"), "body", theme.alert)
    else:
        target.blit(surf, (x, y))
        view.takehome.drawn_rect = (x, y, surf.get_width(), surf.get_height())
        if link:
            lx = x + surf.get_width() + sc.pad
            lside = min(x + w - lx, surf.get_width() // 2 + sc.pad * 2)
            lsurf = view.takehome.link_surface(lside)
            if lsurf is not None:
                target.blit(lsurf, (lx, y))
                view.takehome.link_rect = (lx, y, lsurf.get_width(), lsurf.get_height())
                t.draw_wrapped(target, s.get("arc.takehome.link"), "body", theme.muted,
                               (lx, y + lsurf.get_height() + sc.pad // 3), x + w - lx)
        y += surf.get_height() + sc.pad
    y = _para(target, ctx, x, y, w, below[0], "body")
    _para(target, ctx, x, y, w, below[1], "body_bold", theme.accent)
