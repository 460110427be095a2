"""What the screen is given besides its configuration: the collaborators it calls but does not own.

``UiDeps`` carries the FaceDetail record builder, the watchlist's false-match-rate curve,
portrait thumbnails and the kiosk's measured accuracy figures. They are built once, by the
composition root (``kiosk.ui.build.build_deps``, called from ``kiosk run``, the benchmark and the
tools), and handed to ``KioskApp``; nothing in the window loop reads them from disk. Passing them
in keeps the UI testable with stubs and free of model code. The screen's options themselves are
the config's own sections, ``kiosk.config.UiConfig`` and ``kiosk.config.PrivacyConfig`` (one
schema, one table of bounds).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kiosk.types import FaceView

RecordFn = Callable[[FaceView, tuple[int, int]], dict[str, Any]]
FmrFn = Callable[[float], float]
PortraitFn = Callable[[str], np.ndarray | None]


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
      already formatted text. ``build_deps`` loads ``assets/caveats/measured.yaml``.
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
