"""The screen's composition root: config + the analyzer's watchlist -> ``UiDeps``.

Like ``kiosk.analysis.build`` for the analyzer, this is where the screen's collaborators are
made and where the files they need are read (the false-match calibration, the portraits'
thumbnails, the measured figures, the demographic ratio). ``kiosk run``, the benchmark and the
tools call :func:`build_deps` and hand the result to ``run_window`` / ``KioskApp``; the window
loop itself never loads anything from disk, and it gets the watchlist from whoever built it
instead of reaching into the pipeline.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kiosk.ui.deps import FmrFn, RecordFn, UiDeps

if TYPE_CHECKING:
    from kiosk.config import Config
    from kiosk.track.watchlist import Watchlist
    from kiosk.track.watchlist_load import BackgroundLoader

log = logging.getLogger(__name__)


def build_deps(cfg: Config | None = None, watchlist: Watchlist | None = None,
               loader: BackgroundLoader | None = None) -> UiDeps:
    """The collaborators available in this tree.

    - the FaceDetail record from ``kiosk.analysis.record``;
    - the false-match-rate curve: the loaded watchlist's calibration when it has one, else
      ``kiosk.track.fmr_calibration.load_calibration()`` (None when the manifest has no calibration);
    - the kiosk's measured accuracy for the caveats (``assets/caveats/measured.yaml``);
    - with a ``watchlist`` (the analyzer's ``watchlist``, once loaded) or a background ``loader``
      (the analyzer's ``watchlist_loader``): its size, the configured threshold
      ``cfg.watchlist.threshold``, and portrait thumbnails read from ``cfg.watchlist.dir``
      (``kiosk.ui.portraits``; preloaded here, at start-up). Without either, the threshold lesson
      says no watchlist is loaded.

    Each piece that fails to load is logged and left out: the screen degrades, it never stays dark.
    """
    record: RecordFn | None
    try:
        from kiosk.analysis.record import face_detail
        record = face_detail
    except ImportError:  # the record module is optional for the screen
        record = None
    fmr: FmrFn | None = None
    calibration = watchlist.calibration if watchlist is not None else None
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
    wl_cfg = cfg.watchlist if cfg is not None else None
    if watchlist is not None:
        size = int(watchlist.size)
    if wl_cfg is not None and (watchlist is not None or loader is not None):
        threshold = float(wl_cfg.threshold)
        show_names = bool(wl_cfg.show_names)
        from kiosk.ui.portraits import PortraitThumbnails

        portrait = PortraitThumbnails(wl_cfg.dir_resolved)
        names = portrait.preload()  # at start-up, not on the first draw
    if watchlist is not None and watchlist.names:
        names = tuple(dict.fromkeys(watchlist.names))
    numbers = {n: i + 1 for i, n in enumerate(names)}
    measured_down_to = float(getattr(calibration, "measured_down_to", 0.0) or 0.0)
    from kiosk.ui.rates import load_bias

    bias = load_bias()
    return UiDeps(record=record, fmr=fmr, fmr_calibrated=fmr is not None, watchlist_size=size,
                  watchlist_threshold=threshold, portrait=portrait, watchlist_status=status,
                  watchlist_names=names, portrait_numbers=numbers, show_names=show_names,
                  fmr_measured_down_to=measured_down_to, bias=bias, measured=measured)
