"""The kiosk screen (pygame): mirror, dossier cards, forgetting, attract screen, lessons.

Entry point: ``kiosk.ui.window.run_window(cfg, pipeline)``. See ``kiosk/ui/README.md`` for the
screens, the keys, the accessibility rules and how to render screenshots or measure draw time.

Layout of the package: ``app`` (``KioskApp``: state and composition of one frame), ``input``
(touches and keys), ``loop`` (the one window loop, ``run_window``), ``display`` (the display and
its recovery), ``deps`` (``UiDeps``, the collaborators) and ``build`` (which makes them: the
screen's composition root), ``state`` (state machine and
timers), ``mirror`` / ``lessons`` / ``screens`` / ``widgets`` (draw functions), ``layout``
(card placement solver), ``dossier`` (card words), ``memory`` (who left, countdowns),
``image`` (camera frame to surface, blurring), ``text``
(fonts, text cache, record of what was drawn), ``consent`` ("Analyse me"), ``portraits``
(watchlist thumbnails), ``theme``, ``i18n``, ``caveats`` (with the measured figures). The
screen's options are the config's ``UiConfig`` and ``PrivacyConfig``. Today's counters on the attract screen come from ``kiosk.counters`` (the one
daily counter, the same ``kiosk stats`` reads).
"""
import os as _os

# pygame prints a greeting on import unless told not to; the kiosk's output is its log.
_os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
