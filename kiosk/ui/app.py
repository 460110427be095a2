"""The kiosk screen: timing and composition of one display frame (input in ``kiosk.ui.input``).

``KioskApp`` is driven from outside with explicit times, so tests render any screen offscreen
(``SDL_VIDEODRIVER=dummy``) without a window or a pipeline:

    app = KioskApp((1280, 720), UiConfig(), UiDeps(), privacy=PrivacyConfig())
    app.update(now_s, frame, status, snapshot)   # newest inputs; never waits
    record = app.render(surface, now_s)          # draws; returns what was drawn

Its options are the config's own sections (``kiosk.config.UiConfig``; ``PrivacyConfig`` for the
forgetting time and consent the screen quotes); its collaborators (``UiDeps``) are built by the
composition root, ``kiosk.ui.build``. The real loop, ``kiosk.ui.loop`` (``run_window``,
``WindowLoop.step``), calls events -> update -> render -> flip at the display rate.

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
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pygame

from kiosk.config import PrivacyConfig, UiConfig
from kiosk.counters.daily import Aggregates
from kiosk.types import FaceView, Frame, Snapshot, SourceStatus
from kiosk.ui.arc import GONE_S, Arc
from kiosk.ui.arc_screens import ArcView, draw_arc
from kiosk.ui.caveats import Caveat, load_caveats
from kiosk.ui.consent import FEEDBACK_S, draw_consent, layout_consent, needs_consent
from kiosk.ui.deps import UiDeps
from kiosk.ui.i18n import Strings, language_names, load_strings
from kiosk.ui.image import CameraImage
from kiosk.ui.input import ScreenInput
from kiosk.ui.layout import Rect, ease_rect, fit_rect
from kiosk.ui.lessons import LessonView, draw_lesson, main_face, panel_rect
from kiosk.ui.memory import ForgetTracker, PipelineClock
from kiosk.ui.mirror import HOLD_MISSING_S, MirrorFrame, MirrorOverlay, strip_rect
from kiosk.ui.portrait_names import PortraitNames
from kiosk.ui.redraw import ScreenChanges
from kiosk.ui.screens import DebugInfo, draw_attract, draw_debug, draw_paused_note
from kiosk.ui.state import UiState
from kiosk.ui.takehome import TakeHome
from kiosk.ui.text import FrameRecord, TextRenderer
from kiosk.ui.theme import TypeScale, get_theme
from kiosk.ui.threshold_lesson import judge_at_slider, mark_searched_face
from kiosk.ui.widgets import DrawContext, banner_height, button_size, draw_banner, draw_button

log = logging.getLogger(__name__)

STARTING_GRACE_S = 10.0  # before the first frame, "starting" rather than "not available"
IMAGE_TAU_S = 0.2
TAKEHOME_MAX_S = 120.0  # a take-home code left open closes by itself after this long


@dataclass
class _Plan:
    """Where one frame's parts go (computed before anything is drawn): the picture, the panel,
    the buttons, and the rectangles cards and chips must keep clear of."""

    bh: int  # banner height
    panel: Rect | None  # the lesson or arc panel
    image_area: Rect  # where the camera picture may go
    bottom_px: int
    note: str | None  # "paused" / "starting" note of a camera in trouble
    frame: Frame | None  # None while paused: no picture, not even the last one
    snap: Snapshot | None
    image_rect: Rect | None
    lang_button: tuple[Rect, str] | None
    lessons_rect: Rect | None
    why_rect: Rect | None
    strip: Rect
    arc_open: bool  # the panel shows the visitor's arc (else a lesson)
    obstacles: list[Rect] = field(default_factory=list)


class KioskApp(ScreenInput, ScreenChanges):
    """One kiosk screen of a given size; owns all UI state (single-threaded: the main thread).

    ``ui``: the screen's options (``kiosk.config.UiConfig``); ``privacy``: the forgetting time and
    consent rule the screen quotes and follows (``kiosk.config.PrivacyConfig``); both default to
    the config's defaults. ``deps``: collaborators from ``kiosk.ui.build.build_deps`` (None: none).

    ``on_consent(track_id)``: called when a visitor touches "Analyse me" (or their own box) or
    presses A while a face in view has not consented, with the one track that agreed (the
    pipeline's ``request_consent``); None: the button does nothing.

    ``counter``: the kiosk's one daily counter (``kiosk.counters.daily.Aggregates``), fed by the
    pipeline; the attract screen shows its figures. None (tests, benchmarks): the screen makes one
    and feeds it the snapshots it is given.
    """

    def __init__(self, size: tuple[int, int], ui: UiConfig | None = None, deps: UiDeps | None = None, *,
                 privacy: PrivacyConfig | None = None, today: Callable[[], dt.date] = dt.date.today,
                 on_consent: Callable[[int], None] | None = None, counter: Aggregates | None = None) -> None:
        self.ui = ui if ui is not None else UiConfig()
        self.privacy = privacy if privacy is not None else PrivacyConfig()
        self.deps = deps or UiDeps()
        self.portraits = PortraitNames.from_deps(self.deps)
        self.on_consent = on_consent
        self.state = UiState(self.ui)
        self.theme = get_theme(self.ui.theme)
        self._lay_out(size)
        self.clock = PipelineClock()
        self.forget = ForgetTracker(self.ui.erased_hold_s)
        self.counter = counter if counter is not None else Aggregates(today=today)
        self._feed_counter = counter is None
        self._counted_frame: int | None = None
        self.language_names = language_names(self.ui.languages)
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
        self.arc = Arc(self.privacy.forget_after_s)
        self.takehome = TakeHome(self.ui.exhibition_link)
        self._takehome_seen_s = -1e9

    def set_deps(self, deps: UiDeps) -> None:
        """Collaborators built after the screen opened (from the analyzer, which loads meanwhile)."""
        self.deps, self.portraits = deps, PortraitNames.from_deps(deps)
        self._caveats.clear()

    def _lay_out(self, size: tuple[int, int]) -> None:
        """Everything derived from the screen size: type scale, fonts, picture and card layout."""
        self.size = (int(size[0]), int(size[1]))
        # Type follows the screen's short side: a portrait screen is the same panel turned, with
        # the same pixel pitch and reading distance, so its letters stay the same size.
        self.scale = TypeScale.for_screen(min(self.size), self.ui.text_scale, self.theme)
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
        if self.ui.arc:
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

    def _consent_label(self, strings: Strings, now_s: float) -> str:
        asked = self._consent_asked_s
        if asked is not None and 0.0 <= now_s - asked < FEEDBACK_S:
            return strings.get("consent.wait")
        return strings.get("consent.button")

    # --- drawing -------------------------------------------------------------------------------------

    def render(self, surface: pygame.Surface, now_s: float, settle: bool = False) -> FrameRecord:
        """Draw one frame for ``now_s``. ``settle``: no animation (for single-frame renders)."""
        t0 = time.perf_counter()
        record = FrameRecord()
        self.text.record = record
        strings = self.strings
        ctx = DrawContext(self.theme, self.scale, self.text, strings, record, self.ui, self.size,
                          self.portraits, self.privacy)
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
        langs = self.ui.languages
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

    def _plan(self, ctx: DrawContext, now_s: float, mode: str, settle: bool) -> _Plan:
        """Lay the frame out: panel, picture (eased towards its place), then the buttons, which
        cards and chips must keep clear of."""
        w, h = self.size
        sc = self.scale
        bh = banner_height(ctx)
        lesson_open = mode == "lesson"
        arc_open = mode == "mirror" and self.ui.arc and self.arc.visible
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
            self._image_easing = image_rect != target
            ctx.record.image = image_rect

        # Buttons first: cards and chips must keep clear of them.
        strings = ctx.strings
        lang_button = self._language_button(ctx, bottom_px)
        lang_rect = lang_button[0] if lang_button else None
        obstacles: list[Rect] = [lang_rect] if lang_rect else []
        lessons_rect = None
        if not lesson_open:
            bw, bh2 = button_size(ctx, strings.get("buttons.lessons"))
            bw += bh2 // 3
            lessons_rect = (image_area[0] + image_area[2] - sc.pad - bw, bottom_px - sc.pad - bh2, bw, bh2)
            obstacles.append(lessons_rect)
        why_rect = None
        if mode == "attract" and self.ui.arc and lessons_rect is not None:
            bw, bh2 = button_size(ctx, strings.get("arc.buttons.why"))
            why_rect = (lessons_rect[0] - sc.pad - bw, lessons_rect[1], bw, bh2)
            obstacles.append(why_rect)
        left = (lang_rect[0] + lang_rect[2] + sc.pad) if lang_rect else sc.pad
        right = (lessons_rect[0] - sc.pad) if lessons_rect else image_area[0] + image_area[2] - sc.pad
        if why_rect is not None:
            right = why_rect[0] - sc.pad
        strip = strip_rect(ctx, left, right, bottom_px)
        return _Plan(bh, panel, image_area, bottom_px, note, frame, snap, image_rect, lang_button,
                     lessons_rect, why_rect, strip, arc_open, obstacles)

    def _draw_live(self, surface: pygame.Surface, ctx: DrawContext, now_s: float, mode: str, settle: bool) -> None:
        p = self._plan(ctx, now_s, mode, settle)
        w, h = self.size
        sc = self.scale
        frame, snap, image_rect, obstacles = p.frame, p.snap, p.image_rect, p.obstacles
        area: Rect = (sc.pad, p.bh + sc.pad, p.image_area[2] - 2 * sc.pad, p.bottom_px - p.bh - 2 * sc.pad)
        departures = self.forget.departures(now_s)
        pipeline_now = self.clock.now(now_s)
        live_snap = snap if (mode != "attract" and image_rect is not None) else None
        if live_snap is not None and p.panel is not None and mode == "lesson" and self.state.lesson == "threshold":
            # The cards judge the watchlist at the lesson's slider, so a card never says "MATCH"
            # where the lesson beside it says none (or the reverse). Only while the lesson shows:
            # beside an arc screen the cards judge at the kiosk's threshold, as the arc does.
            live_snap = judge_at_slider(live_snap, self.deps, self.state.slider_value(now_s))
        consent = None
        consent_label = ""
        if live_snap is not None and needs_consent(live_snap):
            consent_label = self._consent_label(ctx.strings, now_s)
            # Just above the buttons (and above the memory strip while it shows visitors who left);
            # cards keep clear of it as of the buttons.
            bottom = min([p.bottom_px] + [r[1] for r in obstacles] + ([p.strip[1]] if departures else [])) - sc.pad
            consent = layout_consent(ctx, p.image_area, bottom, ctx.strings.get("consent.button"))
            obstacles.append(consent.panel)
        card_scale = 1.0
        if frame is not None and image_rect is not None:
            # Cards scale with the picture: smaller beside a lesson panel than on the full mirror.
            full = fit_rect(frame.width, frame.height, (0, p.bh, w, h - p.bh))
            card_scale = image_rect[2] / max(1, full[2])
        mframe = self.overlay.update(ctx, now_s, live_snap, image_rect or p.image_area, area, obstacles,
                                     departures, p.strip, settle=settle, card_scale=card_scale)

        if frame is not None and image_rect is not None:
            blur = [(0, 0, *image_rect[2:])] if self.ui.blur_faces else []  # all, until the first analysis
            if self.ui.blur_faces and snap is not None:
                blur = [(bx - image_rect[0], by - image_rect[1], bw_, bh_) for (bx, by, bw_, bh_), _, _ in mframe.boxes.values()]
            points = self._mesh_points(snap, image_rect) if (self.ui.show_landmarks and live_snap) else None
            surf = self.image.surface(frame, image_rect[2:], self.ui.mirror, blur, points, self.theme.accent)
            surface.blit(surf, image_rect[:2])
        if mode == "attract":
            bottom = min([r[1] for r in obstacles] + [p.strip[1] if mframe.chips else h]) - sc.pad
            draw_attract(surface, ctx, self.counter.today(), image_rect, bottom, note=p.note, now_s=now_s)
        self.overlay.draw(surface, ctx, mframe, departures, pipeline_now, live_snap, image_rect or p.image_area)
        if consent is not None:
            draw_consent(surface, ctx, consent, consent_label)
            ctx.record.consent = consent.panel
        if p.panel is not None and p.arc_open:
            self._draw_arc_panel(surface, ctx, p.panel, snap, now_s, pipeline_now)
        elif p.panel is not None:
            self._draw_lesson_panel(surface, ctx, p, mframe, now_s)
        else:
            ctx.record.screen = mode
        if p.lessons_rect is not None:
            draw_button(surface, ctx, "lessons", ctx.strings.get("buttons.lessons"), p.lessons_rect, primary=True,
                        icon="next")
        if p.why_rect is not None:
            draw_button(surface, ctx, "why", ctx.strings.get("arc.buttons.why"), p.why_rect)
        self._draw_language_button(surface, ctx, p.lang_button)
        self.animating = self.moving(now_s, p.panel is not None, bool(departures), mframe.animating)

    def _draw_arc_panel(self, surface: pygame.Surface, ctx: DrawContext, panel: Rect, snap: Snapshot | None,
                        now_s: float, pipeline_now: float) -> None:
        arc = self.arc
        present = arc.present(now_s)
        view = ArcView(arc.step or "why", arc.subject, present, [k for k, _ in arc.guesses],
                       snap.frame_size if snap else (1, 1), self.deps,
                       self.forget.get(arc.subject_visitor) if arc.subject_visitor is not None else None,
                       pipeline_now, self.takehome,
                       present and snap is not None and arc.in_view(snap.faces) is not None,
                       others_in_view=snap is not None and any(
                           f is not arc.in_view(snap.faces) for f in snap.faces))
        draw_arc(surface, ctx, panel, view)

    def _draw_lesson_panel(self, surface: pygame.Surface, ctx: DrawContext, p: _Plan, mframe: MirrorFrame,
                           now_s: float) -> None:
        assert p.panel is not None
        frame, snap = p.frame, p.snap
        h = self.size[1]
        face = main_face(snap)
        # A face the detector misses for a moment keeps its lesson (as its card is kept).
        if face is not None:
            self._lesson_face = (face, now_s)
        elif self._lesson_face is not None and now_s - self._lesson_face[1] <= HOLD_MISSING_S:
            face = self._lesson_face[0]
        if face is not None and self.state.lesson == "threshold" and snap is not None:
            mark_searched_face(surface, ctx, mframe, face, snap,
                               avoid=(p.panel, (0, 0, surface.get_width(), p.bh), *p.obstacles))
        you = None
        if face is not None and frame is not None:
            you = self.image.crop(frame, face.box_xyxy, round(h * 0.12), self.ui.mirror, self.ui.blur_faces)
        view = LessonView(self.state.lesson, face, snap.frame_size if snap else (1, 1), you,
                          self.state.slider_value(now_s), self.deps, self.caveats(),
                          now_s - self.state.mode_since_s, self.state.lesson_index)
        draw_lesson(surface, ctx, p.panel, view)
        if p.note is not None:
            draw_paused_note(surface, ctx, p.note, p.image_area)

    def _mesh_points(self, snap: Snapshot | None, image_rect: Rect) -> np.ndarray | None:
        if snap is None:
            return None
        fw, fh = snap.frame_size
        meshes = [f.attributes.mesh_px for f in snap.faces if f.consented and f.attributes.mesh_px is not None]
        if not meshes:
            return None
        arr = np.concatenate(meshes).astype(np.float32, copy=False)  # a new array: scaled in place below
        if self.ui.mirror:
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
