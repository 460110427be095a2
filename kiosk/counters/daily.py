"""Counters for educators: visitors per day, dwell times, attention, the guesses shown. Nothing else.

:class:`Aggregates` turns the stream of :class:`~kiosk.types.Snapshot` into a handful of
counters per local calendar day:

- **visitors**: distinct visitor ids whose visit ended that day, plus tracks that never got a
  visitor id (recognition off, face never identifiable) and stayed at least 2 s (shorter tracks
  are mostly detector flicker). A visitor forgotten by the pipeline and seen again later gets a
  new id and is counted again; so is a visitor seen on two days. **Faces without consent**
  (``privacy.consent: required``, before "Analyse me") are not counted at all, not even their
  time in view: the kiosk promises that nothing about them is computed;
- **analysed**: those of them whose face was analysed. Since only consented faces are counted,
  this equals ``visitors`` (the key stays: it is part of the file format);
- **dwell histogram**: each visitor's total time in view, in the bins of :data:`DWELL_BINS_S`;
- **attention**: visitors who looked at the screen at least once (``looked``) out of visitors
  whose gaze was measured at all (``gaze_measured``; with ``attributes.mesh`` off or without
  consent nothing is measured, and counting those visitors as "did not look" would be false);
- **the guesses shown**: counts of age bands, gender guesses, top expressions, and watchlist
  searches and declared "matches" (at the configured threshold).

Each visitor is counted **once**, when their visit ends (their face leaves the snapshot), from
the last value of each guess shown to them; never per frame. If a remembered visitor comes back,
their contribution is taken back and counted again, with the new values, at the end of the new
visit (the visitor count itself is not repeated). The open record of a visitor lives exactly as
long as the pipeline remembers them (until they drop out of ``Snapshot.visitors``, i.e.
``privacy.forget_after_s`` after they were last seen), so this module never holds anything about
a person for longer than the recogniser does. Anonymous tracks are kept 30 s after they were
last in view (the longest ``tracking.max_missing_s``), because a track that flickers out of the
snapshot may come back under the same track id.

**Why there are no per-visitor rows.** A row per visitor ("14:32, 45 s, looked, 25-34, female,
happy") is a record about a person: combined with a guard's memory or a photo taken in the room,
it identifies them, and it would outlive the forgetting promise. A day's counters do not say
which visitor had which guess. For the same reason the file holds nothing finer than the date,
no ids and no names (not even watchlist names), and a day's guess distribution (age, gender,
expression, watchlist) is **withheld** (written as ``null``) while fewer than :data:`MIN_GROUP`
visitors contributed to it: on a day with one visitor, "the day's gender counts" would be that
visitor's gender guess (the idea of k-anonymity, with k = 5). Limits of this: the file is
rewritten every minute during the day, so someone who copies it repeatedly can see what changed
between two copies; the kiosk's unit makes the file readable by the service user only
(``UMask=0077``). Dwell times and attention are not withheld (far less sensitive).

Threads: :meth:`Aggregates.observe` is meant to be called from **the inference thread**, through
the pipeline's subscription hook (``Pipeline.subscribe``), right after each snapshot is published (one call per
processed frame; a few microseconds per face). A lock makes :meth:`to_dict`, :meth:`end_all` and
:meth:`write_json` safe from any other thread (e.g. the main thread at shutdown).

Storage: RAM only. :meth:`Aggregates.write_json` writes one small JSON file, atomically (a
temporary file ``<path>.tmp`` in the same folder, then ``os.replace``), and is only to be called
when the operator enabled ``privacy.persist_aggregates``; :func:`allowed_paths` gives the two
paths the privacy guard must let through. :class:`Persister` does the writing every
``interval_s`` and at close. :func:`read_aggregates` reads and checks such a file (used by
``kiosk stats`` and to resume today's counts after a restart).

The attract screen's figures come from this same counter (:meth:`Aggregates.today`, see
:mod:`kiosk.counters.figures`), so what visitors see and what ``kiosk stats`` reports agree.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kiosk.age_bands import COUNTER_AGE_BANDS, counter_age_band
from kiosk.counters.figures import FINE_BIN_S, TodayFigures, fine_bin, fine_from_coarse, today_figures
from kiosk.errors import EXIT_USAGE, KioskError
from kiosk.privacy.policy import report_safe
from kiosk.types import EXPRESSIONS, FaceView, Snapshot

log = logging.getLogger(__name__)

__all__ = [
    "Aggregates",
    "AggregatesFileError",
    "DWELL_BINS_S",
    "FORMAT",
    "MIN_GROUP",
    "NOTE",
    "Persister",
    "allowed_paths",
    "dwell_bin",
    "read_aggregates",
    "temp_path",
]

FORMAT = "surveillance-mirror-aggregates"
VERSION = 1
NOTE = "Counts only; no person can be identified from this file."

#: Lower edges of the dwell-time bins in seconds; the last bin is open (300 s and more).
DWELL_BINS_S: tuple[int, ...] = (0, 5, 15, 30, 60, 120, 300)
assert all(edge % FINE_BIN_S == 0 for edge in DWELL_BINS_S)  # see kiosk.counters.figures
# The gender model's two outputs (kiosk.infer.age_gender.GENDERS; not imported, to keep this
# module free of the inference stack). Any other value would still be counted under its own key.
_GENDERS: tuple[str, ...] = ("female", "male")
#: A day's guess distribution is withheld while fewer visitors than this contributed to it.
MIN_GROUP = 5
#: Days kept in the file (the oldest are dropped): about a year, ~150 KB.
MAX_DAYS = 366
# Tracks without a visitor id shorter than this are not counted (detector flicker, passers-by).
_MIN_ANONYMOUS_S = 2.0
# An anonymous track's record is kept this long after it was last in view: the upper bound of
# tracking.max_missing_s, so a track the tracker still keeps never loses its record here.
_TRACK_MEMORY_S = 30.0

_Key = tuple[str, int]  # ("v", visitor_id) or ("t", track_id); never leaves this module


def allowed_paths(path: Path) -> list[Path]:
    """The paths :meth:`Aggregates.write_json` writes: ``path`` and its temporary file.

    Pass them to ``kiosk.privacy.guard.install_guard(allow_write_paths=...)``. The guard allows
    existing folders wholesale, so a folder is refused here (the allow-list must stay exactly two
    files). Raises ``ValueError`` for a folder.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder; privacy.aggregates_file must name a file")
    return [path, temp_path(path)]


