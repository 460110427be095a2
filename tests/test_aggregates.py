"""Aggregates: counted once per visitor at the end of the visit, bins, attention, guesses, days,
nothing identifying in the output, atomic writes, and the privacy guard's allow-list."""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from kiosk.counters.aggregates_file import AggregatesFileError, allowed_paths, read_aggregates, temp_path
from kiosk.counters.daily import DWELL_BINS_S, MAX_DAYS, Aggregates
from kiosk.counters.persister import Persister
from kiosk.privacy.policy import find_biometric_leaks, report_safe
from kiosk.types import (EXPRESSIONS, AgeEstimate, Attributes, ExpressionEstimate, FaceView, Gaze,
                         GenderEstimate, Snapshot, VisitorView, WatchlistMatch)

REPO = Path(__file__).resolve().parent.parent
DAY1 = dt.date(2025, 5, 1)


class Clock:
    """Injectable local date."""

    def __init__(self, day: dt.date = DAY1) -> None:
        self.day = day

    def __call__(self) -> dt.date:
        return self.day


def expression(top: str) -> ExpressionEstimate:
    return ExpressionEstimate(tuple(0.9 if name == top else 0.1 / 6 for name in EXPRESSIONS))


def face(track_id: int, visitor_id: int | None, in_view_s: float, *, age: float | None = None,
         gender: str | None = None, expr: str | None = None, looking: bool | None = None,
         watchlist: tuple[WatchlistMatch, ...] = (), consented: bool = True) -> FaceView:
    attrs = Attributes(
        age=AgeEstimate(age, age - 3, age + 3, 0.2) if age is not None else None,
        gender=GenderEstimate(gender, 0.8) if gender is not None else None,
        expression=expression(expr) if expr is not None else None,
        gaze=Gaze(0.0, 0.0, looking, 0.0) if looking is not None else None)
    return FaceView(track_id=track_id, box_xyxy=(10.0, 10.0, 90.0, 90.0), landmarks_px=(), score=0.9,
                    visitor_id=visitor_id, visit_number=1, is_return=False, track_age_s=in_view_s,
                    time_in_view_s=in_view_s, last_visit_end_s=None, attributes=attrs,
                    watchlist=watchlist, consented=consented)


def visitor(visitor_id: int, in_view: bool = True) -> VisitorView:
    return VisitorView(visitor_id=visitor_id, first_seen_s=0.0, last_seen_s=0.0, visits=1,
                       time_in_view_s=0.0, in_view=in_view, forget_at_s=300.0)


class Feed:
    """Scripted snapshots with a running frame index and pipeline clock."""

    def __init__(self, agg: Aggregates | Persister) -> None:
        self.agg = agg
        self.index = 0
        self.t_s = 100.0

    def __call__(self, faces: tuple[FaceView, ...] = (), remembered: tuple[int, ...] = (),
                 dt_s: float = 0.1) -> None:
        in_view = {f.visitor_id for f in faces}
        self.agg.observe(Snapshot(frame_index=self.index, t_s=self.t_s, frame_size=(640, 480),
                                  faces=faces,
                                  visitors=tuple(visitor(v, v in in_view) for v in remembered)))
        self.index += 1
        self.t_s += dt_s


def today(agg: Aggregates) -> dict[str, Any]:
    return agg.to_dict()["days"][-1]


def committed_visitors(agg: Aggregates) -> int:
    """Visitors whose visit has ended (to_dict also counts those in view)."""
    agg_day = agg._day  # noqa: SLF001 - white-box: shows the count happens at visit end
    return agg_day.visitors


# --- counting ---------------------------------------------------------------------------------


