"""A visitor's sixty seconds: the arc of short screens beside the mirror.

Visitors give an exhibit seconds, not minutes. The arc walks the visitor in front of the kiosk
(the largest consented face) through what the system does to them, one short screen at a time
(≤ 30 words at body size each; sources in small print):

1. ``dossier``    their file, line by line, as each guess is made: what was inferred and how
                  sure, with the caveat ring explained where it first appears;
2. ``record``     what a company would keep, in plain words (the FaceDetail JSON one tap away:
                  the "record" lesson);
3. ``watchlist``  the watchlist moment: their closest portrait and the verdict (the full
                  threshold lesson one tap away: ``kiosk.ui.lessons``);
4. ``why``        why the kiosk exists: the January 2019 letters;
5. ``question``   the ACLU's 2018 test and a question to take away; the take-home code offer;
   ``forgetting`` as soon as they step away: the countdown to their erasure; then the why and the
                  question if they had not seen them yet; then the screen is free again.

Driven by the visitor, not by a slow timer: the dossier advances when its guesses are in, the
later screens after ``READ_S`` of *reading time* — time the visitor spends looking at the screen
(half speed while they look away, so the arc never stalls) — or at once when they touch "Next".
Leaving starts the forgetting whatever the step.

Educators step through every screen by hand (F3, Shift+F3 back; on touch screens three quick taps
on the privacy banner); automatic advancing pauses for ``MANUAL_HOLD_S`` after their last step.

Pure logic plus pure draw functions: ``Arc`` runs on explicit times (tested without pygame
timing), ``draw_arc`` draws one step into the panel on the right of the screen.

Over 500 lines: the steps' state machine (``Arc``) and their draw functions change together
whenever a step is added or reworded, so they are kept in one file; the ``--- drawing`` banner
is where to cut if it grows further.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pygame

from kiosk.infer.uncertainty import shown_age_range, shown_probability
from kiosk.types import FaceView
from kiosk.ui.caveats import marker
from kiosk.ui.dossier import visitor_label
from kiosk.ui.i18n import Strings
from kiosk.ui.memory import Departure
from kiosk.ui.settings import UiDeps
from kiosk.ui.takehome import TakeHome
from kiosk.ui.text import DrawnText, Rect
from kiosk.ui.widgets import DrawContext, button_size, draw_button, draw_marker, draw_panel, marker_radius

STEPS: tuple[str, ...] = ("dossier", "record", "watchlist", "why", "question")
"""The arc of a visitor who stays, in order; ``forgetting`` comes whenever they leave."""
ALL_STEPS: tuple[str, ...] = ("dossier", "record", "watchlist", "forgetting", "why", "question")
"""Every screen, in the order an educator steps through them."""
GUESS_KINDS: tuple[str, ...] = ("age", "gender", "expression", "attention", "reidentification")
"""The guesses narrated on the dossier screen, by caveat kind (the watchlist has its own step)."""

READ_S = 8.0
"""Reading time (looking at the screen) before a screen gives way to the next one."""
DOSSIER_SETTLE_S = 4.0
"""A dossier is complete when every guess is in, or no new guess came for this long (guesses
the operator switched off never come)."""
DOSSIER_READ_S = 4.0
"""Reading time on the complete dossier before the record."""
AWAY_RATE = 0.5
"""Reading time counts at this rate while the visitor looks away (or their gaze is unknown)."""
GONE_S = 1.5
SAME_PLACE_IOU = 0.3
"""A new track whose box overlaps the subject's last box this much (and that re-identification
has not told apart) is the subject again."""


def box_iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
"""The visitor is gone when their face has been missing this long (a missed detection is not
leaving)."""
FORGETTING_S = 7.0
"""After they leave: the countdown screen for this long, then the why and the question."""
END_STEP_S = 10.0
"""After they leave, the why and the question each stay this long (nobody is reading to time)."""
MANUAL_HOLD_S = 120.0
"""Automatic advancing pauses this long after an educator's last step."""
STAFF_TAPS = 3
STAFF_TAP_WINDOW_S = 1.5
"""Three taps on the privacy banner within 1.5 s: the staff's "next step" on touch screens."""
MAX_WORDS = 30
"""Words at body size on one arc screen (sources in small print are not counted)."""

_WORD = re.compile(r"\w", re.UNICODE)


def count_words(texts: Iterable[str]) -> int:
    """Words as a reader counts them: whitespace-separated tokens with a letter or a digit
    ("80 %" is one word, "·" none)."""
    return sum(1 for text in texts for token in text.split() if _WORD.search(token))


