"""Render every screen in every language at a given size and list what does not fit.

Shared by ``tests/test_ui_textfit.py`` (and usable by hand). A problem is one of:

* ``outside``: a text drawn partly off the screen;
* ``overlap``: two texts drawn over each other (a paragraph ran into the next block);
* ``cut``: a text shortened with "…" to fit (``TextRenderer.ellipsize`` had to shorten it);
* ``small``: a sentence meant as body text drawn in small print (the small roles are kept for
  sources, the JSON record and operator details).

``stretch`` > 1 lengthens every visitor-facing string by that factor (words repeated), to show
the check fails when a translation grows.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pygame

from kiosk.types import SourceStatus
from kiosk.types import Frame
from kiosk.bench import fake_snapshots as syn
from kiosk.ui.app import KioskApp
from kiosk.ui.caveats import load_caveats, load_measured
from kiosk.ui.i18n import Strings, load_strings
from kiosk.config import PrivacyConfig, UiConfig
from kiosk.ui.deps import UiDeps
from kiosk.ui.state import LESSONS
from kiosk.ui.text import FrameRecord, TextRenderer

OK = SourceStatus(ok=True, message="ok", since_s=0.0, reconnects=0)
LOST = SourceStatus(ok=False, message="camera /dev/video9 does not exist", since_s=0.0, reconnects=4)
LANGUAGES = ("en", "de", "es")
SIZES = ((1280, 720), (1920, 1080), (1080, 1920))
SMALL_ROLES = {"small", "small_bold", "mono"}
# Strings that are small print by design: sources and figures for reading close up, slider
# end labels, the JSON record's note, and the watchlist lesson's qualifying notes under its body
# text (AWS's 99 % advice, measured/extrapolated, the bias figure). Everything else a visitor
# reads is body text or larger.
SMALL_PRINT_KEYS = {"lesson.caveats.sources", "lesson.threshold.scales", "lesson.threshold.illustrative",
                    "lesson.threshold.lenient", "lesson.threshold.strict", "lesson.threshold.threshold",
                    "lesson.threshold.mark_kiosk", "lesson.threshold.match", "lesson.threshold.no_match",
                    "lesson.record.absent", "lesson.threshold.aclu", "lesson.threshold.aws",
                    "lesson.threshold.measured", "lesson.threshold.extrapolated", "lesson.threshold.extrapolated_short",
                    "lesson.threshold.bias"}


def _stretch(text: str, factor: float) -> str:
    if factor <= 1.0 or not text.strip():
        return text
    words = text.split(" ")
    extra = max(1, round(len(text) * (factor - 1.0)))
    tail = ""
    for w in itertools.cycle(words):
        if len(tail) >= extra:
            break
        tail += " " + w
    return text + tail


@contextmanager
def checking(stretch: float = 1.0) -> Iterator[list[str]]:
    """Patch the text machinery: record every "…" cut, optionally lengthen every string."""
    cuts: list[str] = []
    original_ellipsize = TextRenderer.ellipsize
    original_get = Strings.get

    def ellipsize(self: TextRenderer, text: str, role: str, width_px: int) -> str:
        out = original_ellipsize(self, text, role, width_px)
        if out != text:
            cuts.append(f"{text!r} ({role}, {width_px} px)")
        return out

    def get(self: Strings, key: str, **values: object) -> str:
        text = original_get(self, key, **values)
        return text if key.startswith(("fmt.", "meta.")) else _stretch(text, stretch)

    TextRenderer.ellipsize = ellipsize  # type: ignore[method-assign]
    Strings.get = get  # type: ignore[method-assign]
    try:
        yield cuts
    finally:
        TextRenderer.ellipsize = original_ellipsize  # type: ignore[method-assign]
        Strings.get = original_get  # type: ignore[method-assign]


def body_sentences(lang: str, stretch: float) -> list[str]:
    """Texts meant at body size or larger (long enough to recognise a fragment of)."""
    s = load_strings(lang)
    out = []
    for key in s.keys:
        if key in SMALL_PRINT_KEYS or key.startswith(("fmt.", "meta.")):
            continue
        raw = s.raw(key)
        if "{" in raw or len(raw) < 12:
            continue
        out.append(_stretch(raw, stretch))
    # The caveats' paragraphs (their sources and measured figures are small print by design).
    out += [_stretch(c.text, stretch) for c in load_caveats(lang)]
    return out


def small_print(lang: str, stretch: float) -> set[str]:
    s = load_strings(lang)
    return {_stretch(s.raw(k), stretch) for k in SMALL_PRINT_KEYS}


def problems(rec: FrameRecord, size: tuple[int, int], sentences: list[str], where: str,
             allowed_small: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    w, h = size
    out = []
    texts = [t for t in rec.texts if t.text.strip()]
    if rec.debug is not None:  # the F1 overlay lies over the screen on purpose (staff only)
        dx, dy, dw, dh = rec.debug
        texts = [t for t in texts if not (dx <= t.rect[0] < dx + dw and dy <= t.rect[1] < dy + dh)]
    for t in texts:
        x, y, tw, th = t.rect
        if x < 0 or y < 0 or x + tw > w or y + th > h:
            out.append(f"{where}: outside: {t.text!r} at {t.rect}")
        if (t.role in SMALL_ROLES and len(t.text) >= 12 and not any(t.text in s for s in allowed_small)
                and any(t.text in s for s in sentences)):
            out.append(f"{where}: small: {t.text!r}")
    for a, b in itertools.combinations(texts, 2):
        ra, rb = a.rect, b.rect
        # Line boxes include the font's leading: overlap means ink over ink (2 px tolerance).
        if (ra[0] + 2 < rb[0] + rb[2] and rb[0] + 2 < ra[0] + ra[2] and ra[1] + 3 < rb[1] + rb[3]
                and rb[1] + 3 < ra[1] + ra[3]) and a.rect != b.rect:
            out.append(f"{where}: overlap: {a.text!r} {a.rect} / {b.text!r} {b.rect}")
    return out


def screens(size: tuple[int, int], lang: str) -> Iterator[tuple[str, KioskApp, float, object, object, object]]:
    """(name, app, time, frame, status, snapshot) for every screen a visitor can meet."""
    w, h = size
    frame = Frame(np.full((480, 640, 3), 80, np.uint8), 1, 0.0)
    deps = UiDeps(fmr=syn.placeholder_fmr, watchlist_size=40, watchlist_threshold=syn.WATCHLIST_THRESHOLD,
                  measured=load_measured())  # the kiosk's own figures: the longest caveats

    def app(consent_required: bool = False, **kw: object) -> KioskApp:
        values = {"fullscreen": False, "width": w, "height": h, "language": lang, "lesson_after_s": 3600.0,
                  "arc": False, **kw}
        privacy = PrivacyConfig(consent="required" if consent_required else "implied")
        return KioskApp(size, UiConfig(**values), deps, privacy=privacy)  # type: ignore[arg-type]

    faces = (syn.face_view(1, (60.0, 110.0, 170.0, 250.0), 3, syn.PERSONAS["biden"], time_in_view_s=95.0,
                           visit_number=3, is_return=True, track_age_s=2.0, last_visit_end_s=40.0),
             syn.face_view(2, (420.0, 130.0, 500.0, 230.0), None, syn.PERSONAS["astronaut"]))
    snap = syn.snapshot(5, 100.0, faces, gone=(syn.gone_visitor(7, 90.0), syn.gone_visitor(8, 95.0)))
    empty = syn.snapshot(5, 100.0, ())
    yield "attract", app(), 10.0, frame, OK, empty
    yield "attract-paused", app(), 10.0, None, LOST, None
    yield "mirror", app(), 10.0, frame, OK, snap
    consent = syn.snapshot(5, 100.0, tuple(syn.anonymous(f) for f in faces))
    yield "consent", app(consent_required=True), 10.0, frame, OK, consent
    yield "attract-consent", app(consent_required=True), 10.0, frame, OK, empty
    for lesson in LESSONS:
        a = app()
        a.state.mode = "lesson"
        a.state.lesson_index = LESSONS.index(lesson)
        yield f"lesson:{lesson}", a, 10.0, frame, OK, snap
    a = app()
    a.state.debug = True
    yield "debug", a, 10.0, frame, LOST, snap


def check_all(size: tuple[int, int], lang: str, surface: pygame.Surface, stretch: float = 1.0) -> list[str]:
    found: list[str] = []
    with checking(stretch) as cuts:
        sentences = body_sentences(lang, stretch)
        allowed_small = small_print(lang, stretch)
        for name, app, t, frame, status, snap in screens(size, lang):
            where = f"{lang} {size[0]}x{size[1]} {name}"
            app.update(t - 1.0, frame, status, snap)  # type: ignore[arg-type]
            if name.startswith("lesson:"):
                app.state.mode = "lesson"
                app.state.last_interaction_s = t
            for page_t in (t, t + 7.0):  # a paged attract screen shows its second page 7 s later
                app.update(page_t, frame, status, snap)  # type: ignore[arg-type]
                if name.startswith("lesson:"):
                    app.state.mode = "lesson"
                before = len(cuts)
                rec = app.render(surface, page_t, settle=True)
                found += problems(rec, size, sentences, where, allowed_small)
                found += [f"{where}: cut: {c}" for c in cuts[before:]]
                if name == "debug" and rec.debug is not None:
                    x, y, dw, dh = rec.debug
                    if x + dw > size[0] or y + dh > size[1]:
                        found.append(f"{where}: outside: the F1 overlay {rec.debug}")
    return found
