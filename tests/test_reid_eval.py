"""``kiosk eval reid`` scoring: pure functions over recorded tracks (no model, no video)."""
from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.eval.reid import ReidEvalError, TrackRecord, TruthVisit, load_truth, score_refs, score_truth

BOX = (100.0, 100.0, 200.0, 200.0)
OTHER_BOX = (400.0, 100.0, 500.0, 200.0)


def track(track_id: int, start_s: float, ids: list[int | None], returns: list[bool] | None = None,
          box: tuple[float, float, float, float] = BOX, dt: float = 0.1) -> TrackRecord:
    tr = TrackRecord(track_id)
    for k, vid in enumerate(ids):
        tr.t_s.append(start_s + k * dt)
        tr.frame_index.append(int(round((start_s + k * dt) * 10)))
        tr.boxes.append(box)
        tr.visitor_ids.append(vid)
        tr.is_return.append(bool(returns[k]) if returns else False)
    return tr


VISITS = [
    TruthVisit("ann", 0, 0.0, 3.0, BOX),
    TruthVisit("bob", 0, 5.0, 8.0, BOX),
    TruthVisit("ann", 1, 20.0, 23.0, BOX),
    TruthVisit("cid", 0, 30.0, 33.0, BOX),
]


def test_all_right() -> None:
    tracks = [track(1, 0.2, [None, None, 1, 1]), track(2, 5.2, [None, 2, 2]),
              track(3, 20.2, [None, 1, 1], [False, True, True]), track(4, 30.2, [None, 3])]
    r = score_truth(tracks, VISITS, 0.3)
    assert (r["returns"], r["returns_recognised"], r["first_visits"], r["false_welcome_backs"]) == (1, 1, 3, 0)
    assert r["ids_per_person"] == 1.0 and r["persons_per_id"] == 1.0
    assert r["welcome_back_latency_s"]["p50"] == pytest.approx(0.1)
    assert r["tracks_unassigned"] == 0 and r["visits_without_track"] == 0


def test_split_merge_and_false_welcome_back() -> None:
    tracks = [track(1, 0.2, [1, 1]), track(2, 5.2, [2, 2]),
              track(3, 20.2, [4, 4]),  # ann back, not recognised: a second id
              track(4, 30.2, [2, 2], [True, True])]  # cid greeted as bob
    r = score_truth(tracks, VISITS, 0.3)
    assert r["returns_recognised"] == 0 and r["false_welcome_backs"] == 1
    assert r["split_persons"] == ["ann"] and r["merged_ids"] == [2]
    assert r["ids_per_person"] == pytest.approx(4 / 3, abs=1e-4) and r["persons_per_id"] == pytest.approx(4 / 3, abs=1e-4)
    assert r["welcome_back_latency_s"]["p50"] is None


def test_merged_later_counts_the_final_id_but_shows_both() -> None:
    """A return first shown as a new id, then merged into the earlier one: recognised, and the
    visitor saw two ids (ids_shown_per_person) while the counters end with one."""
    tracks = [track(1, 0.2, [1, 1]), track(2, 5.2, [2, 2]),
              track(3, 20.2, [None, 5, 5, 1, 1], [False, False, False, True, True]), track(4, 30.2, [6])]
    r = score_truth(tracks, VISITS, 0.3)
    assert r["returns_recognised"] == 1 and r["ids_per_person"] == 1.0
    assert r["ids_shown_per_person"] == pytest.approx(4 / 3, abs=1e-4)
    assert r["welcome_back_latency_s"]["p50"] == pytest.approx(0.3)


def test_tracks_are_assigned_by_time_and_overlap() -> None:
    stray = track(9, 0.2, [7, 7], box=OTHER_BOX)
    r = score_truth([track(1, 0.2, [1]), stray], VISITS, 0.3)
    assert r["tracks_unassigned"] == 1 and r["visits_without_track"] == 3


def test_refs_mode_counts_ids_per_labelled_frame() -> None:
    a = track(1, 0.0, [None, 1, 1, 1])
    b = track(2, 1.0, [2, 2, 2])
    labels = {(1, fi): "lin" for fi in a.frame_index}
    labels.update({(2, b.frame_index[0]): "lin", (2, b.frame_index[1]): "alex", (2, b.frame_index[2]): None})
    r = score_refs([a, b], labels)
    assert r["ids_by_person"] == {"alex": [2], "lin": [1, 2]}
    assert r["ids_per_person"] == 1.5 and r["frames_unlabelled"] == 1


def test_truth_file_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "truth.csv"
    bad.write_text("person,visit,start_s\nann,0,1\n", encoding="utf-8")
    with pytest.raises(ReidEvalError, match="missing column"):
        load_truth(bad)
    bad.write_text("person,visit,start_s,end_s,x,y,w,h\nann,0,one,2,0,0,1,1\n", encoding="utf-8")
    with pytest.raises(ReidEvalError, match=":2:"):
        load_truth(bad)
    good = tmp_path / "ok.csv"
    good.write_text("person,visit,start_s,end_s,x,y,w,h\nann,1,9,10,0,0,1,1\nann,0,1,2,0,0,1,1\n", encoding="utf-8")
    assert [v.visit for v in load_truth(good)] == [0, 1] and load_truth(good)[0].start_s == 1.0
