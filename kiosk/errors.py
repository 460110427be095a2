"""Errors an operator can fix, each with the exit code the CLI (and systemd) acts on.

Also the wording shared by every stage that loads a model (:func:`wrong_model_message`) and
by every place that names the command re-creating a file (:func:`fix_command`).

Exit codes: 0 ok, 1 runtime failure (systemd restarts the service), 2 bad configuration or a
missing / corrupt model (systemd must not restart-loop: ``RestartPreventExitStatus=2``).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kiosk.paths import default_demo_dir, default_models_dir

EXIT_OK = 0
EXIT_RUNTIME = 1
EXIT_USAGE = 2


class KioskError(Exception):
    """An error whose message is complete for an operator: what, where, and how to fix it."""

    exit_code = EXIT_RUNTIME


class ConfigError(KioskError):
    """The operator's YAML is invalid. ``str()`` is one or more ``FILE:LINE: key.path: message`` lines."""

    exit_code = EXIT_USAGE


class ModelError(KioskError):
    """A model or demo asset is missing, corrupt or unusable; the message names the fixing command."""

    exit_code = EXIT_USAGE


class SourceError(KioskError):
    """A capture source cannot be opened or used (bad spec, missing file, missing driver)."""

    exit_code = EXIT_USAGE


class WatchlistError(KioskError):
    """The portrait folder is missing, empty, unreadable or has a malformed metadata.csv, or the
    manifest's false-match calibration is malformed (``kiosk.track``)."""

    exit_code = EXIT_USAGE


def fix_command(group: str, directory: Path) -> str:
    """The command that re-creates a file of ``group`` in ``directory`` (named in every problem)."""
    default = default_models_dir() if group == "models" else default_demo_dir()
    cmd = "kiosk models fetch"
    if group == "demo":
        cmd += " --only demo"
    if directory.resolve() != default.resolve():
        cmd += f" --{'models' if group == 'models' else 'demo'}-dir {directory}"
        return f"`{cmd}`"
    return f"`{cmd}` (or `make setup`)"


def session_model_path(session: Any) -> Path | None:
    """The file an onnxruntime session was loaded from, or None (a stub, or a model from bytes).

    Reads ``InferenceSession._model_path``, which onnxruntime sets for sessions made from a path.
    It is not public API: if a release drops it, messages only lose the file name and the exact
    ``--models-dir`` (hence the fallbacks), nothing breaks.
    """
    value = getattr(session, "_model_path", None)
    return Path(value) if isinstance(value, (str, os.PathLike)) else None


def wrong_model_message(session: Any, problem: str) -> str:
    """An operator message for a model file that loads but is not what the kiosk expects.

    ``problem`` says what is wrong (e.g. the input layout found and the one expected). The
    message names the file and the command that re-creates it. A file with the manifest's sha256
    cannot have the wrong layout, so this only fires when the file or the manifest was replaced;
    either way fetching again (and restoring the manifest) is the fix.
    """
    path = session_model_path(session)
    if path is None:
        return f"{problem}; this is not the model file the kiosk expects. Fix: run `kiosk models fetch`, then `kiosk models verify`"
    return (
        f"{path}: {problem}; this is not the model file the kiosk expects. Fix: run "
        f"{fix_command('models', path.parent)}, then `kiosk models verify` (if it says the file is fine, "
        "restore models/manifest.yaml with git)"
    )
