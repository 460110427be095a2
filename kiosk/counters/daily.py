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
when the operator enabled ``privacy.persist_aggregates``;
:func:`~kiosk.counters.aggregates_file.allowed_paths` gives the two paths the privacy guard must
let through. :class:`~kiosk.counters.persister.Persister` does the writing every ``interval_s``
and at close. :func:`~kiosk.counters.aggregates_file.read_aggregates` reads and checks such a
file (used by ``kiosk stats`` and to resume today's counts after a restart).

The attract screen's figures come from this same counter (:meth:`Aggregates.today`, see
:mod:`kiosk.counters.figures`), so what visitors see and what ``kiosk stats`` reports agree.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kiosk.age_bands import COUNTER_AGE_BANDS, counter_age_band
from kiosk.counters.aggregates_file import (FORMAT, NOTE, VERSION, AggregatesFileError, format_file, fsync_dir,
                                          read_aggregates, temp_path)
from kiosk.counters.figures import FINE_BIN_S, TodayFigures, fine_bin, fine_from_coarse, today_figures
from kiosk.privacy.policy import report_safe
from kiosk.types import EXPRESSIONS, FaceView, Snapshot

log = logging.getLogger(__name__)

__all__ = ["Aggregates", "DWELL_BINS_S", "MAX_DAYS", "MIN_GROUP", "dwell_bin"]

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
        privacy guard must allow :func:`~kiosk.counters.aggregates_file.allowed_paths`. Raises ``OSError`` (including the guard's
        ``PermissionError``) when the file cannot be written.
        """
        path = Path(path)
        text = format_file(self.to_dict())
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
        fsync_dir(path.parent)

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
