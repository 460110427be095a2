"""The kiosk screen: event handling, timing and composition of one display frame.

``KioskApp`` is driven from outside with explicit times, so tests render any screen offscreen
(``SDL_VIDEODRIVER=dummy``) without a window or a pipeline:

    app = KioskApp((1280, 720), UiSettings(), UiDeps())
    app.update(now_s, frame, status, snapshot)   # newest inputs; never waits
    record = app.render(surface, now_s)          # draws; returns what was drawn

``run_window`` is the real loop: events → update → render → flip at the display rate, reading
the pipeline's newest frame and snapshot without ever waiting for inference. It follows the
display: a resized window (or a display that changed resolution) is laid out anew, and a lost
display (HDMI unplugged, X server restarted: pygame raises ``pygame.error``) is re-created every
``DISPLAY_RETRY_S`` while the analysis keeps running. A ``heartbeat`` (the systemd watchdog ping)
is called once per loop iteration, so a loop that hangs stops the pings.

Keys (visitors; a venue may map a keypad to them; every action also has a touch target):

    Space, Enter, Right, N, Page Down   open the lessons / next lesson
    Left, P, Page Up                    previous lesson
    Backspace, M, Home                  close the lesson, back to the mirror
    Up, +  /  Down, -                   threshold lesson: stricter / more lenient
    L                                   next language
    A                                   "Analyse me" (consent, with privacy.consent: required)

Operator keys (not shown on screen): Esc or Q quit, F1 debug overlay (capture / inference / UI
fps, per-stage ms, dropped frames), F2 cycle lessons (also from the attract screen).

With ``ui.arc`` (``kiosk.ui.arc``): T "take my record" (the take-home QR code), W "why this
exists"; educators: F3 / Shift+F3 step through the arc by hand (on touch screens: three quick
taps on the privacy banner).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
import pygame

from kiosk.counters.daily import Aggregates
from kiosk.types import SourceStatus
from kiosk.types import FaceView, Frame, Snapshot
from kiosk.ui.arc import GONE_S, Arc, ArcView, draw_arc
from kiosk.ui.caveats import Caveat, load_caveats
from kiosk.ui.consent import FEEDBACK_S, choose_consenter, draw_consent, layout_consent, needs_consent
from kiosk.ui.i18n import Strings, language_names, load_strings
from kiosk.ui.image import CameraImage
from kiosk.ui.layout import Rect, ease_rect, fit_rect
from kiosk.ui.lessons import LessonView, draw_lesson, panel_rect
from kiosk.ui.memory import ForgetTracker, PipelineClock
from kiosk.ui.mirror import HOLD_MISSING_S, MirrorOverlay, strip_rect
from kiosk.ui.screens import DebugInfo, draw_attract, draw_debug, draw_paused_note
from kiosk.ui.settings import UiDeps, UiSettings, default_deps, pipeline_watchlist, pipeline_watchlist_loader
from kiosk.ui.state import LESSONS, SLIDER_STEP, UiState
from kiosk.ui.portrait_names import PortraitNames
from kiosk.ui.takehome import TakeHome, record_text
from kiosk.ui.threshold_lesson import judge_at_slider, mark_searched_face
from kiosk.ui.text import FrameRecord, TextRenderer
from kiosk.ui.theme import TypeScale, get_theme
from kiosk.ui.widgets import DrawContext, banner_height, button_size, draw_banner, draw_button

log = logging.getLogger(__name__)

STARTING_GRACE_S = 10.0  # before the first frame, "starting" rather than "not available"
IMAGE_TAU_S = 0.2
DISPLAY_RETRY_S = 1.5  # a lost display is re-created this often (the first try is immediate)
LOST_IDLE_S = 0.05  # loop period while there is no display (the heartbeat keeps going)

_NEXT_KEYS = {pygame.K_SPACE, pygame.K_RETURN, pygame.K_KP_ENTER, pygame.K_RIGHT, pygame.K_n, pygame.K_PAGEDOWN}
_PREV_KEYS = {pygame.K_LEFT, pygame.K_p, pygame.K_PAGEUP}
_CLOSE_KEYS = {pygame.K_BACKSPACE, pygame.K_m, pygame.K_HOME}
_STRICTER_KEYS = {pygame.K_UP, pygame.K_PLUS, pygame.K_KP_PLUS, pygame.K_EQUALS}
_LENIENT_KEYS = {pygame.K_DOWN, pygame.K_MINUS, pygame.K_KP_MINUS}
_QUIT_KEYS = {pygame.K_ESCAPE, pygame.K_q}
_CONSENT_KEYS = {pygame.K_a}
_TAKEHOME_KEYS = {pygame.K_t}
_WHY_KEYS = {pygame.K_w}
TAKEHOME_MAX_S = 120.0  # a take-home code left open closes by itself after this long


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


class KioskApp:
    """One kiosk screen of a given size; owns all UI state (single-threaded: the main thread).

    ``on_consent(track_id)``: called when a visitor touches "Analyse me" (or their own box) or
    presses A while a face in view has not consented, with the one track that agreed (the
    pipeline's ``request_consent``); None: the button does nothing.

    ``counter``: the kiosk's one daily counter (``kiosk.counters.daily.Aggregates``), fed by the
    pipeline; the attract screen shows its figures. None (tests, benchmarks): the screen makes one
    and feeds it the snapshots it is given.
    """

    def __init__(self, size: tuple[int, int], settings: UiSettings | None = None, deps: UiDeps | None = None,
                 today: Callable[[], dt.date] = dt.date.today,
                 on_consent: Callable[[int], None] | None = None, counter: Aggregates | None = None) -> None:
        self.settings = (settings or UiSettings()).check()
        self.deps = deps or UiDeps()
        self.portraits = PortraitNames.from_deps(self.deps)
        self.on_consent = on_consent
        self.state = UiState(self.settings)
        self.theme = get_theme(self.settings.theme)
        self._lay_out(size)
        self.clock = PipelineClock()
        self.forget = ForgetTracker(self.settings.erased_hold_s)
        self.counter = counter if counter is not None else Aggregates(today=today)
        self._feed_counter = counter is None
        self._counted_frame: int | None = None
        self.language_names = language_names(self.settings.languages)
        self.quit_requested = False
        self._frame: Frame | None = None
        self._snap: Snapshot | None = None
        self._status: SourceStatus | None = None
        self._had_frame = False
        self._paused = False
        self._caveats: dict[str, tuple[Caveat, ...]] = {}
        self._frame_marks: deque[tuple[float, int]] = deque(maxlen=90)
        self._render_marks: deque[float] = deque(maxlen=90)
        self._draw_ms = 0.0
        self._start_s: float | None = None
        self._lesson_face: tuple[FaceView, float] | None = None
        self._consent_asked_s: float | None = None
        self.consent_requests = 0
        self._today = today
        self.arc = Arc(self.settings.forget_after_s)
        self.takehome = TakeHome(self.settings.exhibition_link)
        self._takehome_seen_s = -1e9

    def _lay_out(self, size: tuple[int, int]) -> None:
        """Everything derived from the screen size: type scale, fonts, picture and card layout."""
        self.size = (int(size[0]), int(size[1]))
        # Type follows the screen's short side: a portrait screen is the same panel turned, with
        # the same pixel pitch and reading distance, so its letters stay the same size.
        self.scale = TypeScale.for_screen(min(self.size), self.settings.text_scale, self.theme)
        self.text = TextRenderer(self.scale)
        self.image = CameraImage()
        self.overlay = MirrorOverlay()
        self._image_rect: Rect | None = None
        self.record = FrameRecord()  # the old hit-test rectangles belong to the old size
        self._dragging = False

    def resize(self, size: tuple[int, int], force: bool = False) -> bool:
        """Lay the screen out for a new display size (window resized, display changed or
        re-created). State, language, lesson, timers, counters and countdowns are kept; cards
        are placed anew. Returns False (and does nothing) when the size did not change, unless
        ``force`` (a re-created display: the converted camera picture belongs to the old one)."""
        new = (int(size[0]), int(size[1]))
        if new == self.size and not force:
            return False
        if new != self.size:
            log.info("screen resized from %dx%d to %dx%d", *self.size, *new)
        self._lay_out(new)
        return True

    # --- inputs ----------------------------------------------------------------------------------

    @property
    def strings(self) -> Strings:
        return load_strings(self.state.language)

    def caveats(self) -> tuple[Caveat, ...]:
        lang = self.state.language
        if lang not in self._caveats:
            self._caveats[lang] = load_caveats(lang, self.deps.measured)
        return self._caveats[lang]

    def camera_problem(self, now_s: float) -> tuple[bool, bool]:
        """(mirror paused?, still starting?) from the source status and whether a frame came.

        "Starting" only until the source reports its first failure: a device that does not
        exist is reported as unavailable at once (its first open fails within milliseconds),
        not after ``STARTING_GRACE_S``."""
        status = self._status
        if status is None:
            return (self._frame is None, True)
        if status.ok:
            return (False, False)
        starting = not self._had_frame and status.reconnects == 0 and now_s - status.since_s < STARTING_GRACE_S
        return (True, starting)

    def update(self, now_s: float, frame: Frame | None, status: SourceStatus | None, snap: Snapshot | None) -> str:
        """Take the newest frame, source status and snapshot; advance the state; returns the mode."""
        if self._start_s is None:
            self._start_s = now_s
        if frame is not None:
            self._had_frame = True
            if not self._frame_marks or self._frame_marks[-1][1] != frame.index:
                self._frame_marks.append((now_s, frame.index))
        self._frame, self._status, self._snap = frame, status, snap
        if snap is not None:
            self.clock.observe(snap, now_s)
            self.forget.observe(snap, now_s)
            if self._feed_counter and snap.frame_index != self._counted_frame:
                self.counter.observe(snap)
                self._counted_frame = snap.frame_index
        problem, starting = self.camera_problem(now_s)
        if problem != self._paused:
            if problem and not starting and status is not None:
                log.warning("mirror paused, visitors see the attract screen and the lessons: %s", status.message)
            elif not problem:
                log.info("camera back: the mirror resumes")
            self._paused = problem
        faces = len(snap.faces) if snap is not None and not problem else 0
        hold = False
        if self.settings.arc:
            hold = self._update_arc(now_s, snap)
        return self.state.tick(now_s, faces, camera_ok=not problem, hold=hold)

    def _update_arc(self, now_s: float, snap: Snapshot | None) -> bool:
        """The visitor's arc and the take-home code follow the consented faces in view; returns
        whether the arc's ending holds the screen for a visitor who just left."""
        faces = [f for f in snap.faces if f.consented] if snap is not None else []
        self.arc.update(now_s, faces, main_face(snap))
        th = self.takehome
        if th.is_open:
            if any(th.belongs_to(f) for f in faces):
                self._takehome_seen_s = now_s
            if now_s - self._takehome_seen_s > GONE_S or now_s - (th.opened_s or now_s) > TAKEHOME_MAX_S:
                th.close()  # it disappears with its visitor
        return self.arc.holding(now_s)

    def request_takehome(self, now_s: float) -> bool:
        """"Take my record": the visitor's record as a QR code of plain text, only while they are
        in view (never for someone who left: whoever stands there next must not get it)."""
        if not self.settings.arc or self._snap is None:
            return False
        # In the newest snapshot, not merely seen a moment ago: during the grace after someone
        # leaves, whoever steps up and taps must not get the previous visitor's record.
        face = self.arc.in_view(self._snap.faces) if self.arc.present(now_s) else None
        if face is None:
            return False
        text = record_text(face, self._snap.t_s, self.strings, self.settings.forget_after_s, self._today(),
                           self.settings.welcome_s, self.portraits)
        self.takehome.open(face, text, now_s)
        self._takehome_seen_s = now_s
        return True

    def open_why(self, now_s: float) -> None:
        """"Why this exists" (attract screen button, or W)."""
        if not self.settings.arc:
            return
        self.arc.open_why(now_s)
        self.state.show_panel(now_s)

    def _open_lesson(self, lesson: str, now_s: float) -> None:
        """From an arc screen, one tap into the full lesson (the JSON record, the threshold)."""
        self.state.lesson_index = LESSONS.index(lesson)
        self.state.next_lesson(now_s)

    # --- events ------------------------------------------------------------------------------------

    def handle_event(self, event: Any, now_s: float) -> None:
        st = self.state
        if event.type == pygame.QUIT:
            self.quit_requested = True
        elif event.type == pygame.KEYDOWN:
            key = event.key
            if key in _QUIT_KEYS:
                self.quit_requested = True
            elif key == pygame.K_F1:
                st.toggle_debug()
            elif key == pygame.K_F2 or key in _NEXT_KEYS:
                st.next_lesson(now_s)
            elif key in _PREV_KEYS:
                st.previous_lesson(now_s)
            elif key in _CLOSE_KEYS:
                st.close_lesson(now_s)
            elif key in _STRICTER_KEYS and st.mode == "lesson" and st.lesson == "threshold":
                st.move_slider(now_s, SLIDER_STEP)
            elif key in _LENIENT_KEYS and st.mode == "lesson" and st.lesson == "threshold":
                st.move_slider(now_s, -SLIDER_STEP)
            elif key == pygame.K_l:
                st.next_language(now_s)
            elif key in _CONSENT_KEYS:
                self.request_consent(now_s)
            elif key == pygame.K_F3 and self.settings.arc:
                back = bool(getattr(event, "mod", 0) & pygame.KMOD_SHIFT)
                self.arc.staff_step(now_s, -1 if back else 1)
                self.state.show_panel(now_s)
            elif key in _TAKEHOME_KEYS:
                if self.takehome.is_open:
                    self.takehome.close()
                else:
                    self.request_takehome(now_s)
            elif key in _WHY_KEYS:
                self.open_why(now_s)
        elif event.type == pygame.MOUSEBUTTONDOWN and getattr(event, "button", 1) == 1:
            self.tap(event.pos, now_s)
        elif event.type == pygame.MOUSEMOTION and self._dragging:
            self._slide_to(event.pos[0], now_s)
        elif event.type == pygame.MOUSEBUTTONUP:
            self._dragging = False

    def tap(self, pos: tuple[int, int], now_s: float) -> str | None:
        """A touch or click at ``pos``: hit-test the last frame's buttons and slider."""
        st = self.state
        x, y = pos
        for key, (bx, by, bw, bh) in self.record.buttons.items():
            if bx <= x < bx + bw and by <= y < by + bh:
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
                return key
        if self.on_consent is not None and needs_consent(self._snap):
            # A visitor touching their own anonymous box consents for that face alone.
            for key, (bx, by, bw, bh) in self.record.boxes.items():
                if key.startswith("a") and bx <= x < bx + bw and by <= y < by + bh:
                    if self.request_consent(now_s, pos):
                        return "consent"
        banner = self.record.banner
        if self.settings.arc and banner is not None and banner[1] <= y < banner[1] + banner[3]:
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

    def _consent_label(self, strings: Strings, now_s: float) -> str:
        asked = self._consent_asked_s
        if asked is not None and 0.0 <= now_s - asked < FEEDBACK_S:
            return strings.get("consent.wait")
        return strings.get("consent.button")

    def _slide_to(self, x: int, now_s: float) -> None:
        slider = self.record.slider
        if slider is None:
            return
        sx, _, sw, _ = slider
        self.state.set_slider(now_s, (x - sx) / max(1, sw))

    # --- drawing -------------------------------------------------------------------------------------

    def render(self, surface: pygame.Surface, now_s: float, settle: bool = False) -> FrameRecord:
        """Draw one frame for ``now_s``. ``settle``: no animation (for single-frame renders)."""
        t0 = time.perf_counter()
        record = FrameRecord()
        self.text.record = record
        strings = self.strings
        ctx = DrawContext(self.theme, self.scale, self.text, strings, record, self.settings, self.size,
                          self.portraits)
        surface.fill(self.theme.background)
        mode = self.state.mode
        self._draw_live(surface, ctx, now_s, mode, settle)
        draw_banner(surface, ctx)
        if self.state.debug:
            draw_debug(surface, ctx, self._debug_info(now_s))
        if not record.screen:
            record.screen = mode
        self.record = record
        ms = (time.perf_counter() - t0) * 1e3
        self._draw_ms = 0.9 * self._draw_ms + 0.1 * ms if self._draw_ms else ms
        self._render_marks.append(now_s)
        return record

    def _language_button(self, ctx: DrawContext, bottom_px: int | None = None) -> tuple[Rect, str] | None:
        """Bottom left (of the mirror, above ``bottom_px``): the name of the language a touch
        switches to, in that language."""
        langs = self.settings.languages
        if len(langs) < 2:
            return None
        nxt = langs[(langs.index(self.state.language) + 1) % len(langs)] if self.state.language in langs else langs[0]
        label = self.language_names.get(nxt, nxt)
        bw, bh = button_size(ctx, label)
        bw += bh // 2
        bottom = self.size[1] if bottom_px is None else bottom_px
        return (ctx.scale.pad, bottom - ctx.scale.pad - bh, bw, bh), label

    @staticmethod
    def _draw_language_button(surface: pygame.Surface, ctx: DrawContext, button: tuple[Rect, str] | None) -> None:
        if button is not None:
            draw_button(surface, ctx, "language", button[1], button[0], icon="globe")

    def _panel_rect(self, banner_px: int) -> Rect:
        """The lesson panel: the right half on a landscape screen; on a portrait screen the
        lower part, full width, with the mirror above it."""
        w, h = self.size
        if w >= h:
            return panel_rect(self.size, banner_px)
        top = banner_px + round((h - banner_px) * 0.4)
        return 0, top, w, h - top

    def _draw_live(self, surface: pygame.Surface, ctx: DrawContext, now_s: float, mode: str, settle: bool) -> None:
        w, h = self.size
        sc = self.scale
        bh = banner_height(ctx)
        lesson_open = mode == "lesson"
        arc_open = mode == "mirror" and self.settings.arc and self.arc.visible
        panel = self._panel_rect(bh) if (lesson_open or arc_open) else None
        if panel is not None and panel[0] == 0:  # portrait: the lesson below the mirror
            image_area: Rect = (0, bh, w, panel[1] - bh)
        else:
            image_area = (0, bh, (panel[0] if panel else w), h - bh)
        bottom_px = image_area[1] + image_area[3]
        paused, starting = self.camera_problem(now_s)
        note = ctx.strings.get("paused.starting" if starting else "paused.note") if paused else None
        # A paused mirror shows no picture (not even the last one) and no boxes.
        frame, snap = (None, None) if paused else (self._frame, self._snap)
        image_rect: Rect | None = None
        if frame is not None:
            target = fit_rect(frame.width, frame.height, image_area)
            if self._image_rect is None or settle:
                self._image_rect = target
            else:
                dt_s = 1.0 / 60 if not self._render_marks else max(0.0, min(0.25, now_s - self._render_marks[-1]))
                self._image_rect = ease_rect(self._image_rect, target, dt_s, IMAGE_TAU_S)
            image_rect = self._image_rect
            ctx.record.image = image_rect

        # Buttons first: cards and chips must keep clear of them.
        strings = ctx.strings
        lang_button = self._language_button(ctx, bottom_px)
        lang_rect = lang_button[0] if lang_button else None
        obstacles: list[Rect] = [lang_rect] if lang_rect else []
        lessons_rect = None
        if not lesson_open:
            label = strings.get("buttons.lessons")
            bw, bh2 = button_size(ctx, label)
            bw += bh2 // 3
            lessons_rect = (image_area[0] + image_area[2] - sc.pad - bw, bottom_px - sc.pad - bh2, bw, bh2)
            obstacles.append(lessons_rect)
        why_rect = None
        if mode == "attract" and self.settings.arc and lessons_rect is not None:
            label = strings.get("arc.buttons.why")
            bw, bh2 = button_size(ctx, label)
            why_rect = (lessons_rect[0] - sc.pad - bw, lessons_rect[1], bw, bh2)
            obstacles.append(why_rect)
        left = (lang_rect[0] + lang_rect[2] + sc.pad) if lang_rect else sc.pad
        right = (lessons_rect[0] - sc.pad) if lessons_rect else image_area[0] + image_area[2] - sc.pad
        if why_rect is not None:
            right = why_rect[0] - sc.pad
        strip = strip_rect(ctx, left, right, bottom_px)
        area: Rect = (sc.pad, bh + sc.pad, image_area[2] - 2 * sc.pad, bottom_px - bh - 2 * sc.pad)
        departures = self.forget.departures(now_s)
        pipeline_now = self.clock.now(now_s)
        live_snap = snap if (mode != "attract" and image_rect is not None) else None
        if live_snap is not None and panel is not None and lesson_open and self.state.lesson == "threshold":
            # The cards judge the watchlist at the lesson's slider, so a card never says "MATCH"
            # where the lesson beside it says none (or the reverse). Only while the lesson shows:
            # beside an arc screen the cards judge at the kiosk's threshold, as the arc does.
            live_snap = judge_at_slider(live_snap, self.deps, self.state.slider_value(now_s))
        consent = None
        consent_label = ""
        if live_snap is not None and needs_consent(live_snap):
            consent_label = self._consent_label(strings, now_s)
            # Just above the buttons (and above the memory strip while it shows visitors who left);
            # cards keep clear of it as of the buttons.
            bottom = min([bottom_px] + [r[1] for r in obstacles] + ([strip[1]] if departures else [])) - sc.pad
            consent = layout_consent(ctx, image_area, bottom, strings.get("consent.button"))
            obstacles.append(consent.panel)
        card_scale = 1.0
        if frame is not None and image_rect is not None:
            # Cards scale with the picture: smaller beside a lesson panel than on the full mirror.
            full = fit_rect(frame.width, frame.height, (0, bh, w, h - bh))
            card_scale = image_rect[2] / max(1, full[2])
        mframe = self.overlay.update(ctx, now_s, live_snap, image_rect or image_area, area, obstacles,
                                     departures, strip, settle=settle, card_scale=card_scale)

        if frame is not None and image_rect is not None:
            blur = []
            if self.settings.blur_faces:
                blur = [(bx - image_rect[0], by - image_rect[1], bw_, bh_) for (bx, by, bw_, bh_), _, _ in mframe.boxes.values()]
            points = self._mesh_points(snap, image_rect) if (self.settings.show_landmarks and live_snap) else None
            surf = self.image.surface(frame, image_rect[2:], self.settings.mirror, blur, points, self.theme.accent)
            surface.blit(surf, image_rect[:2])
        if mode == "attract":
            bottom = min([r[1] for r in obstacles] + [strip[1] if mframe.chips else h]) - sc.pad
            draw_attract(surface, ctx, self.counter.today(), image_rect, bottom, note=note, now_s=now_s)
        self.overlay.draw(surface, ctx, mframe, departures, pipeline_now, live_snap, image_rect or image_area)
        if consent is not None:
            draw_consent(surface, ctx, consent, consent_label)
            ctx.record.consent = consent.panel
        if panel is not None and arc_open:
            arc = self.arc
            present = arc.present(now_s)
            view_ = ArcView(arc.step or "why", arc.subject, present, [k for k, _ in arc.guesses],
                            snap.frame_size if snap else (1, 1), self.deps,
                            self.forget.get(arc.subject_visitor) if arc.subject_visitor is not None else None,
                            pipeline_now, self.takehome,
                            present and snap is not None and arc.in_view(snap.faces) is not None,
                            others_in_view=snap is not None and any(
                                f is not arc.in_view(snap.faces) for f in snap.faces))
            draw_arc(surface, ctx, panel, view_)
        elif panel is not None:
            face = main_face(snap)
            # A face the detector misses for a moment keeps its lesson (as its card is kept).
            if face is not None:
                self._lesson_face = (face, now_s)
            elif self._lesson_face is not None and now_s - self._lesson_face[1] <= HOLD_MISSING_S:
                face = self._lesson_face[0]
            if face is not None and self.state.lesson == "threshold" and snap is not None:
                mark_searched_face(surface, ctx, mframe, face, snap,
                                   avoid=(panel, (0, 0, surface.get_width(), bh), *obstacles))
            you = None
            if face is not None and frame is not None:
                you = self.image.crop(frame, face.box_xyxy, round(h * 0.12), self.settings.mirror, self.settings.blur_faces)
            view = LessonView(self.state.lesson, face, snap.frame_size if snap else (1, 1), you,
                              self.state.slider_value(now_s), self.deps, self.caveats(),
                              now_s - self.state.mode_since_s, self.state.lesson_index)
            draw_lesson(surface, ctx, panel, view)
            if note is not None:
                draw_paused_note(surface, ctx, note, image_area)
        else:
            ctx.record.screen = mode
        if lessons_rect is not None:
            draw_button(surface, ctx, "lessons", strings.get("buttons.lessons"), lessons_rect, primary=True, icon="next")
        if why_rect is not None:
            draw_button(surface, ctx, "why", strings.get("arc.buttons.why"), why_rect)
        self._draw_language_button(surface, ctx, lang_button)

    def _mesh_points(self, snap: Snapshot | None, image_rect: Rect) -> np.ndarray | None:
        if snap is None:
            return None
        fw, fh = snap.frame_size
        pts = [p for f in snap.faces if f.consented for p in f.attributes.mesh_px]
        if not pts:
            return None
        arr = np.asarray(pts, dtype=np.float32)
        if self.settings.mirror:
            arr[:, 0] = fw - arr[:, 0]
        arr[:, 0] *= image_rect[2] / fw
        arr[:, 1] *= image_rect[3] / fh
        return arr

    def _debug_info(self, now_s: float) -> DebugInfo:
        snap, status = self._snap, self._status
        marks = self._frame_marks
        cap = 0.0
        if len(marks) >= 2 and marks[-1][0] > marks[0][0]:
            cap = (marks[-1][1] - marks[0][1]) / (marks[-1][0] - marks[0][0])
        rm = self._render_marks
        ui = (len(rm) - 1) / (rm[-1] - rm[0]) if len(rm) >= 2 and rm[-1] > rm[0] else 0.0
        stage_ms = ({f.name: float(getattr(snap.times, f.name)) for f in dataclasses.fields(snap.times)}
                    if snap is not None else {})
        return DebugInfo(
            capture_fps=cap, inference_fps=snap.inference_fps if snap else 0.0, ui_fps=ui, draw_ms=self._draw_ms,
            stage_ms=stage_ms,
            frames_processed=snap.frames_processed if snap else 0, frames_dropped=snap.frames_dropped if snap else 0,
            reconnects=status.reconnects if status else 0, faces=len(snap.faces) if snap else 0,
            visitors=len(snap.visitors) if snap else 0, mode=self.state.mode, text_renders=self.text.renders,
            camera=("ok" if status is None or status.ok else
                    f"DOWN for {now_s - status.since_s:.0f} s, attempt {status.reconnects}: {status.message}")
            if status is not None else "no status yet",
        )


class _Display:
    """The kiosk's window or fullscreen display, and getting it back when it is lost.

    Windowed mode is resizable (the screen is laid out anew for any size); fullscreen takes the
    display's own resolution. A lost display is logged once as a warning; re-creating it is
    tried at once and then every ``DISPLAY_RETRY_S`` (failures at debug level), and its return
    is logged. Meanwhile the pipeline runs on: visitors are still forgotten on time.
    """

    def __init__(self, settings: UiSettings) -> None:
        self.settings = settings
        self.flags = pygame.FULLSCREEN if settings.fullscreen else pygame.RESIZABLE
        self.request = (0, 0) if settings.fullscreen else (settings.width, settings.height)
        self.screen: pygame.Surface | None = None
        self.lost_since_s: float | None = None
        self.next_try_s = 0.0
        self.losses = 0

    def open(self) -> pygame.Surface:
        pygame.display.init()
        screen = pygame.display.set_mode(self.request, self.flags)
        pygame.display.set_caption("Surveillance Mirror")
        pygame.mouse.set_visible(not self.settings.fullscreen)
        self.screen = screen
        return screen

    def surface(self) -> pygame.Surface:
        """The current display surface (pygame replaces it when the window is resized)."""
        screen = pygame.display.get_surface()
        if screen is None:
            raise pygame.error("the display surface is gone")
        self.screen = screen
        return screen

    def lost(self, exc: BaseException, now_s: float) -> None:
        if self.lost_since_s is None:
            self.losses += 1
            self.lost_since_s = now_s
            self.next_try_s = now_s  # the first attempt right away
            log.warning("display lost (%s); the analysis keeps running; re-creating the display every %.1f s",
                        exc, DISPLAY_RETRY_S)
        self.screen = None

    def try_reopen(self, now_s: float) -> pygame.Surface | None:
        if now_s < self.next_try_s:
            return None
        self.next_try_s = now_s + DISPLAY_RETRY_S
        try:
            pygame.display.quit()  # whatever is left of the old display
            screen = self.open()
        except pygame.error as exc:
            log.debug("display still unavailable: %s", exc)
            self.screen = None
            return None
        log.info("display back after %.1f s: %dx%d", now_s - (self.lost_since_s or now_s), *screen.get_size())
        self.lost_since_s = None
        return screen


def run_window(cfg: Any, pipeline: Any, settings: UiSettings | None = None, deps: UiDeps | None = None,
               max_frames: int | None = None, heartbeat: Callable[[], object] | None = None,
               counter: Aggregates | None = None) -> None:
    """Run the kiosk screen until the operator quits or the pipeline stops.

    ``cfg`` is the kiosk ``Config`` (screen options are read with ``UiSettings.from_config``; None
    gives the defaults); ``pipeline`` needs ``running()``, ``slot.peek()``, ``slot.status()`` and
    ``snapshot``; its ``request_consent()`` (if any) is what "Analyse me" calls, and its watchlist
    (``inference.analyzer.watchlist``, if any) feeds the threshold lesson through ``default_deps``.
    ``heartbeat`` (e.g. ``Notifier.tick``) is called once per loop iteration, after the flip,
    also while the display is lost. ``max_frames``: stop after that many iterations (tests).
    ``counter``: the daily counter the pipeline feeds (``kiosk run`` subscribes it), whose
    figures the attract screen shows; None: the screen counts what it is shown itself.

    A resized window or a display that changed resolution is laid out anew; a ``pygame.error``
    from the display (lost display) does not end the loop: see ``_Display``.
    """
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    settings = settings or UiSettings.from_config(cfg)
    deps = deps or default_deps(cfg, pipeline_watchlist(pipeline), pipeline_watchlist_loader(pipeline))
    on_consent = getattr(pipeline, "request_consent", None)
    display = _Display(settings)
    pygame.font.init()
    try:
        screen = display.open()
        app = KioskApp(screen.get_size(), settings, deps, on_consent=on_consent if callable(on_consent) else None,
                       counter=counter)
        log.info("screen %dx%d, language %s, theme %s", *screen.get_size(), settings.language, settings.theme)
        clock = pygame.time.Clock()
        frames = 0
        while pipeline.running() and not app.quit_requested:
            now_s = time.monotonic()
            if display.screen is None:
                reopened = display.try_reopen(now_s)
                if reopened is not None:
                    # Laid out anew even at the same size: cached surfaces belong to the old display.
                    app.resize(reopened.get_size(), force=True)
            if display.screen is not None:
                try:
                    for event in pygame.event.get():
                        app.handle_event(event, now_s)
                except pygame.error as exc:
                    display.lost(exc, now_s)
            app.update(now_s, pipeline.slot.peek(), pipeline.slot.status(), pipeline.snapshot)
            if display.screen is not None:
                try:
                    # Checked every frame rather than on VIDEORESIZE / WINDOWSIZECHANGED alone:
                    # it also catches a fullscreen display that changed resolution.
                    screen = display.surface()
                    app.resize(screen.get_size())
                    app.render(screen, now_s)
                    pygame.display.flip()
                    clock.tick(settings.max_fps)
                except pygame.error as exc:
                    display.lost(exc, now_s)
            else:
                time.sleep(LOST_IDLE_S)
            if heartbeat is not None:
                heartbeat()
            frames += 1
            if max_frames is not None and frames >= max_frames:
                break
    finally:
        pygame.quit()
