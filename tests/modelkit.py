"""The fetched models and demo photos, as the tests load them: ``from modelkit import photo, session``.

A missing (or corrupt) model or photo FAILS the test, it is never skipped. ``make test`` runs
``make setup`` first, which fetches and sha256-checks every model and demo photo, so one that is
absent here means a broken setup; a skip would let such a run come out green without the model
tests having run at all. The failure names the file and the fix (`make setup`).

Sessions are made the kiosk's way (``kiosk.models.create_session``: CPU, one intra-op thread, no
spinning) and shared per model file across the whole run.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import cv2
import numpy as np
import onnxruntime
import pytest

from kiosk import models
from kiosk.errors import ModelError

FIX = "run `make setup`"

# The demo photos: official portraits, one face each.
PHOTOS = ("astronaut.png", "obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg")


def require_model(name: str) -> Path:
    """The verified file the kiosk loads for model ``name`` (``yunet``, ``sface``, ``age``, ...)."""
    try:
        return Path(models.ModelStore(models.default_models_dir()).require(name))
    except ModelError as exc:  # not fetched, truncated, wrong sha256, no manifest
        pytest.fail(f"model {name!r} unavailable ({exc}); {FIX}", pytrace=False)


def session(name_or_path: str | os.PathLike[str]) -> onnxruntime.InferenceSession:
    """One CPU session per model file for the whole run.

    A plain name (``"sface"``) goes through :func:`require_model`; a ``Path`` (or a string with a
    directory part or an ``.onnx`` suffix) is loaded as it is, e.g. a variant written to tmp_path.
    """
    if isinstance(name_or_path, str) and os.sep not in name_or_path and not name_or_path.endswith(".onnx"):
        path = require_model(name_or_path)
    else:
        path = Path(name_or_path)
    return _session(path.resolve())


@functools.lru_cache(maxsize=None)
def _session(path: Path) -> onnxruntime.InferenceSession:
    return models.create_session(path, ["CPUExecutionProvider"], 1)


def photo_path(name: str) -> Path:
    """Path of demo photo ``name`` (e.g. ``"obama2.jpg"``) in ``kiosk.models.default_demo_dir()``."""
    path = Path(models.default_demo_dir()) / name
    if not path.is_file():
        pytest.fail(f"demo photo {path} missing; {FIX}", pytrace=False)
    return path


def photo(name: str) -> np.ndarray:
    """Demo photo ``name`` as a BGR uint8 image (a fresh array on every call)."""
    path = photo_path(name)
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, path
    return image


def require_demo_scene() -> Path:
    """The demo photos folder with every photo the demo scene needs, or FAIL naming the fix."""
    from kiosk.capture.demo import DemoScene

    folder = Path(models.default_demo_dir())
    missing = DemoScene.missing_photos(folder)
    if missing:
        pytest.fail(f"demo photos {', '.join(missing)} missing in {folder}; {FIX}", pytrace=False)
    return folder