def temp_path(path: Path) -> Path:
    """``<path>.tmp``: a fixed name, because the privacy guard allow-lists exact file names."""
    path = Path(path)
    return path.with_name(path.name + ".tmp")


def dwell_bin(dwell_s: float) -> int:
    """Index into :data:`DWELL_BINS_S` of a time in view."""
    index = 0
    for i, lower in enumerate(DWELL_BINS_S):
        if dwell_s >= lower:
            index = i
    return index


# --------------------------------------------------------------------------------------------
# Counting
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Summary:
    """What one visitor contributes to a day: built from their views, never output alone."""

    dwell_s: float = 0.0
    analysed: bool = False
    gaze_measured: bool = False
    looked: bool = False
    age_band: str | None = None
    gender: str | None = None
    expression: str | None = None
    watchlist_searched: bool = False
    watchlist_matched: bool = False

    def merge(self, other: _Summary) -> None:
        """Fold in what was seen of the same person under another key (their track before it
        was identified): flags are OR-ed, guesses kept where this summary has none."""
        self.dwell_s = max(self.dwell_s, other.dwell_s)
        self.analysed = self.analysed or other.analysed
        self.gaze_measured = self.gaze_measured or other.gaze_measured
        self.looked = self.looked or other.looked
        self.age_band = self.age_band or other.age_band
        self.gender = self.gender or other.gender
        self.expression = self.expression or other.expression
        self.watchlist_searched = self.watchlist_searched or other.watchlist_searched
        self.watchlist_matched = self.watchlist_matched or other.watchlist_matched

    def update(self, face: FaceView) -> None:
        """Fold in one view: totals grow, each guess takes its latest shown value."""
        self.dwell_s = max(self.dwell_s, face.time_in_view_s)
        self.analysed = self.analysed or face.consented
        attrs = face.attributes
        if attrs.gaze is not None:
            self.gaze_measured = True
            self.looked = self.looked or attrs.gaze.at_screen
        if attrs.age is not None:
            self.age_band = counter_age_band(attrs.age.years)
        if attrs.gender is not None:
            self.gender = attrs.gender.value
        if attrs.expression is not None:
            self.expression = attrs.expression.top
        if face.watchlist:
            self.watchlist_searched = True
            self.watchlist_matched = any(m.passes for m in face.watchlist)