def test_a_visit_is_counted_once_at_its_end_with_the_last_guesses_shown() -> None:
    agg = Aggregates(today=Clock(), min_group=1)
    feed = Feed(agg)
    for i in range(50):  # 50 frames in view; the expression changes half-way
        feed((face(1, 7, 0.2 * i, age=30.0, gender="female", expr="happy" if i < 25 else "sad",
                   looking=i == 10),), remembered=(7,))
    assert committed_visitors(agg) == 0  # not counted per frame, and not before the visit ends
    assert today(agg)["visitors"] == 1  # ... but to_dict shows the visitor in view
    feed((), remembered=(7,))  # left the camera, still remembered
    assert committed_visitors(agg) == 1
    day = today(agg)
    assert day["visitors"] == 1 and day["analysed"] == 1
    assert day["dwell_histogram"] == [0, 1, 0, 0, 0, 0, 0]  # 9.8 s in view: one entry in 5-15 s
    assert day["expression"]["sad"] == 1 and day["expression"]["happy"] == 0
    assert day["age"]["25-34"] == 1 and sum(day["age"].values()) == 1
    assert day["gender"] == {"female": 1, "male": 0}
    assert (day["looked"], day["gaze_measured"]) == (1, 1)  # looked once, at frame 10
    for _ in range(20):  # nobody there: nothing changes
        feed((), remembered=(7,))
    assert today(agg) == day


def test_a_returning_visitor_is_counted_once_with_their_new_total() -> None:
    agg = Aggregates(today=Clock(), min_group=1)
    feed = Feed(agg)
    feed((face(1, 7, 4.0, expr="happy"),), remembered=(7,))
    feed((), remembered=(7,))
    assert today(agg)["dwell_histogram"][0] == 1
    # Back (a new track, same visitor id): the previous contribution is taken back.
    feed((face(2, 7, 40.0, expr="neutral"),), remembered=(7,))
    feed((), remembered=(7,))
    day = today(agg)
    assert day["visitors"] == 1
    assert day["dwell_histogram"] == [0, 0, 0, 1, 0, 0, 0]  # 40 s total: 30-60 s only
    assert day["expression"]["neutral"] == 1 and day["expression"]["happy"] == 0
    # Forgotten by the pipeline: the record goes, the count stays.
    feed((), remembered=())
    assert agg.open_records() == 0
    assert today(agg)["visitors"] == 1


@pytest.mark.parametrize(("dwell_s", "index"), [
    (0.0, 0), (4.99, 0), (5.0, 1), (14.9, 1), (15.0, 2), (29.9, 2), (30.0, 3), (59.9, 3),
    (60.0, 4), (119.9, 4), (120.0, 5), (299.9, 5), (300.0, 6), (7200.0, 6)])
def test_dwell_histogram_bins(dwell_s: float, index: int) -> None:
    agg = Aggregates(today=Clock())
    feed = Feed(agg)
    feed((face(1, 1, dwell_s),), remembered=(1,))
    feed((), remembered=())
    expected = [0] * len(DWELL_BINS_S)
    expected[index] = 1
    assert today(agg)["dwell_histogram"] == expected


def test_attention_share_counts_visitors_who_looked_once_among_those_measured() -> None:
    agg = Aggregates(today=Clock())
    feed = Feed(agg)
    # Visitor 1 looks in one frame only; visitor 2 never looks; visitor 3's gaze is not measured.
    feed((face(1, 1, 3.0, looking=False), face(2, 2, 3.0, looking=False), face(3, 3, 3.0)), remembered=(1, 2, 3))
    feed((face(1, 1, 3.1, looking=True), face(2, 2, 3.1, looking=False), face(3, 3, 3.1)), remembered=(1, 2, 3))
    feed((face(1, 1, 3.2, looking=False), face(2, 2, 3.2, looking=False), face(3, 3, 3.2)), remembered=(1, 2, 3))
    feed((), remembered=(1, 2, 3))
    day = today(agg)
    assert (day["visitors"], day["gaze_measured"], day["looked"]) == (3, 2, 1)


def test_guess_distributions_and_watchlist_matches_withheld_below_min_group() -> None:
    people = [(30.0, "female", "happy", True), (8.0, "male", "neutral", False),
              (70.0, "female", "sad", False), (16.0, "male", "neutral", False),
              (45.0, "female", "neutral", True)]
    agg = Aggregates(today=Clock(), watchlist_threshold=0.363)
    feed = Feed(agg)
    for n, (age, gender, expr, match) in enumerate(people, start=1):
        wl = (WatchlistMatch("portrait", 0.5 if match else 0.2, match), WatchlistMatch("other", 0.1, False))
        feed((face(n, n, 6.0, age=age, gender=gender, expr=expr, watchlist=wl),), remembered=(n,))
        feed((), remembered=())
        day = today(agg)
        if n < 5:  # fewer than 5 contributors: a distribution could describe one person
            assert day["age"] is None and day["gender"] is None and day["expression"] is None
            assert day["watchlist"] is None
            assert day["visitors"] == n  # the counts themselves are never withheld
    day = today(agg)
    assert day["age"] == {"0-12": 1, "13-17": 1, "18-24": 0, "25-34": 1, "35-44": 0, "45-54": 1,
                          "55-64": 0, "65+": 1}
    assert day["gender"] == {"female": 3, "male": 2}
    assert day["expression"]["neutral"] == 3 and sum(day["expression"].values()) == 5
    assert day["watchlist"] == {"searched": 5, "matched": 2, "threshold": 0.363}


