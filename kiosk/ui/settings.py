"""What the screen needs to know: settings (from the config) and injected collaborators.

``UiSettings`` holds every screen option. Some come from the existing config (``ui.*``,
``privacy.forget_after_s``); the rest have defaults here until the config grows the matching
fields (``from_config`` picks them up by name as soon as they exist, so no code changes are
needed then). ``UiDeps`` carries the functions the screen calls but does not own: the
FaceDetail record builder, the watchlist's false-match-rate curve, portrait thumbnails and the
kiosk's measured accuracy figures. Passing them in keeps the UI testable with stubs and keeps
the UI free of model code.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from kiosk.types import FaceView

log = logging.getLogger(__name__)

THEMES: tuple[str, ...] = ("default", "high_contrast")

RecordFn = Callable[[FaceView, tuple[int, int]], dict[str, Any]]
FmrFn = Callable[[float], float]
PortraitFn = Callable[[str], np.ndarray | None]


@dataclass(frozen=True, slots=True)
class UiSettings:
    """Screen options. Times in seconds, sizes in pixels; see ``check()`` for the bounds."""

    fullscreen: bool = True
    width: int = 1280
    height: int = 720
    mirror: bool = True
    show_landmarks: bool = False
    max_fps: int = 60
    forget_after_s: float = 300.0
    language: str = "en"
    languages: tuple[str, ...] = ("en", "de", "es")
    theme: str = "default"
    blur_faces: bool = False
    attract_after_s: float = 5.0
    lesson_after_s: float = 12.0
    lesson_rotate_s: float = 20.0
    interaction_hold_s: float = 45.0
    text_scale: float = 1.0
    welcome_s: float = 6.0
    leave_hold_s: float = 3.0
    erased_hold_s: float = 4.0
    debug_overlay: bool = False
    consent_required: bool = False  # privacy.consent == "required": the banner and attract screen say so
    arc: bool = False  # ui.arc: the visitor's arc (kiosk.ui.arc) instead of the timed lesson rotation
    exhibition_link: str | None = None  # ui.exhibition_link: a second take-home code with this link

    def check(self) -> UiSettings:
        """Raise ValueError naming the field, its bounds and the value; return self when valid."""
        bounds: dict[str, tuple[float, float]] = {
            "forget_after_s": (1.0, 86_400.0),
            "attract_after_s": (1.0, 3_600.0),
            "lesson_after_s": (2.0, 3_600.0),
            "lesson_rotate_s": (4.0, 600.0),
            "interaction_hold_s": (5.0, 3_600.0),
            "text_scale": (0.75, 2.5),
            "welcome_s": (0.0, 60.0),
            "leave_hold_s": (0.0, 60.0),
            "erased_hold_s": (0.0, 60.0),
            "max_fps": (10, 240),
        }
        for name, (lo, hi) in bounds.items():
            value = getattr(self, name)
            if not lo <= value <= hi:
                raise ValueError(f"ui setting {name}: expected {lo:g} to {hi:g}, got {value!r}")
        if self.theme not in THEMES:
            raise ValueError(f"ui setting theme: expected one of {', '.join(THEMES)}, got {self.theme!r}")
        if not self.languages:
            raise ValueError("ui setting languages: expected at least one language code, got none")
        if self.language not in self.languages:
            raise ValueError(f"ui setting language: {self.language!r} is not in languages {list(self.languages)}")
        return self

    @classmethod
    def from_config(cls, cfg: Any, **overrides: Any) -> UiSettings:
        """Settings from a ``kiosk.config.Config``: every ``cfg.ui`` field whose name matches, plus
        ``privacy.forget_after_s`` and ``privacy.consent``; fields the config does not have yet keep
        their defaults."""
        values: dict[str, Any] = {}
        ui = getattr(cfg, "ui", None)
        for f in fields(cls):
            if ui is not None and hasattr(ui, f.name):
                value = getattr(ui, f.name)
                values[f.name] = tuple(value) if isinstance(value, list) else value
        privacy = getattr(cfg, "privacy", None)
        if privacy is not None and hasattr(privacy, "forget_after_s"):
            values["forget_after_s"] = float(privacy.forget_after_s)
        if privacy is not None and hasattr(privacy, "consent"):
            values["consent_required"] = privacy.consent == "required"
        values.update(overrides)
        settings = cls(**values)
        if settings.language not in settings.languages:
            settings = replace(settings, languages=(settings.language, *settings.languages))
        return settings.check()


@dataclass(frozen=True, slots=True)
class UiDeps:
    """Collaborators the screen calls; every one optional, the screen degrades without it.

    - ``record(face, frame_size)``: the FaceDetail-shaped dict for "your record"
      (``kiosk.analysis.record.face_detail``); None hides the record's fields.
    - ``fmr(threshold)``: false-match rate per comparison at a watchlist score threshold (same
      units as ``WatchlistMatch.score``). None: the threshold lesson shows the formula but no
      figures. ``fmr_calibrated`` False labels the figures "illustrative".
    - ``watchlist_size``: number of portraits searched; ``watchlist_threshold``: the threshold
      the kiosk itself uses (a mark on the slider), None if unknown.
    - ``portrait(name)``: a BGR thumbnail of a watchlist portrait, or None (a silhouette is drawn).
    - ``watchlist_status()``: live loading state (``kiosk.track.watchlist_load.WatchlistStatus``) when the
      watchlist loads in the background; None: ``watchlist_size`` is final.
    - ``watchlist_names``: portrait names in watchlist order (the lesson shows a few when nobody is
      in view); ``portrait_numbers``: name -> 1-based number, shown instead of names when
      ``show_names`` is False (``watchlist.show_names``).
    - ``fmr_measured_down_to``: the smallest false-match rate the calibration counted directly;
      below it the rates are extrapolated from the measured tail and the lesson says so.
    - ``measured``: the kiosk's measured accuracy figures for the caveats, keyed by slot name
      (``kiosk.ui.caveats.MEASURED_SLOTS``): a ``MeasuredFigure`` (formatted per language) or an
      already formatted text. ``default_deps`` loads ``assets/caveats/measured.yaml``.
    """

    record: RecordFn | None = None
    fmr: FmrFn | None = None
    fmr_calibrated: bool = False
    watchlist_size: int = 0
    watchlist_threshold: float | None = None
    portrait: PortraitFn | None = None
    watchlist_status: Callable[[], Any] | None = None
    watchlist_names: tuple[str, ...] = ()
    portrait_numbers: Mapping[str, int] = field(default_factory=dict)
    show_names: bool = True
    fmr_measured_down_to: float = 0.0
    bias: Mapping[str, Any] | None = None  # kiosk.ui.rates.load_bias(): the kiosk's own group ratio
    measured: Mapping[str, Any] = field(default_factory=dict)


def default_deps(cfg: Any | None = None, watchlist: Any | None = None, loader: Any | None = None) -> UiDeps:
    """The collaborators available in this tree.

    - the FaceDetail record from ``kiosk.analysis.record``;
    - the false-match-rate curve: the loaded watchlist's calibration when it has one, else
      ``kiosk.track.fmr_calibration.load_calibration()`` (None when the manifest has no calibration);
    - the kiosk's measured accuracy for the caveats (``assets/caveats/measured.yaml``);
    - with a ``watchlist`` (a loaded ``kiosk.track.watchlist.Watchlist``; the pipeline's is
      ``pipeline.inference.analyzer.watchlist``): its size, the configured threshold
      ``cfg.watchlist.threshold``, and portrait thumbnails read lazily from ``cfg.watchlist.dir``
      (``kiosk.ui.portraits``). Without one, the threshold lesson says no watchlist is loaded.

    Each piece that fails to load is logged and left out: the screen degrades, it never stays dark.
    """
    record: RecordFn | None
    try:
        from kiosk.analysis.record import face_detail
        record = face_detail
    except ImportError:  # the record module is optional for the screen
        record = None
    fmr: FmrFn | None = None
    calibration = getattr(watchlist, "calibration", None)
    if calibration is not None:
        fmr = calibration.false_match_rate
    else:
        try:
            from kiosk.track.fmr_calibration import load_calibration

            calibration = load_calibration()
            fmr = calibration.false_match_rate if calibration is not None else None
        except Exception as exc:  # noqa: BLE001 - a broken calibration must not keep the screen dark
            log.warning("no false-match calibration for the threshold lesson: %s", exc)
            fmr = None
    measured: Mapping[str, Any] = {}
    try:
        from kiosk.ui.caveats import load_measured

        measured = load_measured()
    except ValueError as exc:
        log.warning("the caveats lesson shows no measured figures: %s", exc)
    size, threshold, portrait = 0, None, None
    names: tuple[str, ...] = ()
    show_names = True
    status = loader.status if loader is not None else None
    wl_cfg = getattr(cfg, "watchlist", None)
    if watchlist is not None:
        size = int(watchlist.size)
    if wl_cfg is not None and (watchlist is not None or loader is not None):
        threshold = float(wl_cfg.threshold)
        show_names = bool(getattr(wl_cfg, "show_names", True))
        folder = getattr(wl_cfg, "dir_resolved", None) or getattr(wl_cfg, "dir", None)
        if folder is not None:
            from kiosk.ui.portraits import PortraitThumbnails

            portrait = PortraitThumbnails(folder)
            names = portrait.preload()  # at start-up, not on the first draw
    if watchlist is not None and getattr(watchlist, "names", None):
        names = tuple(dict.fromkeys(watchlist.names))
    numbers = {n: i + 1 for i, n in enumerate(names)}
    measured_down_to = float(getattr(calibration, "measured_down_to", 0.0) or 0.0)
    from kiosk.ui.rates import load_bias

    bias = load_bias()
    return UiDeps(record=record, fmr=fmr, fmr_calibrated=fmr is not None, watchlist_size=size,
                  watchlist_threshold=threshold, portrait=portrait, watchlist_status=status,
                  watchlist_names=names, portrait_numbers=numbers, show_names=show_names,
                  fmr_measured_down_to=measured_down_to, bias=bias, measured=measured)


def pipeline_watchlist(pipeline: Any) -> Any | None:
    """The pipeline's loaded watchlist (``pipeline.inference.analyzer.watchlist``), or None."""
    analyzer = getattr(getattr(pipeline, "inference", None), "analyzer", None)
    return getattr(analyzer, "watchlist", None)


def pipeline_watchlist_loader(pipeline: Any) -> Any | None:
    """The pipeline's background watchlist loader (its ``status()`` feeds the lesson), or None."""
    analyzer = getattr(getattr(pipeline, "inference", None), "analyzer", None)
    return getattr(analyzer, "watchlist_loader", None)
