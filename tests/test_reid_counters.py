"""A merge ("visitor 9 is visitor 7 after all") corrects the counters and the card tells it."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from test_aggregates import Clock, committed_visitors, face, today, visitor

from kiosk.counters.daily import Aggregates
from kiosk.analysis.analyzer import FaceAnalyzer
from kiosk.config import config_from_mapping
from kiosk.types import Attributes, Detection, Frame, Snapshot
from kiosk.ui.dossier import card_content
from kiosk.ui.i18n import load_strings


def snap(i: int, faces: tuple, remembered: tuple[int, ...], merges: tuple = ()) -> Snapshot:
    in_view = {f.visitor_id for f in faces}
    return Snapshot(frame_index=i, t_s=100.0 + i * 0.1, frame_size=(640, 480), faces=faces,
                    visitors=tuple(visitor(v, v in in_view) for v in remembered), merges=merges)


def test_aggregates_count_a_merged_visitor_once() -> None:
    agg = Aggregates(today=Clock(), min_group=1)
    agg.observe(snap(0, (face(1, 7, 5.0),), (7,)))
    agg.observe(snap(1, (), (7,)))  # visitor 7 left: counted
    assert committed_visitors(agg) == 1
    agg.observe(snap(2, (face(2, 9, 1.0),), (7, 9)))  # back, first taken for a new visitor 9
    agg.observe(snap(3, (face(2, 9, 1.1),), (7, 9)))
    agg.observe(snap(4, (face(2, 7, 6.2),), (7,), merges=((9, 7),)))  # 9 is 7 after all
    agg.observe(snap(5, (), (7,), merges=((9, 7),)))
    assert committed_visitors(agg) == 1 and today(agg)["visitors"] == 1


def test_card_says_maybe_while_undecided_and_welcomes_back_after_a_merge() -> None:
    en, de, es = (load_strings(lang) for lang in ("en", "de", "es"))
    undecided = replace(face(3, None, 1.0), attributes=Attributes(), maybe_visitor_id=3)
    c = card_content(undecided, 100.0, en)
    assert c.title == "Identifying…" and "Seen before: maybe, as visitor 0003?" in [x.text for x in c.lines]
    assert any("0003?" in x.text for x in card_content(undecided, 100.0, de).lines)
    assert any("0003?" in x.text for x in card_content(undecided, 100.0, es).lines)
    # Merged 20 s into the track: "Welcome back" is shown from the merge, not from the track's start.
    merged = replace(face(3, 7, 20.0), is_return=True, visit_number=2, identified_age_s=1.0,
                     last_visit_end_s=40.0)
    texts = [x.text for x in card_content(merged, 100.0, en, welcome_s=6.0).lines]
    assert texts[0] == "Welcome back!" and not any("maybe" in t for t in texts)
    later = replace(merged, identified_age_s=8.0)
    assert card_content(later, 100.0, en, welcome_s=6.0).lines[0].text != "Welcome back!"


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(128).astype(np.float32)
    return v / np.linalg.norm(v)


def test_analyzer_merges_a_missed_return_and_the_screen_and_counts_follow() -> None:
    """Alice leaves; she comes back turned away (her first embeddings resemble nobody) and turns
    to the camera: the new visitor is merged into her, the face shows her id with "Welcome
    back", and only one visitor is counted when everything is forgotten."""
    alice, away = unit(1), unit(2)
    rng = np.random.default_rng(0)
    state = {"t": 0.0}
    image = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)

    def detect(_image: np.ndarray) -> list[Detection]:
        t = state["t"]
        if t < 3.0 or 10.0 <= t < 20.0:
            x = 200.0
            lm = np.array([[x + 30, 140], [x + 70, 140], [x + 50, 160], [x + 35, 180], [x + 65, 180]], np.float32)
            return [Detection((x, 100.0, x + 100.0, 200.0), lm, 0.95)]
        return []

    def embed(_image: np.ndarray, landmarks: list[np.ndarray]) -> np.ndarray:
        t = state["t"]
        # Turned away for her first embeddings (a clear stranger), then turning to the camera.
        w = 1.0 if t < 3.0 else min(1.0, 0.1 + 0.15 * max(0.0, t - 10.5) / 0.4)
        v = w * alice + (1 - w) * away + 0.03 * rng.standard_normal(128).astype(np.float32)
        return (v / np.linalg.norm(v))[None, :].astype(np.float32)

    cfg = config_from_mapping({"recognition": {"votes": 3, "sample_interval_s": 0.2, "visit_gap_s": 3.0},
                               "tracking": {"max_missing_s": 1.0}, "privacy": {"forget_after_s": 60.0}})
    analyzer = FaceAnalyzer(cfg, detect, embed)
    snaps = []
    for i in range(200):
        state["t"] = i / 10
        snaps.append(analyzer.process(Frame(image, i, state["t"])))
    ids = [s.faces[0].visitor_id for s in snaps[100:200] if s.faces and s.faces[0].visitor_id is not None]
    assert ids[0] == 2 and ids[-1] == 1, ids  # new at first, then found to be visitor 1
    end = snaps[199].faces[0]
    assert end.is_return and end.visit_number == 2 and analyzer.gallery.merges == 1
    assert any(s.merges == ((2, 1),) for s in snaps)
    analyzer.close()
    assert len({v.visitor_id for v in analyzer.forgotten}) == 1
