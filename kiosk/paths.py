"""Where the source tree keeps models, demo photos and their manifests (the bottom layer).

Paths default to the source tree (``models/files``, ``assets/demo/photos``, located from this
file), which is what an editable install (``make setup``) uses. A non-editable install has no
manifests; pass explicit directories and keep the repository around. Module attributes (not
constants copied elsewhere): tests point ``MODELS_MANIFEST`` at a temporary manifest.
"""
from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS_MANIFEST = REPO_ROOT / "models" / "manifest.yaml"
DEMO_MANIFEST = REPO_ROOT / "assets" / "demo" / "manifest.yaml"


def default_models_dir() -> Path:
    """The source tree's ``models/files`` (git-ignored; filled by ``kiosk models fetch``)."""
    return REPO_ROOT / "models" / "files"


def default_demo_dir() -> Path:
    """The source tree's ``assets/demo/photos`` (git-ignored; filled by ``kiosk models fetch``)."""
    return REPO_ROOT / "assets" / "demo" / "photos"

DEFAULT_WATCHLIST = REPO_ROOT / "assets" / "watchlist" / "nasa"
"""The watchlist that ships with the kiosk: 134 public-domain NASA portraits (see its README)."""
