"""One daily counter: the attract screen's figures equal what ``kiosk stats`` reports for the same run.

The run is played as ``kiosk run`` wires it: the pipeline feeds the counter (through the
``Persister``, as the inference thread does), the screen is given the same counter and shows the
attract screen once everybody has left; then the file is written and ``kiosk stats`` reads it.
"""
from __future__ import annotations

from uikit import OK, H, W, screen  # noqa: F401  (first: sets SDL's dummy drivers)

import datetime as dt  # noqa: E402
import re  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from kiosk.bench import fake_snapshots as syn  # noqa: E402
from kiosk.cli.stats import main_stats  # noqa: E402
from kiosk.counters.daily import Aggregates  # noqa: E402
from kiosk.counters.persister import Persister  # noqa: E402
from kiosk.types import Frame, Snapshot  # noqa: E402
from kiosk.ui.app import KioskApp  # noqa: E402
from kiosk.ui.i18n import load_strings  # noqa: E402
from kiosk.config import PrivacyConfig, UiConfig  # noqa: E402
from kiosk.ui.deps import UiDeps  # noqa: E402

DAY = dt.date(2026, 5, 1)
FRAME = Frame(np.full((480, 640, 3), 90, np.uint8), 1, 0.0)


def run_snapshots() -> list[Snapshot]:
    """Three visitors for the counters, and two faces that must not count.

    - visitor 1 (looks at the screen, 30 s) and visitor 4 (looks away, 70 s; leaves and comes back);
    - visitor 5, found to be visitor 4 after all (a merge): one person, one visitor;
    - track 3, consented but never identified, 4 s in view, looks: counted (tracks of 2 s or more);
    - track 2, an anonymous box that never consented: not counted at all;
    - track 6, consented, 1 s without an id: detector flicker, not counted.
    """
    p = syn.PERSONAS
    v1 = syn.face_view(1, (40.0, 100.0, 140.0, 220.0), 1, p["astronaut"], time_in_view_s=30.0)
    t2 = syn.anonymous(syn.face_view(2, (200.0, 100.0, 300.0, 220.0), 2, p["biden"], time_in_view_s=50.0))
    t3 = syn.face_view(3, (340.0, 100.0, 440.0, 220.0), None, p["visitor"], time_in_view_s=4.0)
    v4 = syn.face_view(4, (480.0, 100.0, 580.0, 220.0), 4, p["obama"], time_in_view_s=70.0)
    v5 = syn.face_view(5, (480.0, 100.0, 580.0, 220.0), 5, p["obama"], time_in_view_s=3.0)
    t6 = syn.face_view(6, (40.0, 260.0, 100.0, 330.0), None, p["visitor"], time_in_view_s=1.0)
    gone = (syn.gone_visitor(1, 110.0), syn.gone_visitor(4, 110.0))
    snaps = [
        syn.snapshot(1, 100.0, (v1, t2, t3, v4)),
        syn.snapshot(2, 101.0, (v1, t2, t6), gone=gone[1:]),
        syn.snapshot(3, 102.0, (v5,), gone=gone),
        replace(syn.snapshot(4, 103.0, (v4,), gone=gone[:1]), merges=((5, 4),)),
        syn.snapshot(5, 110.0, (), gone=gone),
    ]
    return snaps


def stats_today(out: str) -> tuple[int, str, str]:
    """(visitors, looked share, typical stay) from today's row of ``kiosk stats``."""
    row = next(line for line in out.splitlines() if line.startswith(DAY.isoformat()))
    m = re.match(r"\S+\s+(\d+)\s+(\d+)\s+(\d+%|not measured)(?: \(\d+ of \d+\))?\s+(.+?)\s*$", row)
    assert m, row
    return int(m[1]), m[3], m[4]


def in_label(seconds: float, label: str) -> bool:
    """``seconds`` lies in a ``kiosk stats`` dwell label ("15-30 s", "1-2 min", "5 min or more")."""
    unit = 60 if "min" in label else 1
    first = label.split()[0]
    if label.endswith("or more"):
        return seconds >= float(first) * unit
    low, high = first.split("-")
    return float(low) * unit <= seconds < float(high) * unit


def test_attract_screen_figures_equal_kiosk_stats_for_the_same_run(screen, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    path = tmp_path / "aggregates.json"
    counter = Aggregates(today=lambda: DAY)
    persister = Persister(counter, path)
    app = KioskApp((W, H), UiConfig(fullscreen=False, width=W, height=H, attract_after_s=5.0,
                                    lesson_after_s=3600.0, arc=False),
                   UiDeps(), privacy=PrivacyConfig(consent="required"), today=lambda: DAY, counter=counter)
    now = 0.0
    for snap in run_snapshots():
        persister.observe(snap)  # the inference thread
        app.update(now, FRAME, OK, snap)  # the main thread reads the same counter
        app.render(screen, now)
        now += 1.0
    now += 6.0
    app.update(now, FRAME, OK, run_snapshots()[-1])
    rec = app.render(screen, now, settle=True)
    assert rec.screen == "attract"

    assert persister.flush()
    assert main_stats(path) == 0
    visitors, looked, stay = stats_today(capsys.readouterr().out)

    fig = counter.today()
    s = load_strings("en")
    # What the screen drew is the counter's figures ...
    for text in (s.number(fig.visitors), s.percent(fig.looked_share), s.clock(fig.median_dwell_s)):
        assert any(t.text == text for t in rec.texts), (text, rec.joined())
    # ... and they are what kiosk stats reports for the same day.
    assert (visitors, fig.visitors) == (3, 3)  # visitors 1 and 4 (= 5), track 3; not 2 or 6
    assert looked == s.percent(fig.looked_share) == "67%"  # visitor 1 and track 3 looked, visitor 4 not
    assert in_label(fig.median_dwell_s, stay), (fig.median_dwell_s, stay)
    assert stay == "30-60 s"  # 4, 30, 70 s: the median visitor stayed 30 s


@pytest.mark.parametrize("seconds, label, inside", [(32.5, "30-60 s", True), (62.0, "30-60 s", False),
                                                    (90.0, "1-2 min", True), (400.0, "5 min or more", True),
                                                    (2.5, "0-5 s", True), (5.0, "0-5 s", False)])
def test_in_label_reads_the_stats_labels(seconds: float, label: str, inside: bool) -> None:
    assert in_label(seconds, label) is inside


def test_a_day_resumed_from_the_file_keeps_the_median_in_the_files_bin(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    """After a restart the counter knows only the file's bins: the screen's median stays in the
    bin ``kiosk stats`` names, and the visitor count continues."""
    path = tmp_path / "aggregates.json"
    first = Persister(Aggregates(today=lambda: DAY), path)
    for snap in run_snapshots():
        first.observe(snap)
    assert first.close()
    resumed = Aggregates.resume(path, today=lambda: DAY)
    assert main_stats(path) == 0
    visitors, looked, stay = stats_today(capsys.readouterr().out)
    fig = resumed.today()
    assert fig.visitors == visitors == 3 and load_strings("en").percent(fig.looked_share) == looked
    assert in_label(fig.median_dwell_s, stay), (fig.median_dwell_s, stay)
