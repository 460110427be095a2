"""The screen's state machine: camera trouble, attract, mirror, lesson; timers and interactions.

Pure logic on explicit times (no pygame, no clock of its own), so every transition is tested
with made-up times.

Screens:

* ``attract``: nobody in view for ``attract_after_s``: an invitation, the privacy promise and
  today's counters. Also while the camera delivers nothing (missing, failing, starting): the
  mirror is marked as paused and the lessons stay open to visitors; there is no staff-only
  screen (``camera`` is kept as a name for old callers and is never entered).
* ``mirror``: the mirrored camera image with a dossier card per face.
* ``lesson``: the mirror shrinks to the left and a lesson panel opens on the right. Without
  interaction, lessons alternate with the plain mirror: ``lesson_after_s`` of mirror, then one
  lesson for ``lesson_rotate_s``, then mirror again, then the next lesson. Any touch or key
  (next, previous, slider) makes the visitor the driver: nothing changes by itself until
  ``interaction_hold_s`` passes without input.

When the screen returns to ``attract`` the language goes back to the configured one, so the next
visitor is not greeted in the previous visitor's choice.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from kiosk.ui.rates import AUTO_DWELL_S, AUTO_RATES, POSITIONS, fraction_for_rate, snap, step
from kiosk.config import UiConfig

CAVEAT_PAGES = 3
LESSONS: tuple[str, ...] = ("threshold", *(f"caveats:{i}" for i in range(CAVEAT_PAGES)), "record")
"""Lesson panels in rotation order; the caveats lesson has one panel per two caveats."""

SLIDER_RANGE: tuple[float, float] = (0.0, 1.0)
"""The threshold slider's position: 0 lenient .. 1 strict, on the false-match-rate scale of
``kiosk.ui.rates`` (1 in 100 .. 1 in 1,000,000 comparisons)."""
SLIDER_STEP = 1  # keys move one slider position (kiosk.ui.rates.POSITIONS)

MODES: tuple[str, ...] = ("camera", "attract", "mirror", "lesson")


@dataclass
class UiState:
    """Mutable screen state; owned by the UI thread."""

    ui: UiConfig  # the screen's options (times, languages, debug overlay)
    mode: str = "attract"
    language: str = ""
    lesson_index: int = 0
    mode_since_s: float = 0.0
    last_face_s: float = -math.inf
    last_interaction_s: float = -math.inf
    slider: float = POSITIONS[0]
    slider_manual_s: float = -math.inf  # last touch of the slider; -inf: not touched by this visitor
    debug: bool = False
    camera_ok: bool = True
    history: list[str] = field(default_factory=list)  # transitions, newest last (for tests and the log)

    def __post_init__(self) -> None:
        if not self.language:
            self.language = self.ui.language
        self.debug = self.debug or self.ui.debug_overlay

    # --- queries -------------------------------------------------------------------------------

    @property
    def lesson(self) -> str:
        return LESSONS[self.lesson_index % len(LESSONS)]

    def interacting(self, now_s: float) -> bool:
        return now_s - self.last_interaction_s < self.ui.interaction_hold_s

    def slider_value(self, now_s: float) -> float:
        """The slider position shown (0 lenient .. 1 strict).

        Once a visitor has touched it, it stays where they put it until the screen returns to
        the attract screen (the next visitor). Untouched, it holds each of a few positions
        (lenient, the ACLU's, strict) for ``AUTO_DWELL_S`` and then jumps to the next: the
        figures never move while someone reads them.
        """
        if self.slider_manual_s > -math.inf:
            return self.slider
        i = int(max(0.0, now_s - self.mode_since_s) // AUTO_DWELL_S) % len(AUTO_RATES)
        return fraction_for_rate(AUTO_RATES[i])

    # --- transitions ---------------------------------------------------------------------------

    def _enter(self, mode: str, now_s: float) -> None:
        if mode == self.mode:
            return
        if mode == "attract":
            self.language = self.ui.language
            self.slider_manual_s = -math.inf  # the next visitor starts with the automatic steps
            self.slider = POSITIONS[0]
        self.history.append(f"{self.mode}->{mode}")
        del self.history[:-50]
        self.mode = mode
        self.mode_since_s = now_s

    def tick(self, now_s: float, faces_in_view: int, camera_ok: bool, hold: bool = False) -> str:
        """Advance the timers; returns the mode to draw. ``hold``: something is still being shown
        to a visitor who just left (the end of the arc, ``kiosk.ui.arc``): no attract screen yet."""
        s = self.ui
        self.camera_ok = camera_ok
        if faces_in_view:
            self.last_face_s = now_s
        if not camera_ok:
            # No dead screen: visitors get the attract screen (the mirror marked as paused) and
            # can open every lesson; staff read the diagnosis in the log and the F1 overlay.
            if self.mode in ("camera", "mirror"):
                self._enter("attract", now_s)
            elif self.mode == "lesson" and not self.interacting(now_s) and \
                    now_s - max(self.mode_since_s, self.last_interaction_s + s.interaction_hold_s) >= s.lesson_rotate_s:
                self.lesson_index += 1
                self._enter("attract", now_s)
            return self.mode
        nobody_for_s = now_s - self.last_face_s
        interacting = self.interacting(now_s)
        if self.mode == "camera":
            self._enter("mirror" if faces_in_view else "attract", now_s)
        if self.mode == "attract":
            if faces_in_view:
                self._enter("mirror", now_s)
        elif self.mode == "mirror":
            if nobody_for_s >= s.attract_after_s and not interacting and not hold:
                self._enter("attract", now_s)
            elif (faces_in_view and not s.arc and now_s - self.mode_since_s >= s.lesson_after_s
                  and not interacting):  # with the arc, its screens replace the rotation
                self._enter("lesson", now_s)
        elif self.mode == "lesson":
            if not interacting:
                if nobody_for_s >= s.attract_after_s and not hold:
                    self.lesson_index += 1
                    self._enter("attract", now_s)
                elif now_s - max(self.mode_since_s, self.last_interaction_s + s.interaction_hold_s) >= s.lesson_rotate_s:
                    self.lesson_index += 1  # the next lesson comes after the next mirror interval
                    self._enter("mirror", now_s)
        return self.mode

    # --- interactions (touch and keys) ---------------------------------------------------------

    def _touch(self, now_s: float) -> None:
        self.last_interaction_s = now_s

    def next_lesson(self, now_s: float) -> None:
        """Open the lesson panel, or go to the next lesson if it is open."""
        self._touch(now_s)
        if self.mode == "lesson":
            self.lesson_index = (self.lesson_index + 1) % len(LESSONS)
            self.mode_since_s = now_s
        else:
            self._enter("lesson", now_s)

    def previous_lesson(self, now_s: float) -> None:
        self._touch(now_s)
        if self.mode == "lesson":
            self.lesson_index = (self.lesson_index - 1) % len(LESSONS)
            self.mode_since_s = now_s
        else:
            self._enter("lesson", now_s)

    def show_panel(self, now_s: float) -> None:
        """Show the mirror with its side panel (the arc) now, e.g. "Why this exists" touched on
        the attract screen; counts as an interaction, so it stays while nobody is in view."""
        self._touch(now_s)
        if self.mode in ("attract", "lesson"):
            self._enter("mirror", now_s)

    def close_lesson(self, now_s: float) -> None:
        self._touch(now_s)
        if self.mode == "lesson":
            self.lesson_index += 1
            self._enter("mirror", now_s)

    def next_language(self, now_s: float) -> str:
        self._touch(now_s)
        langs = self.ui.languages
        i = langs.index(self.language) if self.language in langs else -1
        self.language = langs[(i + 1) % len(langs)]
        return self.language

    def move_slider(self, now_s: float, delta: float) -> None:
        """One position stricter (``delta`` > 0) or more lenient (< 0)."""
        current = self.slider_value(now_s)
        self._touch(now_s)
        self.slider_manual_s = now_s
        self.slider = step(current, 1 if delta > 0 else -1)

    def set_slider(self, now_s: float, value: float) -> None:
        """A touch at ``value`` along the slider (0..1): snaps to the nearest position."""
        self._touch(now_s)
        self.slider_manual_s = now_s
        lo, hi = SLIDER_RANGE
        self.slider = snap(min(hi, max(lo, value)))

    def toggle_debug(self) -> bool:
        self.debug = not self.debug
        return self.debug