def screen_words(texts: Iterable[DrawnText], panel: Rect, buttons: Iterable[Rect]) -> tuple[int, list[str]]:
    """Words at body size or larger inside ``panel`` (button labels excluded), and the texts
    drawn there in small print (which must only be sources)."""
    x, y, w, h = panel
    btns = list(buttons)

    def inside(r: Rect, box: Rect) -> bool:
        return r[0] >= box[0] - 1 and r[1] >= box[1] - 1 and r[0] + r[2] <= box[0] + box[2] + 1 and r[1] + r[3] <= box[1] + box[3] + 1

    big, small = [], []
    for t in texts:
        if not inside(t.rect, (x, y, w, h)) or any(inside(t.rect, b) for b in btns):
            continue
        (small if t.role in ("small", "small_bold", "mono") else big).append(t.text)
    return count_words(big), small


def guesses_of(face: FaceView | None) -> set[str]:
    """Which of ``GUESS_KINDS`` the system has made about ``face`` so far."""
    if face is None:
        return set()
    a = face.attributes
    made = set()
    if a.age is not None:
        made.add("age")
    if a.gender is not None:
        made.add("gender")
    if a.expression is not None and a.expression.probabilities:
        made.add("expression")
    if a.gaze is not None:
        made.add("attention")
    if face.visitor_id is not None:
        made.add("reidentification")
    return made


