"""Writing the daily counters to the aggregates file, every minute and at stop.

Only with ``privacy.persist_aggregates``; see :mod:`kiosk.counters.aggregates_file` for the file
and :mod:`kiosk.counters.daily` for the counting.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from kiosk.counters.daily import Aggregates
from kiosk.types import Snapshot

log = logging.getLogger(__name__)

__all__ = ["Persister"]


class Persister:
    """Feeds an :class:`Aggregates` and writes it to ``path`` every ``interval_s`` and at close.

    Call :meth:`observe` instead of ``Aggregates.observe`` from the inference thread; the file is
    written from that same thread when ``interval_s`` has passed *and* a counter changed (no
    writes while nobody comes: an SD card is spared 1,440 identical writes a night). A failed
    write (full disk, read-only folder, the privacy guard) is logged and retried at the next
    interval; counters are never worth stopping the exhibit for. :meth:`close` ends every open
    visit and writes once more; call it after the inference thread stopped (it is thread-safe
    anyway).
    """

    def __init__(self, aggregates: Aggregates, path: Path, interval_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not interval_s > 0:
            raise ValueError(f"interval_s must be > 0 seconds, got {interval_s}")
        self.aggregates = aggregates
        self.path = Path(path)
        self.interval_s = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last_attempt_s = clock()
        self._written_changes = aggregates.changes  # a resumed file is already on disk
        self._failures = 0
        self.writes = 0

    def observe(self, snapshot: Snapshot) -> None:
        """``aggregates.observe(snapshot)``, then write if the interval has passed."""
        self.aggregates.observe(snapshot)
        if self._clock() - self._last_attempt_s >= self.interval_s:
            self.flush()

    def flush(self) -> bool:
        """Write now if anything changed since the last write; False if the write failed."""
        with self._lock:
            self._last_attempt_s = self._clock()
            changes = self.aggregates.changes
            if changes == self._written_changes and self.path.exists():
                return True
            try:
                self.aggregates.write_json(self.path)
            except OSError as exc:
                self._failures += 1
                # The first failure at ERROR (an operator must act), repeats at DEBUG.
                level = logging.ERROR if self._failures == 1 else logging.DEBUG
                log.log(level, "cannot write the aggregates file %s: %s (failure %d; counting "
                        "goes on in RAM)", self.path, exc, self._failures)
                return False
            self._written_changes = changes
            self.writes += 1
            return True

    def close(self) -> bool:
        """End every open visit, write the final counters; False if that write failed."""
        self.aggregates.end_all()
        return self.flush()
