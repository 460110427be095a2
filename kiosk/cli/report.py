"""The JSON run report of ``kiosk run --report``: counters, timings and per-visitor summaries.

Built only from counters; passed through ``privacy.report_safe`` so that no pixel or embedding
can end up in it even by a future mistake.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from kiosk import __version__
from kiosk.privacy.policy import report_safe
from kiosk.analysis.record import attributes_summary, face_detail
from kiosk.track.gallery import ForgottenVisitor
from kiosk.types import FaceView


def _percentiles(values: Iterable[float]) -> dict[str, float]:
    arr = np.fromiter(values, dtype=np.float64)
    if arr.size == 0:
        return {"mean": 0.0, "p50": 0.0, "p95": 0.0}
    return {
        "mean": round(float(arr.mean()), 3),
        "p50": round(float(np.percentile(arr, 50)), 3),
        "p95": round(float(np.percentile(arr, 95)), 3),
    }


def build_report(*, source: str, frames: int, dropped: int, wall_s: float, started_s: float,
                 first_frame_s: float | None, clock_origin_s: float, stage_ms: dict[str, Iterable[float]],
                 max_faces: int, embeddings_computed: int,
                 visitors: Iterable[ForgottenVisitor],
                 last_faces: Mapping[int, FaceView] | None = None,
                 frame_size: tuple[int, int] | None = None,
                 visitor_times: bool = True) -> dict[str, Any]:
    """Assemble the report; every value is a scalar, string or short list.

    Visitor times are seconds since ``clock_origin_s`` (the first processed frame's time), so
    they read as "seconds into the run" whatever clock the source uses. Visitors still
    remembered when the run ended (``last_faces``) also get their last attributes and the
    FaceDetail-shaped record; visitors forgotten during the run keep only their counters.
    ``visitor_times=False`` (a live source) leaves out when each visitor was first and last seen:
    the report then holds no per-visitor timeline, only ids, visits and dwell times.
    """
    people = sorted(visitors, key=lambda v: v.visitor_id)
    # Frames per second of processing: from the first processed frame, not from start-up.
    processing_s = wall_s - (first_frame_s - started_s) if first_frame_s is not None else 0.0
    report = {
        "kiosk_version": __version__,
        "source": source,
        "frames": frames,
        "frames_dropped": dropped,
        "duration_s": round(wall_s, 3),
        "fps": round(frames / processing_s, 2) if processing_s > 0 else 0.0,
        "first_frame_after_s": (round(first_frame_s - started_s, 3)
                                if first_frame_s is not None else None),
        "stage_ms": {name: _percentiles(vals) for name, vals in stage_ms.items()},
        "max_faces_in_frame": max_faces,
        "embeddings_computed": embeddings_computed,
        "visitor_count": len(people),
        "return_visits": sum(v.visits - 1 for v in people),
        "visitors": [_visitor(v, clock_origin_s, (last_faces or {}).get(v.visitor_id), frame_size,
                     visitor_times) for v in people],
    }
    return report_safe(report)


def write_report(report: dict[str, Any], target: str) -> None:
    """Write to ``target`` (a path) or to stdout for ``-``."""
    text = json.dumps(report, indent=2, sort_keys=False)
    if target == "-":
        print(text)
    else:
        Path(target).write_text(text + "\n", encoding="utf-8")


def _visitor(v: ForgottenVisitor, clock_origin_s: float, face: FaceView | None,
             frame_size: tuple[int, int] | None, times: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": v.visitor_id,
        "visits": v.visits,
        "return_visits": v.visits - 1,
        "dwell_s": round(v.time_in_view_s, 2),
    }
    if times:
        entry["first_seen_s"] = round(v.first_seen_s - clock_origin_s, 2)
        entry["last_seen_s"] = round(v.last_seen_s - clock_origin_s, 2)
    if face is not None and frame_size is not None:
        entry["attributes"] = attributes_summary(face.attributes)
        entry["watchlist"] = [{"name": m.name, "score": round(m.score, 3), "passes": m.passes}
                              for m in face.watchlist]
        entry["face_detail"] = face_detail(face, frame_size)
    return entry