def test_switched_off_guesses_are_zero_not_withheld() -> None:
    agg = Aggregates(today=Clock())
    feed = Feed(agg)
    feed((face(1, 1, 6.0, age=30.0),), remembered=(1,))
    feed((), remembered=())
    day = today(agg)
    assert day["age"] is None  # one contribution: withheld
    assert day["gender"] == {"female": 0, "male": 0}  # none at all: nothing to hide
    assert day["watchlist"] == {"searched": 0, "matched": 0, "threshold": None}


def test_tracks_without_a_visitor_id_count_when_they_stay_two_seconds() -> None:
    agg = Aggregates(today=Clock(), min_group=1)
    feed = Feed(agg)
    feed((face(1, None, 1.5),))  # a glimpse: not a visitor
    feed((face(2, None, 2.5, expr="happy"),))
    feed(())  # track 2 flickers out of the snapshot ...
    feed((face(2, None, 3.0, expr="happy"),))  # ... and back under the same track id
    feed(())
    day = today(agg)
    assert day["visitors"] == 1 and day["expression"]["happy"] == 1
    # Without consent (consent: required) a face is an anonymous box: not counted at all, not
    # even its time in view (the attract screen leaves it out too: one counter).
    feed((face(3, None, 5.0, consented=False),))
    feed(())
    day = today(agg)
    assert (day["visitors"], day["analysed"], sum(day["dwell_histogram"])) == (1, 1, 1)
    assert agg.today().visitors == 1
    # Records of ended tracks go after 30 s of pipeline time.
    for _ in range(4):
        feed((), dt_s=10.0)
    assert agg.open_records() == 0


def test_a_track_that_gets_identified_is_one_visitor_not_two() -> None:
    agg = Aggregates(today=Clock(), min_group=1)
    feed = Feed(agg)
    feed((face(5, None, 2.5, looking=True),))  # identifying...
    feed(())  # flickers out for a frame: counted as an anonymous track for now
    assert committed_visitors(agg) == 1
    feed((face(5, 42, 3.0, looking=False),), remembered=(42,))  # identified as visitor 42
    assert committed_visitors(agg) == 0  # the anonymous count is taken back
    feed((), remembered=(42,))
    day = today(agg)
    assert day["visitors"] == 1 and sum(day["dwell_histogram"]) == 1
    assert (day["looked"], day["gaze_measured"]) == (1, 1)  # the glance before identification counts


def test_day_rolls_over_at_local_midnight() -> None:
    clock = Clock()
    agg = Aggregates(today=clock)
    feed = Feed(agg)
    for n in (1, 2):
        feed((face(n, n, 10.0),), remembered=(n,))
        feed((), remembered=())
    feed((face(3, 3, 10.0),), remembered=(3,))  # in view at midnight
    clock.day = DAY1 + dt.timedelta(days=1)
    feed((face(3, 3, 20.0),), remembered=(3,))
    feed((), remembered=(3,))
    days = agg.to_dict()["days"]
    assert [(d["date"], d["visitors"]) for d in days] == [("2025-05-01", 2), ("2025-05-02", 1)]
    assert days[1]["dwell_histogram"] == [0, 0, 1, 0, 0, 0, 0]  # 20 s, counted on the new day
    # The same visitor back the day after is a visitor of that day too.
    clock.day = DAY1 + dt.timedelta(days=2)
    feed((face(4, 3, 25.0),), remembered=(3,))
    feed((), remembered=())
    assert [d["visitors"] for d in agg.to_dict()["days"]] == [2, 1, 1]
    # A clock set back does not reopen an old day.
    clock.day = DAY1
    feed((face(5, 5, 1.0),), remembered=(5,))
    feed((), remembered=())
    assert [d["visitors"] for d in agg.to_dict()["days"]] == [2, 1, 2]


