"""``kiosk check-config FILE`` (and ``python -m kiosk.config check FILE``)."""
from __future__ import annotations

import sys
from pathlib import Path

from kiosk.config import Config, load_config
from kiosk.config.messages import _num
from kiosk.errors import EXIT_OK, EXIT_USAGE, ConfigError


def main_check(path: Path) -> int:
    """``kiosk check-config FILE``: print every problem to stderr and return 2, or print a
    one-line summary to stdout and return 0. Never shows a traceback."""
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # a bug in this checker must still not look like a crash to an operator
        print(f"{path}: internal error while checking ({type(exc).__name__}: {exc}); please report this", file=sys.stderr)
        return EXIT_USAGE
    print(f"{path}: OK ({_summary(cfg)})")
    return EXIT_OK


def _summary(cfg: Config) -> str:
    cam, rec = cfg.camera, cfg.recognition
    recognition = f"recognition on (threshold {_num(rec.match_threshold)})" if rec.enabled else "recognition off"
    screen = "fullscreen" if cfg.ui.fullscreen else f"window {cfg.ui.width}x{cfg.ui.height}"
    return (
        f"source {cam.source}, {cam.width}x{cam.height} at {cam.fps} fps, detector width {cfg.detector.input_width}, "
        f"{recognition}, forget after {_num(cfg.privacy.forget_after_s)} s, {screen}, "
        f"providers {','.join(cfg.runtime.providers)}"
    )
