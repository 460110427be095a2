"""What a visitor's touch or key does: the key map, hit-testing the last frame, and the actions.

``ScreenInput`` is the input half of ``kiosk.ui.app.KioskApp`` (which inherits it): it turns a
pygame event or a touch position into a change of the screen's state (next lesson, slider,
language, "Analyse me", "Take my record", "Why this exists", the arc's staff steps). It hit-tests
against what the previous frame recorded (``FrameRecord``: buttons, boxes, slider, banner), so
a touch always means what the visitor saw. The keys are listed in ``kiosk.ui.app``'s docstring.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import pygame

from kiosk.config import PrivacyConfig, UiConfig
from kiosk.types import Snapshot
from kiosk.ui.arc import Arc
from kiosk.ui.consent import choose_consenter, needs_consent
from kiosk.ui.i18n import load_strings
from kiosk.ui.portrait_names import PortraitNames
from kiosk.ui.state import LESSONS, SLIDER_STEP, UiState
from kiosk.ui.takehome import TakeHome, record_text
from kiosk.ui.text import FrameRecord

log = logging.getLogger(__name__)

NEXT_KEYS = {pygame.K_SPACE, pygame.K_RETURN, pygame.K_KP_ENTER, pygame.K_RIGHT, pygame.K_n, pygame.K_PAGEDOWN}
PREV_KEYS = {pygame.K_LEFT, pygame.K_p, pygame.K_PAGEUP}
CLOSE_KEYS = {pygame.K_BACKSPACE, pygame.K_m, pygame.K_HOME}
STRICTER_KEYS = {pygame.K_UP, pygame.K_PLUS, pygame.K_KP_PLUS, pygame.K_EQUALS}
LENIENT_KEYS = {pygame.K_DOWN, pygame.K_MINUS, pygame.K_KP_MINUS}
QUIT_KEYS = {pygame.K_ESCAPE, pygame.K_q}
CONSENT_KEYS = {pygame.K_a}
TAKEHOME_KEYS = {pygame.K_t}
WHY_KEYS = {pygame.K_w}


class ScreenInput:
    """Events and touches -> state changes. Mixed into ``KioskApp``, which owns the attributes
    declared here (single-threaded: the main thread)."""

    ui: UiConfig
    privacy: PrivacyConfig
    state: UiState
    arc: Arc
    takehome: TakeHome
    record: FrameRecord
    portraits: PortraitNames
    on_consent: Callable[[int], None] | None
    quit_requested: bool
    consent_requests: int
    _snap: Snapshot | None
    _dragging: bool
    _consent_asked_s: float | None
    _takehome_seen_s: float
    _today: Callable[[], dt.date]

    def handle_event(self, event: Any, now_s: float) -> None:
        if event.type == pygame.QUIT:
            self.quit_requested = True
        elif event.type == pygame.KEYDOWN:
            self._key(event.key, bool(getattr(event, "mod", 0) & pygame.KMOD_SHIFT), now_s)
        elif event.type == pygame.MOUSEBUTTONDOWN and getattr(event, "button", 1) == 1:
            self.tap(event.pos, now_s)
        elif event.type == pygame.MOUSEMOTION and self._dragging:
            self._slide_to(event.pos[0], now_s)
        elif event.type == pygame.MOUSEBUTTONUP:
            self._dragging = False

    def _key(self, key: int, shift: bool, now_s: float) -> None:
        st = self.state
        threshold_open = st.mode == "lesson" and st.lesson == "threshold"
        if key in QUIT_KEYS:
            self.quit_requested = True
        elif key == pygame.K_F1:
            st.toggle_debug()
        elif key == pygame.K_F2 or key in NEXT_KEYS:
            st.next_lesson(now_s)
        elif key in PREV_KEYS:
            st.previous_lesson(now_s)
        elif key in CLOSE_KEYS:
            st.close_lesson(now_s)
        elif key in STRICTER_KEYS and threshold_open:
            st.move_slider(now_s, SLIDER_STEP)
        elif key in LENIENT_KEYS and threshold_open:
            st.move_slider(now_s, -SLIDER_STEP)
        elif key == pygame.K_l:
            st.next_language(now_s)
        elif key in CONSENT_KEYS:
            self.request_consent(now_s)
        elif key == pygame.K_F3 and self.ui.arc:
            self.arc.staff_step(now_s, -1 if shift else 1)
            self.state.show_panel(now_s)
        elif key in TAKEHOME_KEYS:
            if self.takehome.is_open:
                self.takehome.close()
            else:
                self.request_takehome(now_s)
        elif key in WHY_KEYS:
            self.open_why(now_s)

    def tap(self, pos: tuple[int, int], now_s: float) -> str | None:
        """A touch or click at ``pos``: hit-test the last frame's buttons and slider."""
        st = self.state
        x, y = pos
        for key, (bx, by, bw, bh) in self.record.buttons.items():
            if bx <= x < bx + bw and by <= y < by + bh:
                self._press(key, pos, now_s)
                return key
        if self.on_consent is not None and needs_consent(self._snap):
            # A visitor touching their own anonymous box consents for that face alone.
            for key, (bx, by, bw, bh) in self.record.boxes.items():
                if key.startswith("a") and bx <= x < bx + bw and by <= y < by + bh:
                    if self.request_consent(now_s, pos):
                        return "consent"
        banner = self.record.banner
        if self.ui.arc and banner is not None and banner[1] <= y < banner[1] + banner[3]:
            if self.arc.staff_tap(now_s):  # three quick taps: staff steps through the arc
                self.state.show_panel(now_s)
                return "staff"
        slider = self.record.slider
        if slider is not None and st.mode == "lesson" and st.lesson == "threshold":
            sx, sy, sw, sh = slider
            if sx - sh <= x <= sx + sw + sh and sy - sh <= y <= sy + 2 * sh:
                self._dragging = True
                self._slide_to(x, now_s)
                return "slider"
        if st.mode == "attract":
            st.next_lesson(now_s)  # on the attract screen, a touch anywhere opens the lessons
            return "attract"
        return None

    def _press(self, key: str, pos: tuple[int, int], now_s: float) -> None:
        """The button ``key`` (as recorded by the frame that drew it) was touched."""
        st = self.state
        if key == "language":
            st.next_language(now_s)
        elif key in ("lessons", "next"):
            st.next_lesson(now_s)
        elif key == "previous":
            st.previous_lesson(now_s)
        elif key == "close":
            st.close_lesson(now_s)
        elif key == "consent":
            self.request_consent(now_s, pos)
        elif key == "arc_next":
            st._touch(now_s)
            self.arc.next(now_s)
        elif key == "arc_json":
            self._open_lesson("record", now_s)
        elif key == "arc_threshold":
            self._open_lesson("threshold", now_s)
        elif key == "arc_qr":
            self.request_takehome(now_s)
        elif key == "arc_qr_close":
            self.takehome.close()
        elif key == "why":
            self.open_why(now_s)

    def request_consent(self, now_s: float, pos: tuple[int, int] | None = None) -> bool:
        """One visitor asked to be analysed: call ``on_consent`` with their track (the waiting
        face nearest the touch at ``pos``; the largest waiting face for the A key). A stray A
        with nobody waiting grants nothing to whoever comes next."""
        track = choose_consenter(self._snap, self.record.boxes, pos) if self.on_consent is not None else None
        if track is None or self.on_consent is None:
            return False
        self._consent_asked_s = now_s
        self.consent_requests += 1
        log.debug("consent requested at the screen for track %d", track)
        self.on_consent(track)
        return True

    def request_takehome(self, now_s: float) -> bool:
        """"Take my record": the visitor's record as a QR code of plain text, only while they are
        in view (never for someone who left: whoever stands there next must not get it)."""
        if not self.ui.arc or self._snap is None:
            return False
        # In the newest snapshot, not merely seen a moment ago: during the grace after someone
        # leaves, whoever steps up and taps must not get the previous visitor's record.
        face = self.arc.in_view(self._snap.faces) if self.arc.present(now_s) else None
        if face is None:
            return False
        text = record_text(face, self._snap.t_s, load_strings(self.state.language), self.privacy.forget_after_s,
                           self._today(), self.ui.welcome_s, self.portraits)
        self.takehome.open(face, text, now_s)
        self._takehome_seen_s = now_s
        return True

    def open_why(self, now_s: float) -> None:
        """"Why this exists" (attract screen button, or W)."""
        if not self.ui.arc:
            return
        self.arc.open_why(now_s)
        self.state.show_panel(now_s)

    def _open_lesson(self, lesson: str, now_s: float) -> None:
        """From an arc screen, one tap into the full lesson (the JSON record, the threshold)."""
        self.state.lesson_index = LESSONS.index(lesson)
        self.state.next_lesson(now_s)

    def _slide_to(self, x: int, now_s: float) -> None:
        slider = self.record.slider
        if slider is None:
            return
        sx, _, sw, _ = slider
        self.state.set_slider(now_s, (x - sx) / max(1, sw))
