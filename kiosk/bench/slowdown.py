"""A test and benchmark hook: make the analyser ``factor`` times slower, as on a weaker machine.

Re-identification must not depend on load: when inference falls behind, a live source drops
frames and fewer embeddings arrive per second, and the ids must stay the same. This hook lets
tests and ``kiosk run --slow-analyser 3`` (a hidden option, not a config key) show that on this
machine. After each frame the analyser sleeps ``(factor - 1)`` times the time the frame took,
so its throughput is ``1 / factor`` of what it was, whatever the machine.
"""
from __future__ import annotations

import time
from typing import Any


def slow_down(analyzer: Any, factor: float) -> Any:
    """Wrap ``analyzer.process`` in place so each frame takes ``factor`` times as long; returns it."""
    if not factor >= 1.0:
        raise ValueError(f"slow-down factor must be >= 1, got {factor}")
    if factor == 1.0:
        return analyzer
    inner = analyzer.process

    def process(frame: Any) -> Any:
        t0 = time.perf_counter()
        snap = inner(frame)
        time.sleep((factor - 1.0) * (time.perf_counter() - t0))
        return snap

    analyzer.process = process
    return analyzer