@dataclass
class Arc:
    """Which arc screen shows, for whom, and since when (the UI thread owns it)."""

    forget_after_s: float = 300.0
    step: str | None = None
    step_since_s: float = 0.0
    read_s: float = 0.0
    subject_track: int | None = None
    subject_visitor: int | None = None
    subject: FaceView | None = None  # the newest view of the visitor the arc is about
    last_seen_s: float = -math.inf
    left_s: float | None = None  # when they were found gone (the ending runs on this)
    guesses: list[tuple[str, float]] = field(default_factory=list)  # kind, when it first came
    seen: set[str] = field(default_factory=set)
    manual_until_s: float = -math.inf
    history: list[str] = field(default_factory=list)  # steps entered, oldest first (tests, log)
    _last_s: float | None = None
    _staff_taps: list[float] = field(default_factory=list)

    # --- queries ----------------------------------------------------------------------------------

    @property
    def visible(self) -> bool:
        return self.step is not None

    def manual(self, now_s: float) -> bool:
        return now_s < self.manual_until_s

    def present(self, now_s: float) -> bool:
        return self.subject is not None and now_s - self.last_seen_s <= GONE_S

    def holding(self, now_s: float) -> bool:
        """The arc's ending (or an educator) is on screen for someone who left: no attract yet."""
        return self.step is not None and (self.left_s is not None or self.manual(now_s) or self.subject is None)

    # --- transitions ------------------------------------------------------------------------------

    def _go(self, step: str | None, now_s: float) -> None:
        if step == self.step:
            return
        self.step = step
        self.step_since_s = now_s
        self.read_s = 0.0
        if step is not None:
            self.seen.add(step)
            self.history.append(step)
            del self.history[:-100]

    def _start(self, face: FaceView, now_s: float) -> None:
        self.subject_track, self.subject_visitor, self.subject = face.track_id, face.visitor_id, face
        self.last_seen_s = now_s
        self.left_s = None
        self.guesses = []
        self.seen = set()
        self.step = None
        self._go("dossier", now_s)

    def _end(self, now_s: float) -> None:
        self._go(None, now_s)
        self.subject = None
        self.subject_track = self.subject_visitor = None
        self.left_s = None
        self.guesses = []

    def in_view(self, faces: Sequence[FaceView]) -> FaceView | None:
        """The subject's face among ``faces`` (the newest snapshot), or None."""
        if self.subject is None:
            return None
        return next((f for f in faces if self._is_subject(f)), None)

    def _is_subject(self, face: FaceView) -> bool:
        if face.track_id == self.subject_track:
            return True
        if self.subject_visitor is not None and face.visitor_id is not None:
            return face.visitor_id == self.subject_visitor
        # A new track on the same face (the tracker lost it for a moment, a cut in a video),
        # not yet told apart by re-identification: the same place is the same visitor, so the
        # person still standing there is not told "You left".
        return (self.subject is not None and self.left_s is None
                and box_iou(face.box_xyxy, self.subject.box_xyxy) >= SAME_PLACE_IOU)

    def update(self, now_s: float, faces: list[FaceView], main: FaceView | None) -> str | None:
        """Advance with the faces in view (consented ones) and the one a lesson would be about."""
        dt_s = 0.0 if self._last_s is None else max(0.0, min(0.5, now_s - self._last_s))
        self._last_s = now_s
        mine = next((f for f in faces if self.subject is not None and self._is_subject(f)), None)
        if mine is not None:
            self.subject, self.last_seen_s, self.subject_track = mine, now_s, mine.track_id
            if mine.visitor_id is not None:
                self.subject_visitor = mine.visitor_id
            if self.left_s is not None:  # back before the ending finished: continue where they were
                self.left_s = None
                if self.step == "forgetting":
                    self._go(self._next_auto(), now_s)
        if self.step is None:
            if main is not None:
                self._start(main, now_s)
            return self.step
        if self.subject is not None and mine is None and self.left_s is None and now_s - self.last_seen_s > GONE_S:
            self.left_s = now_s
            if not self.manual(now_s):
                self._go("forgetting", now_s)
        if self.manual(now_s):
            return self.step
        if self.left_s is not None or self.subject is None:
            self._advance_ending(now_s, main)
            return self.step
        # Present: reading time, then the next screen.
        gaze = self.subject.attributes.gaze
        self.read_s += dt_s * (1.0 if gaze is not None and gaze.at_screen else AWAY_RATE)
        made = guesses_of(self.subject)
        for kind in GUESS_KINDS:
            if kind in made and kind not in {k for k, _ in self.guesses}:
                self.guesses.append((kind, now_s))
        if self.step == "dossier":
            if self._dossier_complete(now_s):
                last = max((t for _, t in self.guesses), default=now_s)
                if now_s - last >= DOSSIER_READ_S and self.read_s >= DOSSIER_READ_S:
                    self._go("record", now_s)
        elif self.step in ("record", "watchlist", "why") and self.read_s >= READ_S:
            self._go(self._next_auto(), now_s)
        return self.step

    def _dossier_complete(self, now_s: float) -> bool:
        if len(self.guesses) == len(GUESS_KINDS):
            return True
        last = max((t for _, t in self.guesses), default=None)
        return last is not None and now_s - last >= DOSSIER_SETTLE_S

    def _next_auto(self) -> str:
        """The next screen of a present visitor (the question stays until they leave)."""
        if self.step not in STEPS:
            return next((s for s in STEPS[1:] if s not in self.seen), "question")
        i = STEPS.index(self.step)
        return STEPS[min(i + 1, len(STEPS) - 1)]

    def _advance_ending(self, now_s: float, main: FaceView | None) -> None:
        """They left (or the why was opened from the attract screen): forgetting, then the why
        and the question unless seen, then the screen is free for the next visitor."""
        in_step = now_s - self.step_since_s
        if self.step == "forgetting":
            if in_step >= FORGETTING_S:
                nxt = next((s for s in ("why", "question") if s not in self.seen), None)
                self._finish_or(nxt, now_s, main)
        elif self.step in ("why", "question"):
            if in_step >= END_STEP_S:
                nxt = "question" if self.step == "why" and "question" not in self.seen else None
                self._finish_or(nxt, now_s, main)
        else:
            self._go("forgetting", now_s)

    def _finish_or(self, nxt: str | None, now_s: float, main: FaceView | None) -> None:
        if nxt is not None:
            self._go(nxt, now_s)
            return
        self._end(now_s)
        if main is not None:
            self._start(main, now_s)

    # --- interactions -----------------------------------------------------------------------------

    def next(self, now_s: float) -> None:
        """The visitor touched "Next": the next screen now."""
        if self.step is None:
            return
        if self.left_s is not None or self.subject is None:
            self.step_since_s = -math.inf  # the ending moves on at once
            self._advance_ending(now_s, None)
            return
        self._go(self._next_auto(), now_s)

    def open_why(self, now_s: float) -> None:
        """From the attract screen: the why and the question, for whoever is there."""
        if self.step is None or self.subject is None:
            self._end(now_s)
            self.seen = set()
            self._go("why", now_s)

    def staff_step(self, now_s: float, delta: int = 1) -> str:
        """An educator steps through every screen by hand (and pauses the automatic advance)."""
        self.manual_until_s = now_s + MANUAL_HOLD_S
        if self.step not in ALL_STEPS:
            self._go(ALL_STEPS[0] if delta > 0 else ALL_STEPS[-1], now_s)
        else:
            self._go(ALL_STEPS[(ALL_STEPS.index(self.step) + delta) % len(ALL_STEPS)], now_s)
        return self.step or ""

    def staff_tap(self, now_s: float) -> bool:
        """A tap on the banner; the third within ``STAFF_TAP_WINDOW_S`` is a staff step."""
        self._staff_taps = [t for t in self._staff_taps if now_s - t <= STAFF_TAP_WINDOW_S] + [now_s]
        if len(self._staff_taps) >= STAFF_TAPS:
            self._staff_taps = []
            self.staff_step(now_s)
            return True
        return False


# --- drawing ---------------------------------------------------------------------------------------

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
    draw_panel(target, ctx, rect, radius=0)
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
    forget_s = ctx.settings.forget_after_s
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
    duration = s.duration(ctx.settings.forget_after_s)
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
