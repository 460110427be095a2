"""Errors an operator can fix, each with the exit code the CLI (and systemd) acts on.

Exit codes: 0 ok, 1 runtime failure (systemd restarts the service), 2 bad configuration or a
missing / corrupt model (systemd must not restart-loop: ``RestartPreventExitStatus=2``).
"""
from __future__ import annotations

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
