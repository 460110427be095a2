"""``kiosk bench --soak``: a long lossless run on ``synthetic:churn`` that checks memory, gallery
size, threads and descriptors stay bounded (see :mod:`kiosk.bench.run`).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
import numpy as np
from kiosk import __version__
from kiosk.errors import KioskError
from kiosk.bench.probes import SOAK_SCHEMA, native_threads, open_fds, peak_rss_mb, rss_mb
from kiosk.bench.phases import _run_phase, make_source


# ------------------------------------------------------------------------------------------------
# Soak
# ------------------------------------------------------------------------------------------------

def soak_config(cfg: Any, forget_after_s: float) -> Any:
    """``cfg`` with a short ``privacy.forget_after_s`` (validated: at least the schema's minimum)."""
    updates: dict[str, Any] = {"privacy.forget_after_s": forget_after_s, "camera.realtime": False,
                               "camera.loop": True}
    if cfg.recognition.visit_gap_s > forget_after_s:
        updates["recognition.visit_gap_s"] = forget_after_s
    if cfg.tracking.max_missing_s > forget_after_s:
        updates["tracking.max_missing_s"] = forget_after_s
    return cfg.with_overrides(updates, origin="kiosk bench --soak")


def run_soak(cfg: Any, *, spec: str = "synthetic:churn", frames: int = 100_000, sample_every: int = 1000,
             warmup_frames: int | None = None, max_growth_mb: float = 5.0,
             models_dir: Path | None = None,
             progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run ``frames`` frames losslessly, sampling the process every ``sample_every`` frames.

    ``cfg`` should already have the soak's short ``privacy.forget_after_s`` (:func:`soak_config`).
    Checks (all must hold for ``passed``), over the samples taken after ``warmup_frames``
    (default: a quarter of the run, which covers the kiosk's 20,000-frame timing window and the
    scene's sprite cache filling up):

    - ``memory``: RSS growth (median of the last 3 samples minus median of the first 3) below
      ``max_growth_mb``;
    - ``gallery_ttl``: no visitor is ever kept longer than ``forget_after_s`` after it was last
      seen (checked on every frame, from the snapshot's visitor views);
    - ``gallery_bound``: (``synthetic:churn`` only) the gallery never holds more visitors than
      the script had appearances in the last ``forget_after_s + max_missing_s + 1`` seconds;
    - ``gallery_turnover``: visitors were created and forgotten (otherwise the run proves nothing);
    - ``threads`` and ``fds``: the same count in every post-warm-up sample.
    """
    # long: the soak's loop and its checks share the per-frame bookkeeping (samples, gallery ages,
    # turnover) that the nested on_frame callback fills; the checks are the docstring's list, in
    # order
    from kiosk.bench.scenes import SyntheticScene, parse_spec
    from kiosk.models import ModelStore

    if frames < 10 or sample_every < 1:
        raise KioskError(f"--frames must be >= 10 and --sample-every >= 1 for a soak, got {frames}, {sample_every}")
    warmup = frames // 4 if warmup_frames is None else warmup_frames
    if not 0 <= warmup < frames:
        raise KioskError(f"--warmup-frames must be in [0, {frames}), got {warmup}")
    store = ModelStore(models_dir or cfg.runtime.models_dir_resolved)
    forget_s = cfg.privacy.forget_after_s
    window_s = forget_s + cfg.tracking.max_missing_s + 1.0
    script: SyntheticScene | None = None
    if parse_spec(spec) == "churn":
        script = make_source(spec, cfg, realtime=False)  # same parameters: the same script

    samples: list[dict[str, Any]] = []
    state = {"stale": 0, "max_visitor_id": 0, "over_bound": 0, "max_gallery": 0, "max_bound": 0}

    def on_frame(snap: Any, analyzer: Any) -> None:
        # Every frame (inference thread, right after the frame): the TTL and bound checks.
        for v in snap.visitors:
            if snap.t_s - v.last_seen_s >= forget_s:
                state["stale"] += 1
            state["max_visitor_id"] = max(state["max_visitor_id"], v.visitor_id)
        n = len(snap.visitors)
        state["max_gallery"] = max(state["max_gallery"], n)
        bound = script.visits_between(snap.t_s - window_s, snap.t_s) if script is not None else None
        if bound is not None:
            state["max_bound"] = max(state["max_bound"], bound)
            if n > bound:
                state["over_bound"] += 1
        index = snap.frame_index
        if index % sample_every and index != frames - 1:
            return
        sample = {
            "frame": index,
            "t_s": round(snap.t_s, 2),
            "rss_mb": round(rss_mb(), 2),
            "gallery": n,
            "gallery_bound": bound,
            "in_view": len(snap.faces),
            "threads": native_threads(),
            "fds": open_fds(),
            "visitors_created": state["max_visitor_id"],
            "visitors_forgotten": len(analyzer.forgotten),
        }
        samples.append(sample)
        if progress is not None:
            progress(sample)

    t0 = time.monotonic()
    res = _run_phase("soak", cfg, store, lambda: make_source(spec, cfg, realtime=False), frames=frames,
                     on_sample=on_frame, record=False)
    wall_s = time.monotonic() - t0

    after = [s for s in samples if s["frame"] >= warmup]
    checks: dict[str, dict[str, Any]] = {}
    if len(after) >= 2:
        head = float(np.median([s["rss_mb"] for s in after[:3]]))
        tail = float(np.median([s["rss_mb"] for s in after[-3:]]))
        growth = tail - head
        x = np.array([s["frame"] for s in after], np.float64)
        y = np.array([s["rss_mb"] for s in after], np.float64)
        slope = float(np.polyfit(x, y, 1)[0]) * 10_000 if len(after) >= 3 else None
        checks["memory"] = {"ok": growth < max_growth_mb, "growth_mb": round(growth, 2),
                            "limit_mb": max_growth_mb, "rss_after_warmup_mb": round(head, 2),
                            "rss_end_mb": round(tail, 2),
                            "slope_mb_per_10k_frames": round(slope, 3) if slope is not None else None}
        for key in ("threads", "fds"):
            values = [s[key] for s in after]
            checks[key] = {"ok": max(values) == min(values), "min": min(values), "max": max(values)}
    else:
        checks["samples"] = {"ok": False, "message": "fewer than 2 samples after warm-up; lower --sample-every"}
    checks["gallery_ttl"] = {"ok": state["stale"] == 0, "visitors_kept_beyond_ttl": state["stale"],
                             "forget_after_s": forget_s}
    if script is not None:
        checks["gallery_bound"] = {"ok": state["over_bound"] == 0, "frames_over_bound": state["over_bound"],
                                   "max_gallery": state["max_gallery"], "max_bound": state["max_bound"]}
    forgotten = samples[-1]["visitors_forgotten"] if samples else 0
    checks["gallery_turnover"] = {"ok": state["max_visitor_id"] > 0 and forgotten > 0,
                                  "visitors_created": state["max_visitor_id"], "visitors_forgotten": forgotten}
    return {
        "schema": SOAK_SCHEMA,
        "kiosk_version": __version__,
        "source": spec,
        "frames": res.frames,
        "wall_s": round(wall_s, 1),
        "fps": round(res.fps, 2),
        "scene_s": round(samples[-1]["t_s"], 1) if samples else 0.0,
        "playback": "lossless (every frame processed); scene time = frame index / fps",
        "forget_after_s": forget_s,
        "sample_every": sample_every,
        "warmup_frames": warmup,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "max_gallery": state["max_gallery"],
        "checks": checks,
        "passed": all(c["ok"] for c in checks.values()),
        "samples": samples,
    }


