"""System tools the tests drive (strace, systemd-analyze, shellcheck, Xvfb): ``from systemkit import skip_or_fail``.

On a developer's machine a missing tool skips its test (the message says how to install it);
under CI (``CI=1``, ``true`` or ``yes``) it fails, so a missing tool cannot pass silently there.
``make test-tools`` installs them where it can.
"""
from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest


def in_ci() -> bool:
    """True under CI (``CI=1``, ``true`` or ``yes``)."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def skip_or_fail(message: str) -> NoReturn:
    """Skip here, fail under CI."""
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_tool(name: str, install: str) -> str:
    """The path of system tool ``name``, or skip / fail (under CI) with ``install`` as the fix."""
    found = shutil.which(name)
    if found is None:
        skip_or_fail(f"{name} is not installed: {install}")
    return found