def test_history_is_bounded() -> None:
    clock = Clock()
    agg = Aggregates(today=clock)
    feed = Feed(agg)
    for n in range(MAX_DAYS + 30):
        clock.day = DAY1 + dt.timedelta(days=n)
        feed((face(n, n, 1.0),), remembered=(n,))
        feed((), remembered=())
    days = agg.to_dict()["days"]
    assert len(days) == MAX_DAYS
    assert days[-1]["date"] == (DAY1 + dt.timedelta(days=MAX_DAYS + 29)).isoformat()


def test_output_holds_no_ids_times_or_per_visitor_rows() -> None:
    agg = Aggregates(today=Clock(), min_group=1)
    feed = Feed(agg)
    feed.t_s = 4242.75
    feed((face(123457, 987654, 33.3, age=41.0, gender="male", expr="angry", looking=True,
               watchlist=(WatchlistMatch("Jane Portrait", 0.51, True),)),), remembered=(987654,))
    feed((face(555, None, 12.0),))
    feed((), remembered=())
    data = agg.to_dict()
    assert report_safe(data) == data
    text = json.dumps(data)
    for needle in ("987654", "123457", "555", "4242", "33.3", "Jane", "Portrait", "0.51"):
        assert needle not in text
    assert not find_biometric_leaks(text)

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                assert "id" not in k.lower().split("_"), path + k
                assert not re.search(r"time|_s$|seen|when", k) or k == "dwell_bins_s", path + k
                walk(v, f"{path}{k}.")
        elif isinstance(value, list):
            assert all(not isinstance(v, dict) for v in value) or path == "days.", path
            for v in value:
                walk(v, path)
        elif isinstance(value, str) and re.match(r"^\d{4}-", value):
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", value), value  # dates only, no clock time
    walk(data, "")
    assert len(data["days"]) == 1  # one row per day, whatever the number of visitors


# --- files --------------------------------------------------------------------------------------


def _two_visitors(agg: Aggregates) -> None:
    feed = Feed(agg)
    for n in (1, 2):
        feed((face(n, n, 8.0, expr="happy"),), remembered=(n,))
        feed((), remembered=())


def test_write_json_gives_a_complete_file_that_reads_back(tmp_path: Path) -> None:
    agg = Aggregates(today=Clock())
    _two_visitors(agg)
    path = tmp_path / "aggregates.json"
    agg.write_json(path)
    assert json.loads(path.read_text()) == agg.to_dict()
    assert read_aggregates(path) == agg.to_dict()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["aggregates.json"]  # no temp file left


