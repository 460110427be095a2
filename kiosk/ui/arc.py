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

Pure logic: ``Arc`` runs on explicit times (tested without pygame timing); its screens are drawn
by ``kiosk.ui.arc_screens.draw_arc`` into the panel on the right of the screen.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kiosk.types import FaceView
from kiosk.ui.text import DrawnText, Rect

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