@dataclass(slots=True)
class _Record:
    """A visitor or anonymous track the pipeline still knows; ``committed`` once the visit ended."""

    summary: _Summary
    last_in_view_t_s: float
    committed: _Summary | None = None  # what is in the day's counters for them (a copy)
    committed_day: dt.date | None = None
    counted_day: dt.date | None = None  # the day they were counted as a visitor


@dataclass(slots=True)
class _Day:
    """One day's counters."""

    date: dt.date
    visitors: int = 0
    analysed: int = 0
    looked: int = 0
    gaze_measured: int = 0
    dwell: list[int] = field(default_factory=lambda: [0] * len(DWELL_BINS_S))
    age: dict[str, int] = field(default_factory=lambda: {label: 0 for label in COUNTER_AGE_BANDS})
    gender: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_GENDERS, 0))
    expression: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EXPRESSIONS, 0))
    watchlist_searched: int = 0
    watchlist_matched: int = 0
    # The same dwell times in finer bins, for today's median (RAM only, never written).
    fine_dwell: list[int] = field(default_factory=lambda: fine_from_coarse((), ()))

    def add(self, s: _Summary, sign: int) -> None:
        """Add (+1) or take back (-1) one visitor's contribution (the visitor count aside)."""
        self.dwell[dwell_bin(s.dwell_s)] += sign
        self.fine_dwell[fine_bin(s.dwell_s)] += sign
        self.analysed += sign * s.analysed
        self.gaze_measured += sign * s.gaze_measured
        self.looked += sign * s.looked
        if s.age_band is not None:
            self.age[s.age_band] = self.age.get(s.age_band, 0) + sign
        if s.gender is not None:
            self.gender[s.gender] = self.gender.get(s.gender, 0) + sign
        if s.expression is not None:
            self.expression[s.expression] = self.expression.get(s.expression, 0) + sign
        self.watchlist_searched += sign * s.watchlist_searched
        self.watchlist_matched += sign * s.watchlist_matched

    def copy(self) -> _Day:
        return replace(self, dwell=list(self.dwell), age=dict(self.age), gender=dict(self.gender),
                       expression=dict(self.expression), fine_dwell=list(self.fine_dwell))

    def as_dict(self, min_group: int, watchlist_threshold: float | None) -> dict[str, Any]:
        def shown(counts: dict[str, int]) -> dict[str, int] | None:
            total = sum(counts.values())
            return dict(counts) if total == 0 or total >= min_group else None

        watchlist: dict[str, Any] | None = None
        if self.watchlist_searched == 0 or self.watchlist_searched >= min_group:
            watchlist = {"searched": self.watchlist_searched, "matched": self.watchlist_matched,
                         "threshold": watchlist_threshold}
        return {
            "date": self.date.isoformat(),
            "visitors": self.visitors,
            "analysed": self.analysed,
            "looked": self.looked,
            "gaze_measured": self.gaze_measured,
            "dwell_histogram": list(self.dwell),
            "age": shown(self.age),
            "gender": shown(self.gender),
            "expression": shown(self.expression),
            "watchlist": watchlist,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> _Day:
        """Resume a day from the file. Withheld (``null``) distributions restart from zero."""
        day = cls(date=dt.date.fromisoformat(d["date"]), visitors=d["visitors"],
                  analysed=d["analysed"], looked=d["looked"], gaze_measured=d["gaze_measured"],
                  dwell=list(d["dwell_histogram"]),
                  fine_dwell=fine_from_coarse(d["dwell_histogram"], DWELL_BINS_S))
        for name in ("age", "gender", "expression"):
            if d[name] is not None:
                getattr(day, name).update(d[name])
        if d["watchlist"] is not None:
            day.watchlist_searched = d["watchlist"]["searched"]
            day.watchlist_matched = d["watchlist"]["matched"]
        return day


class Aggregates:
    """Per-day counters of visitors, dwell times, attention and the guesses shown; RAM only.

    Feed every snapshot to :meth:`observe` from the inference thread (the pipeline's
    ``Pipeline.subscribe``). ``today`` returns the local calendar date (injectable for tests); the
    counters roll over to a new day when it changes (checked on every call). Past days are kept
    (at most :data:`MAX_DAYS`) so that one file can show visitors per day. ``history`` takes the
    ``days`` of a previous file (see :meth:`resume`). ``watchlist_threshold`` is recorded with
    the watchlist counts so that a chart can say at which threshold "matches" were declared.

    Trade-off: counting at the end of a visit, not per frame, means the counts lag by one visit
    and a visitor in view at midnight is counted on the new day; in exchange a visitor is counted
    once, with the guesses they were last shown. :meth:`to_dict` includes the visitors in view
    now as if their visit had just ended, so the figures are current.
    """

    def __init__(self, *, today: Callable[[], dt.date] = dt.date.today,
                 watchlist_threshold: float | None = None, min_group: int = MIN_GROUP,
                 history: list[Mapping[str, Any]] | None = None) -> None:
        if min_group < 1:
            raise ValueError(f"min_group must be at least 1, got {min_group}")
        self._today = today
        self.watchlist_threshold = watchlist_threshold
        self.min_group = min_group
        self._lock = threading.RLock()
        self._records: dict[_Key, _Record] = {}
        self._changes = 0
        past = [dict(d) for d in (history or [])]
        day = today()
        if past and dt.date.fromisoformat(past[-1]["date"]) >= day:
            # Resuming the same day (or the clock went back): continue counting into that day.
            self._day = _Day.from_dict(past.pop())
        else:
            self._day = _Day(day)
        self._history: list[dict[str, Any]] = past[-(MAX_DAYS - 1):]

    @classmethod
    def resume(cls, path: Path, **kwargs: Any) -> Aggregates:
        """Counters continuing the file at ``path`` (today's counts too), or fresh if it is absent.

        Raises :class:`AggregatesFileError` when the file exists but is not a valid aggregates
        file (the operator should repair or remove it rather than lose its history silently).
        Today's guess distributions that were withheld in the file restart from zero.
        """
        path = Path(path)
        if not path.exists():
            return cls(**kwargs)
        data = read_aggregates(path)
        if tuple(data["dwell_bins_s"]) != DWELL_BINS_S:
            raise AggregatesFileError(
                f"{path}: dwell_bins_s is {data['dwell_bins_s']}, this version counts in "
                f"{list(DWELL_BINS_S)}; move the file away to start a new one")
        return cls(history=data["days"], **kwargs)

    @property
    def changes(self) -> int:
        """A number that grows whenever the counters change (cheap "anything to write?" test)."""
        return self._changes

    def observe(self, snapshot: Snapshot) -> None:
        """Update from one snapshot (inference thread; call once per processed frame)."""
        with self._lock:
            self._roll()
            t_s = snapshot.t_s
            for from_id, into_id in snapshot.merges:
                # A visitor found to be someone already counted: one person, one visitor.
                merged = self._records.pop(("v", from_id), None)
                if merged is not None:
                    self._take_back(merged, uncount=True)
                    into = self._records.get(("v", into_id))
                    if into is None:
                        into = self._records[("v", into_id)] = _Record(_Summary(), merged.last_in_view_t_s)
                    into.summary.merge(merged.summary)
            in_view: set[_Key] = set()
            for face in snapshot.faces:
                if not face.consented:
                    continue  # nothing about a face without consent is counted
                if face.visitor_id is not None:
                    key: _Key = ("v", face.visitor_id)
                    anonymous = self._records.pop(("t", face.track_id), None)
                    if anonymous is not None:
                        # The track has been identified: it is this visitor, not someone else.
                        self._take_back(anonymous, uncount=True)
                else:
                    key = ("t", face.track_id)
                    anonymous = None
                record = self._records.get(key)
                if record is None:
                    record = self._records[key] = _Record(_Summary(), t_s)
                if anonymous is not None:  # what was seen before identification counts too
                    record.summary.merge(anonymous.summary)
                if record.committed is not None:
                    self._take_back(record)  # back in view: counted again when this visit ends
                record.summary.update(face)
                record.last_in_view_t_s = t_s
                in_view.add(key)
            remembered = {v.visitor_id for v in snapshot.visitors}
            for key, record in list(self._records.items()):
                if key in in_view:
                    continue
                if record.committed is None:
                    self._commit(key, record)
                kind, number = key
                gone = (number not in remembered) if kind == "v" else (
                    t_s - record.last_in_view_t_s > _TRACK_MEMORY_S)
                if gone:
                    del self._records[key]

    def end_all(self) -> None:
        """End every open visit and forget every record (shutdown: the pipeline forgets all too)."""
        with self._lock:
            self._roll()
            for key, record in self._records.items():
                if record.committed is None:
                    self._commit(key, record)
            self._records.clear()

    def open_records(self) -> int:
        """How many visitors/tracks are held right now (for tests: 0 once all are forgotten)."""
        with self._lock:
            return len(self._records)

    def to_dict(self) -> dict[str, Any]:
        """The counters as a JSON-ready dict, checked by ``kiosk.privacy.policy.report_safe``.

        Keys: ``format``, ``version``, ``note``, ``dwell_bins_s``, ``min_group`` and ``days`` (one
        dict per day, oldest first, today last, with the visitors in view counted as if they had
        just left). No ids, no time finer than the date, no per-visitor rows.
        """
        with self._lock:
            today = self._today_now()
            days = [*self._history, today.as_dict(self.min_group, self.watchlist_threshold)]
        return report_safe({
            "format": FORMAT,
            "version": VERSION,
            "note": NOTE,
            "dwell_bins_s": list(DWELL_BINS_S),
            "min_group": self.min_group,
            "days": days,
        })

    def today(self) -> TodayFigures:
        """Today's figures for the attract screen (any thread): the counts :meth:`to_dict`
        gives for today, visitors in view included, and the median time in view."""
        with self._lock:
            day = self._today_now()
        return today_figures(day.visitors, day.fine_dwell, day.looked, day.gaze_measured)

    def write_json(self, path: Path) -> None:
        """Write :meth:`to_dict` to ``path`` atomically: ``<path>.tmp``, fsync, ``os.replace``.

        A crash or a full disk mid-write leaves the previous file intact (at worst a stale
        ``.tmp`` next to it, overwritten next time). Only for ``privacy.persist_aggregates``; the
        privacy guard must allow :func:`allowed_paths`. Raises ``OSError`` (including the guard's
        ``PermissionError``) when the file cannot be written.
        """
        path = Path(path)
        text = _format_file(self.to_dict())
        tmp = temp_path(path)
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.remove(tmp)
            except OSError:
                pass
            raise
        _fsync_dir(path.parent)

    # -- internals -------------------------------------------------------------------------------
    def _today_now(self) -> _Day:
        """A copy of today's counters with the visitors in view counted as if they had just
        left (hold the lock)."""
        self._roll()
        today = self._day.copy()
        for key, record in self._records.items():
            if record.committed is None and self._countable(key, record):
                if record.counted_day != today.date:
                    today.visitors += 1
                today.add(record.summary, +1)
        return today

    def _roll(self) -> None:
        day = self._today()
        if day <= self._day.date:  # same day, or the clock went back: keep counting into it
            return
        self._history.append(self._day.as_dict(self.min_group, self.watchlist_threshold))
        del self._history[:-(MAX_DAYS - 1)]
        log.info("aggregates: new day %s", day.isoformat())
        self._day = _Day(day)
        self._changes += 1

    @staticmethod
    def _countable(key: _Key, record: _Record) -> bool:
        return key[0] == "v" or record.summary.dwell_s >= _MIN_ANONYMOUS_S

    def _commit(self, key: _Key, record: _Record) -> None:
        """The visit ended: add the visitor's contribution to today's counters."""
        if not self._countable(key, record):
            return
        day = self._day
        if record.counted_day != day.date:
            day.visitors += 1
            record.counted_day = day.date
        record.committed = replace(record.summary)
        record.committed_day = day.date
        day.add(record.committed, +1)
        self._changes += 1

    def _take_back(self, record: _Record, *, uncount: bool = False) -> None:
        """Remove a committed contribution (only from today's counters; past days are final)."""
        day = self._day
        if record.committed is not None and record.committed_day == day.date:
            day.add(record.committed, -1)
            self._changes += 1
        record.committed = None
        record.committed_day = None
        if uncount and record.counted_day == day.date:
            day.visitors -= 1
            record.counted_day = None
            self._changes += 1


def _format_file(data: Mapping[str, Any]) -> str:
    """JSON with one line per day: small, diff-able, and error messages can name a day's line."""
    head = {k: v for k, v in data.items() if k != "days"}
    lines = ["{"]
    for k, v in head.items():
        lines.append(f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)},")
    days = [json.dumps(d, ensure_ascii=False) for d in data["days"]]
    lines.append(' "days": [')
    lines.extend(f"  {d}," for d in days[:-1])
    if days:
        lines.append(f"  {days[-1]}")
    lines.append(" ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable across a power cut (best effort; not every file system can)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------------------------------
# Writing periodically
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Reading and checking a file
# --------------------------------------------------------------------------------------------


class AggregatesFileError(KioskError):
    """An aggregates file is missing or invalid; one ``FILE[:LINE]: key: message`` line per problem."""

    exit_code = EXIT_USAGE


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


_Count = Annotated[int, Field(ge=0)]


class _WatchlistCounts(_Section):
    searched: _Count
    matched: _Count
    threshold: float | None = Field(ge=0.0, le=1.0)


class _DayCounts(_Section):
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    visitors: _Count
    analysed: _Count
    looked: _Count
    gaze_measured: _Count
    dwell_histogram: list[_Count]
    age: dict[str, _Count] | None
    gender: dict[str, _Count] | None
    expression: dict[str, _Count] | None
    watchlist: _WatchlistCounts | None


class _File(_Section):
    format: Literal["surveillance-mirror-aggregates"]
    version: Literal[1]
    note: str
    dwell_bins_s: list[_Count] = Field(min_length=1)
    min_group: int = Field(ge=1)
    days: list[_DayCounts]


_Loc = tuple[str | int, ...]


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(f"the key {k!r} appears twice in one object")
        out[k] = v
    return out


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def read_aggregates(path: Path) -> dict[str, Any]:
    """Read and check an aggregates file; return its content (plain JSON types).

    Checks the JSON syntax (line and column), every key and type (``days[2].visitors: ...`` with
    the line where possible), and the relations between counts (e.g. the dwell histogram sums
    to the visitors, dates strictly increase). Raises :class:`AggregatesFileError` listing every
    problem, one per line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AggregatesFileError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise AggregatesFileError(f"{path}: is a folder, not an aggregates file") from None
    except UnicodeDecodeError as exc:
        raise AggregatesFileError(f"{path}: not a text file ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise AggregatesFileError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    if not text.strip():
        raise AggregatesFileError(f"{path}: the file is empty")
    try:
        raw = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise AggregatesFileError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    except ValueError as exc:  # a duplicate key or NaN/Infinity; json gives no position here
        raise AggregatesFileError(f"{path}: not a valid aggregates file: {exc}") from None
    if not isinstance(raw, dict):
        raise AggregatesFileError(f"{path}:1: expected a JSON object {{...}} at the top, got {_kind(raw)}")
    problems: list[tuple[_Loc, str]] = []
    try:
        _File.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            problems.append((tuple(error["loc"]), _message(error)))
    if not problems:
        problems = _relations(raw)
    if problems:
        lines = _line_map(text)
        out = []
        for loc, message in problems:
            line = _find_line(lines, loc)
            head = f"{path}:{line}" if line is not None else str(path)
            out.append(f"{head}: {_dotted(loc) or 'top level'}: {message}")
        raise AggregatesFileError("\n".join(out))
    return raw


def _relations(data: Mapping[str, Any]) -> list[tuple[_Loc, str]]:
    """Checks between values that the types alone cannot express."""
    problems: list[tuple[_Loc, str]] = []
    bins = data["dwell_bins_s"]
    if bins[0] != 0 or any(b <= a for a, b in zip(bins, bins[1:])):
        problems.append((("dwell_bins_s",), f"must start at 0 and increase, got {bins}"))
    previous: dt.date | None = None
    for i, day in enumerate(data["days"]):
        loc: _Loc = ("days", i)
        try:
            date = dt.date.fromisoformat(day["date"])
        except ValueError:
            problems.append((loc + ("date",), f"not a calendar date: {day['date']!r}"))
            continue
        if previous is not None and date <= previous:
            problems.append((loc + ("date",), f"{day['date']} does not come after {previous.isoformat()}; "
                             "days must be in order, each once"))
        previous = date
        hist = day["dwell_histogram"]
        if len(hist) != len(bins):
            problems.append((loc + ("dwell_histogram",),
                             f"has {len(hist)} counts, dwell_bins_s has {len(bins)} bins"))
        elif sum(hist) != day["visitors"]:
            problems.append((loc + ("dwell_histogram",),
                             f"counts sum to {sum(hist)}, but visitors is {day['visitors']}"))
        for name, limit in (("analysed", "visitors"), ("gaze_measured", "visitors"),
                            ("looked", "gaze_measured")):
            if day[name] > day[limit]:
                problems.append((loc + (name,), f"{day[name]} is more than {limit} ({day[limit]})"))
        for name in ("age", "gender", "expression"):
            counts = day[name]
            if counts is not None and sum(counts.values()) > day["analysed"]:
                problems.append((loc + (name,), f"counts sum to {sum(counts.values())}, more than the "
                                 f"{day['analysed']} analysed visitors"))
        wl = day["watchlist"]
        if wl is not None:
            if wl["searched"] > day["visitors"]:
                problems.append((loc + ("watchlist", "searched"),
                                 f"{wl['searched']} is more than visitors ({day['visitors']})"))
            if wl["matched"] > wl["searched"]:
                problems.append((loc + ("watchlist", "matched"),
                                 f"{wl['matched']} is more than searched ({wl['searched']})"))
    return problems


_EXPECTED = {
    "int_type": "expected a whole number",
    "float_type": "expected a number",
    "string_type": "expected text",
    "dict_type": "expected an object {...}",
    "model_type": "expected an object {...}",
    "list_type": "expected a list [...]",
    "string_pattern_mismatch": "expected a date written YYYY-MM-DD",
    "too_short": "must not be empty",
}


def _message(error: Mapping[str, Any]) -> str:
    """A pydantic error in an operator's words."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    got = _show(error.get("input"))
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key (not part of an aggregates file)"
    if kind == "literal_error":
        return f"must be {ctx.get('expected', '?')}, got {got}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}, got {got}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}, got {got}"
    if kind in _EXPECTED:
        return f"{_EXPECTED[kind]}, got {got}"
    return f"{error['msg']}, got {got}"


def _show(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return _kind(value)
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false",
            type(None): "null"}.get(type(value), "a number")


def _dotted(loc: _Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_map(text: str) -> dict[_Loc, int] | None:
    """1-based line of every key (and list item) in the JSON text, via YAML's node tree.

    JSON as this module writes it is valid YAML, and ``yaml.compose`` keeps positions, which
    ``json`` does not. A hand-edited file YAML cannot read gives messages without line numbers.
    """
    try:
        root = yaml.compose(re.sub(r"\t", " ", text))
    except yaml.YAMLError:
        return None
    lines: dict[_Loc, int] = {}

    def walk(node: yaml.Node, loc: _Loc) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                sub = loc + (str(key_node.value),)
                lines[sub] = key_node.start_mark.line + 1
                walk(value_node, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[loc + (i,)] = item.start_mark.line + 1
                walk(item, loc + (i,))

    if root is not None:
        lines[()] = root.start_mark.line + 1
        walk(root, ())
    return lines


def _find_line(lines: dict[_Loc, int] | None, loc: _Loc) -> int | None:
    if lines is None:
        return None
    for end in range(len(loc), -1, -1):  # a missing key: the nearest enclosing object's line
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None
