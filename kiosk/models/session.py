"""The one onnxruntime session factory: :func:`create_session`.

Sessions are tuned for *several* models sharing a few cores (no spinning threads, sequential
execution). Every model the kiosk runs gets its session here (the composition root,
:mod:`kiosk.analysis.build`, calls it; so do the benchmark and the evaluation).
"""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from kiosk.errors import ModelError, fix_command


if TYPE_CHECKING:  # pragma: no cover
    import onnxruntime

# onnxruntime >= 1.29 writes a telemetry database and a persistent device id on the first session
# unless this is set before it is imported. Setting it here, at import of the module that owns
# session creation, covers every import that goes through kiosk (onnxruntime itself is imported
# lazily below). setdefault: an operator's explicit value wins.
_ORT_IMPORTED_EARLY = "onnxruntime" in sys.modules and "ORT_DISABLE_TELEMETRY" not in os.environ
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

logger = logging.getLogger(__name__)
if _ORT_IMPORTED_EARLY:
    logger.warning("onnxruntime was imported before kiosk.models: ORT_DISABLE_TELEMETRY=1 may come too late")
# onnxruntime
# --------------------------------------------------------------------------------------------


def _import_onnxruntime() -> Any:
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    try:
        import onnxruntime
    except ImportError as exc:
        raise ModelError(f"onnxruntime cannot be imported ({exc}); install the kiosk with `make setup`") from None
    return onnxruntime


def available_providers() -> list[str]:
    """Execution providers this onnxruntime build offers (e.g. ``['CPUExecutionProvider']``)."""
    return list(_import_onnxruntime().get_available_providers())


def create_session(path: Path, providers: list[str], intra_op_threads: int) -> onnxruntime.InferenceSession:
    """An onnxruntime session configured for a process that runs several models on few cores.

    - ``intra_op_num_threads=intra_op_threads`` (0 = onnxruntime's default, one per core),
      ``inter_op_num_threads=1``, sequential execution: the models run one after another on the
      inference thread, so parallelism inside an op is all there is to have.
    - Thread spinning off (intra and inter op): idle onnxruntime workers otherwise busy-wait and
      steal the cores OpenCV, MediaPipe and the UI need (3x slower end to end on a 2-core box).
      The trade-off is a few microseconds of wake-up latency per op.
    - All graph optimisations (constant folding, Conv+BN fusion, layout transforms).
    - Log severity ERROR: the kiosk's log stays readable.
    - ``providers`` keeps the requested order, filtered to what this build offers; none of them
      available raises ModelError naming the available ones.

    Load failures (a file onnxruntime rejects) raise ModelError, never an onnxruntime exception.
    """
    ort = _import_onnxruntime()
    path = Path(path)
    if intra_op_threads < 0:
        raise ModelError(f"intra_op_threads must be >= 0 (0 = one per core), got {intra_op_threads}")
    available = list(ort.get_available_providers())
    chosen = [p for p in providers if p in available]
    if not chosen:
        raise ModelError(
            f"none of the requested onnxruntime providers {list(providers)} is available in this "
            f"onnxruntime build; available: {available}. Set runtime.providers accordingly"
        )
    skipped = [p for p in providers if p not in available]
    if skipped:
        logger.warning("onnxruntime providers %s not available here; using %s", skipped, chosen)

    so = ort.SessionOptions()
    so.intra_op_num_threads = int(intra_op_threads)
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3  # 0 verbose .. 4 fatal
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    try:
        session = ort.InferenceSession(str(path), sess_options=so, providers=chosen)
    except Exception as exc:  # onnxruntime raises its own exception types (Fail, InvalidGraph, NoSuchFile, ...)
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(
            f"{path}: onnxruntime cannot load it: {first_line}. Check it with `kiosk models verify`; "
            f"re-create it with {fix_command('models', path.parent)}"
        ) from None
    logger.info("loaded %s with %s, %d intra-op threads", path.name, session.get_providers(), intra_op_threads)
    return session