@pytest.mark.parametrize("crash_at", ["write", "fsync", "replace"])
def test_a_crash_mid_write_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               crash_at: str) -> None:
    path = tmp_path / "aggregates.json"
    old = Aggregates(today=Clock())
    _two_visitors(old)
    old.write_json(path)
    before = path.read_bytes()
    new = Aggregates(today=Clock())
    _two_visitors(new)
    _two_visitors(new)
    assert new.to_dict() != old.to_dict()

    def boom(*_args: Any, **_kwargs: Any) -> None:
        raise OSError(28, "No space left on device (simulated)")

    if crash_at == "write":
        import kiosk.counters.daily as module

        class HalfWritten:  # writes half the text to the temp file, then the disk is full
            def __init__(self, name: Any, *args: Any, **kwargs: Any) -> None:
                self.fh = open(name, *args, **kwargs)  # noqa: SIM115

            def __enter__(self) -> HalfWritten:
                return self

            def __exit__(self, *exc: object) -> None:
                self.fh.close()

            def write(self, text: str) -> int:
                self.fh.write(text[: len(text) // 2])
                self.fh.flush()
                boom()
                return 0

        monkeypatch.setattr(module, "open", HalfWritten, raising=False)
    else:
        monkeypatch.setattr(f"kiosk.counters.daily.os.{crash_at}", boom)
    with pytest.raises(OSError, match="simulated"):
        new.write_json(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    read_aggregates(path)  # still a valid file
    assert not temp_path(path).exists()


def test_persister_writes_every_interval_only_when_changed_and_at_close(tmp_path: Path) -> None:
    now = [0.0]
    path = tmp_path / "aggregates.json"
    agg = Aggregates(today=Clock())
    persister = Persister(agg, path, interval_s=60.0, clock=lambda: now[0])
    feed = Feed(persister)
    feed((face(1, 1, 8.0),), remembered=(1,))
    feed((), remembered=())
    assert not path.exists()  # not before the interval
    now[0] = 61.0
    feed((), remembered=())
    assert persister.writes == 1 and read_aggregates(path)["days"][0]["visitors"] == 1
    now[0] = 200.0
    feed((), remembered=())
    assert persister.writes == 1  # nothing changed: no write
    feed((face(2, 2, 8.0),), remembered=(2,))  # in view when the kiosk stops
    assert persister.close()
    assert persister.writes == 2 and read_aggregates(path)["days"][0]["visitors"] == 2
    assert agg.open_records() == 0


def test_persister_survives_a_failing_write(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "missing-folder" / "aggregates.json"
    now = [0.0]
    persister = Persister(Aggregates(today=Clock()), path, interval_s=1.0, clock=lambda: now[0])
    feed = Feed(persister)
    with caplog.at_level(logging.ERROR, logger="kiosk.counters.daily"):
        for step in range(5):
            now[0] = float(step * 2)
            feed((face(1, 1, 8.0),), remembered=(1,))
            feed((), remembered=())
    assert persister.writes == 0
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "cannot write the aggregates file" in errors[0].getMessage()
    assert not persister.close()


def test_resume_continues_today_and_keeps_history(tmp_path: Path) -> None:
    path = tmp_path / "aggregates.json"
    clock = Clock()
    first = Aggregates(today=clock)
    _two_visitors(first)
    first.write_json(path)
    again = Aggregates.resume(path, today=clock)  # restarted the same day
    _two_visitors(again)
    assert [d["visitors"] for d in again.to_dict()["days"]] == [4]
    clock.day = DAY1 + dt.timedelta(days=1)
    later = Aggregates.resume(path, today=clock)  # next day
    _two_visitors(later)
    assert [(d["date"], d["visitors"]) for d in later.to_dict()["days"]] == [
        ("2025-05-01", 2), ("2025-05-02", 2)]
    assert Aggregates.resume(tmp_path / "absent.json", today=clock).to_dict()["days"][0]["visitors"] == 0
    path.write_text("{ broken")
    with pytest.raises(AggregatesFileError, match=r"aggregates.json:1:\d+: not valid JSON"):
        Aggregates.resume(path, today=clock)


def test_allowed_paths_are_the_file_and_its_fixed_temp_name(tmp_path: Path) -> None:
    path = tmp_path / "aggregates.json"
    assert allowed_paths(path) == [path, tmp_path / "aggregates.json.tmp"]
    with pytest.raises(ValueError, match="folder"):
        allowed_paths(tmp_path)


GUARDED = textwrap.dedent('''
    import datetime as dt, json, sys
    from pathlib import Path
    from kiosk.counters.aggregates_file import allowed_paths
    from kiosk.counters.daily import Aggregates
    from kiosk.privacy.guard import install_guard
    folder = Path(sys.argv[1])
    target = folder / "aggregates.json"
    install_guard(allowed_paths(target), lock_memory=False)
    agg = Aggregates(today=lambda: dt.date(2025, 5, 1))
    result = {}
    for attempt in ("first", "second"):  # the second replaces an existing file
        try:
            agg.write_json(target)
            result[attempt] = "written"
        except PermissionError as exc:
            result[attempt] = f"refused: {exc}"
    try:
        agg.write_json(folder / "elsewhere.json")
        result["elsewhere"] = "written"
    except PermissionError:
        result["elsewhere"] = "refused"
    print(json.dumps(result))
''')


def test_the_privacy_guard_lets_exactly_the_aggregates_file_through(tmp_path: Path) -> None:
    script = tmp_path / "guarded.py"
    script.write_text(GUARDED)
    out = tmp_path / "out"
    out.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET",)}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    proc = subprocess.run([sys.executable, str(script), str(out)], cwd=REPO, env=env, check=False,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"first": "written", "second": "written", "elsewhere": "refused"}
    assert sorted(p.name for p in out.iterdir()) == ["aggregates.json"]
    read_aggregates(out / "aggregates.json")
