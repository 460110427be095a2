"""``kiosk stats``: the summary, the charts, and clear exit-2 messages for bad files."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from kiosk.counters.daily import Aggregates
from kiosk.errors import EXIT_OK, EXIT_USAGE
from kiosk.cli.stats import _bin_labels, main_stats
from kiosk.types import (EXPRESSIONS, AgeEstimate, Attributes, ExpressionEstimate, FaceView, Gaze,
                         GenderEstimate, Snapshot, VisitorView, WatchlistMatch)

DAY1 = dt.date(2025, 5, 1)


def _face(n: int, dwell_s: float, top: str, looking: bool, match: bool) -> FaceView:
    attrs = Attributes(
        age=AgeEstimate(10.0 + 7 * (n % 9), 0.0, 0.0, 0.2),
        gender=GenderEstimate("female" if n % 3 else "male", 0.7),
        expression=ExpressionEstimate(tuple(0.9 if e == top else 0.01 for e in EXPRESSIONS)),
        gaze=Gaze(0.0, 0.0, looking, 0.0))
    return FaceView(track_id=n, box_xyxy=(0.0, 0.0, 50.0, 50.0), landmarks_px=(), score=0.9, visitor_id=n,
                    visit_number=1, is_return=False, track_age_s=dwell_s, time_in_view_s=dwell_s,
                    last_visit_end_s=None, attributes=attrs,
                    watchlist=(WatchlistMatch("portrait", 0.4 if match else 0.2, match),))


def make_file(path: Path, visitors_per_day: list[int]) -> dict[str, Any]:
    """Counts made by Aggregates from scripted visits, one day after another; written to ``path``."""
    day = [DAY1]
    agg = Aggregates(today=lambda: day[0], watchlist_threshold=0.363)
    n = 0
    for d, count in enumerate(visitors_per_day):
        day[0] = DAY1 + dt.timedelta(days=d)
        for _ in range(count):
            n += 1
            f = _face(n, dwell_s=3.0 * (n % 50), top=EXPRESSIONS[n % 7], looking=n % 4 != 0, match=n % 10 == 0)
            agg.observe(Snapshot(frame_index=2 * n, t_s=float(n), frame_size=(640, 480), faces=(f,),
                                 visitors=(VisitorView(n, 0.0, 0.0, 1, 0.0, True, 300.0),)))
            agg.observe(Snapshot(frame_index=2 * n + 1, t_s=n + 0.5, frame_size=(640, 480)))
    agg.write_json(path)
    return agg.to_dict()


def test_summary_reports_days_totals_guesses_and_withheld_days(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "aggregates.json"
    data = make_file(path, [12, 3, 20])
    assert main_stats(path, None) == EXIT_OK
    out = capsys.readouterr().out
    days = data["days"]
    assert "Period: 2025-05-01 to 2025-05-03 (3 days" in out
    for d in days:
        assert f"{d['date']}{d['visitors']:>11}" in out  # the date, then the visitors column
    total = sum(d["visitors"] for d in days)
    looked = sum(d["looked"] for d in days)
    measured = sum(d["gaze_measured"] for d in days)
    assert total == 35
    assert f"all days{total:>13}" in out
    assert f"{round(100 * looked / measured)}% ({looked} of {measured})" in out
    # Guess totals leave out the withheld day (3 visitors < 5).
    assert days[1]["gender"] is None
    female = days[0]["gender"]["female"] + days[2]["gender"]["female"]
    assert f"female: {female}" in out
    assert "disgusted:" in out and "surprised:" in out  # the screen's words, not the class names
    searched = days[0]["watchlist"]["searched"] + days[2]["watchlist"]["searched"]
    matched = days[0]["watchlist"]["matched"] + days[2]["watchlist"]["matched"]
    assert f"{searched} visitors searched; {matched} declared a \"match\" at threshold 0.363" in out
    assert "Withheld (fewer than 5 visitors" in out
    assert "no person can be identified from this file" in out


def test_plot_writes_a_decodable_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "aggregates.json"
    make_file(path, [12, 3, 20, 30, 8])
    png = tmp_path / "charts.png"
    assert main_stats(path, png) == EXIT_OK
    assert f"Charts written to {png}" in capsys.readouterr().out
    assert png.stat().st_size > 50_000
    image = cv2.imread(str(png), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == (900, 1600, 3)
    # Bars are drawn: the two chart colours cover a real share of the picture.
    blue = np.all(np.abs(image.astype(int) - (0xa8, 0x5f, 0x1f)) < 8, axis=2).mean()  # BGR of #1f5fa8
    purple = np.all(np.abs(image.astype(int) - (0x9e, 0x4f, 0x6c)) < 8, axis=2).mean()  # #6c4f9e
    assert blue > 0.02 and purple > 0.02


def test_plot_of_a_file_without_visitors(tmp_path: Path) -> None:
    path = tmp_path / "aggregates.json"
    make_file(path, [0])
    png = tmp_path / "charts.png"
    assert main_stats(path, png) == EXIT_OK
    assert cv2.imread(str(png)) is not None


def test_dwell_bin_labels() -> None:
    assert _bin_labels([0, 5, 15, 30, 60, 120, 300]) == [
        "0-5 s", "5-15 s", "15-30 s", "30-60 s", "1-2 min", "2-5 min", "5 min or more"]


def _good(tmp_path: Path) -> tuple[Path, list[str]]:
    path = tmp_path / "aggregates.json"
    make_file(path, [6, 7, 8])
    return path, path.read_text().splitlines()


def _line_of(lines: list[str], needle: str) -> int:
    return next(i for i, line in enumerate(lines, start=1) if needle in line)


def _run_bad(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main_stats(path, None) == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _run_bad(tmp_path / "nope.json", capsys)
    assert err == f"kiosk stats: {tmp_path / 'nope.json'}: file not found\n"


def test_empty_and_non_json_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "aggregates.json"
    path.write_text("")
    assert "the file is empty" in _run_bad(path, capsys)
    path.write_text('{\n "format": "surveillance-mirror-aggregates",\n "version": 1\n "note": ""\n}\n')
    assert f"{path}:4:2: not valid JSON: Expecting ',' delimiter" in _run_bad(path, capsys)
    path.write_bytes(b"\xff\xfe\x00garbage")
    assert "not a text file" in _run_bad(path, capsys)
    path.write_text("[1, 2]")
    assert f"{path}:1: expected a JSON object" in _run_bad(path, capsys)


def test_truncated_file_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, lines = _good(tmp_path)
    path.write_text("\n".join(lines[:8]) + "\n")  # cut after the first day, as a crash of a
    err = _run_bad(path, capsys)  # non-atomic writer would leave it
    assert f"{path}:9:1: not valid JSON" in err


@pytest.mark.parametrize(("edit", "key", "message"), [
    (lambda d: d["days"][1].__setitem__("visitors", "seven"), "days[1].visitors", "expected a whole number, got \"seven\""),
    (lambda d: d["days"][1].__setitem__("visitors", -7), "days[1].visitors", "must be at least 0, got -7"),
    (lambda d: d["days"][2].__setitem__("vistors", 1), "days[2].vistors", "unknown key"),
    (lambda d: d["days"][0].pop("looked"), "days[0].looked", "required key is missing"),
    (lambda d: d["days"][1].__setitem__("date", "05/02/2025"), "days[1].date", "expected a date written YYYY-MM-DD"),
    (lambda d: d["days"][1].__setitem__("date", "2025-02-30"), "days[1].date", "not a calendar date"),
    (lambda d: d["days"][2].__setitem__("date", "2025-05-01"), "days[2].date", "does not come after 2025-05-02"),
    (lambda d: d["days"][1]["dwell_histogram"].append(0), "days[1].dwell_histogram", "has 8 counts, dwell_bins_s has 7"),
    (lambda d: d["days"][1]["dwell_histogram"].__setitem__(0, 99), "days[1].dwell_histogram", "counts sum to"),
    (lambda d: d["days"][1].__setitem__("looked", 50), "days[1].looked", "is more than gaze_measured"),
    (lambda d: d["days"][2]["gender"].__setitem__("female", 40), "days[2].gender", "more than the 8 analysed visitors"),
    (lambda d: d["days"][2]["watchlist"].__setitem__("matched", 9), "days[2].watchlist.matched", "is more than searched"),
    (lambda d: d["days"][2]["watchlist"].__setitem__("threshold", 3), "days[2].watchlist.threshold", "must be at most 1.0"),
    (lambda d: d.__setitem__("version", 2), "version", "must be 1, got 2"),
    (lambda d: d.__setitem__("format", "report"), "format", "must be 'surveillance-mirror-aggregates'"),
])
def test_invalid_content_names_line_and_key(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            edit: Any, key: str, message: str) -> None:
    path, _lines = _good(tmp_path)
    data = json.loads(path.read_text())
    edit(data)
    # Rewritten the way the kiosk writes it (one line per day), so the expected line is known.
    from kiosk.counters.aggregates_file import format_file
    text = format_file(data)
    path.write_text(text)
    lines = text.splitlines()
    if key.startswith("days["):
        index = int(key[5])
        expected_line = _line_of(lines, '"date"') + index
    else:
        expected_line = _line_of(lines, f'"{key}"')
    err = _run_bad(path, capsys)
    assert f"kiosk stats: {path}:{expected_line}: {key}: " in err, err
    assert message in err, err


def test_duplicate_keys_and_nan_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, lines = _good(tmp_path)
    path.write_text("\n".join(lines).replace('"visitors": 6,', '"visitors": 6, "visitors": 60,', 1))
    assert "the key 'visitors' appears twice" in _run_bad(path, capsys)
    path.write_text("\n".join(lines).replace('"threshold": 0.363', '"threshold": NaN', 1))
    assert "NaN is not a number JSON allows" in _run_bad(path, capsys)


def test_plot_into_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = _good(tmp_path)
    assert main_stats(path, tmp_path / "no" / "charts.png") == EXIT_USAGE
    err = capsys.readouterr().err
    assert "cannot write the chart" in err and "does not exist" in err
