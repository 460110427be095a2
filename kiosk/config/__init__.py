"""The operator's YAML configuration: schema, loading, and errors that point at the right line.

One YAML file configures the kiosk. The schema is strict (unknown or duplicate keys, wrong types
and out-of-range values are errors, never silently ignored) because the people who edit it are
exhibition staff on a Raspberry Pi, not programmers: a typo must stop the kiosk with a message
that says where and how to fix it, rather than run it with a default they did not choose.

Errors look like compiler errors, one per line, all of them at once::

    kiosk.yaml:7: camera.widht: unknown key 'widht'; did you mean 'width'? Allowed keys in camera: ...
    kiosk.yaml:12: detector.score_threshold: out of range: got 1.5, expected 0.3 to 0.99

The package, bottom to top (each module imports only those above it in this list):

- :mod:`~kiosk.config.messages`: how problems are worded (pure text helpers).
- :mod:`~kiosk.config.source_spec`: the only parser of capture source specs.
- :mod:`~kiosk.config.sections`: the per-stage sections of the schema.
- :mod:`~kiosk.config.validation`: pydantic errors -> operator messages.
- :mod:`~kiosk.config.schema`: runtime, ui, logging and the root :class:`Config`.
- :mod:`~kiosk.config.loader`: YAML file -> :class:`Config` with line-accurate errors.
- :mod:`~kiosk.config.reference`: docs/CONFIG.md generated from the schema.

Public API (re-exported here): :func:`load_config`, :func:`config_from_mapping`,
:func:`override_source`, :meth:`Config.with_overrides`,
:func:`parse_source`, :func:`schema_markdown`. ``python -m kiosk.config markdown > docs/CONFIG.md``
regenerates the reference (a test fails when it is out of date).
"""
from __future__ import annotations

from kiosk.config.loader import config_from_mapping, load_config, override_source
from kiosk.config.reference import schema_markdown
from kiosk.config.schema import Config, LoggingConfig, RuntimeConfig, UiConfig
from kiosk.config.sections import (PROVIDERS, AttributesConfig, CameraConfig, DetectorConfig, PrivacyConfig,
                                   RecognitionConfig, TrackingConfig, WatchlistConfig)
from kiosk.config.source_spec import IMAGE_SUFFIXES, SourceSpec, parse_source

__all__ = [
    "AttributesConfig",
    "CameraConfig",
    "Config",
    "DetectorConfig",
    "IMAGE_SUFFIXES",
    "LoggingConfig",
    "PrivacyConfig",
    "PROVIDERS",
    "RecognitionConfig",
    "RuntimeConfig",
    "SourceSpec",
    "TrackingConfig",
    "UiConfig",
    "WatchlistConfig",
    "config_from_mapping",
    "load_config",
    "override_source",
    "parse_source",
    "schema_markdown",
]
