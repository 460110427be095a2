"""`kiosk eval watchlist`: NIST 1:N figures on a score matrix, and the command on the demo photos."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kiosk.eval.watchlist import metrics
from kiosk.cli.eval import main_eval
from modelkit import photo_path


def test_metrics_on_a_known_score_matrix() -> None:
    people = ["A", "B"]
    scores = np.array([
        [0.80, 0.10],  # mate A at rank 1, 0.80: hit at any threshold below it
        [0.30, 0.50],  # mate A, but B ranks first: a rank-1 miss whatever the threshold
        [0.20, 0.45],  # mate B at rank 1, 0.45
        [0.40, 0.10],  # stranger, best 0.40
        [0.10, 0.20],  # stranger, best 0.20
    ], np.float32)
    labels = ["A", "A", "B", "", ""]
    r = metrics(scores, people, labels, threshold=0.42, visitors_per_day=1000)
    assert r["rank1_hit_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert r["at_threshold"]["fnir"] == pytest.approx(1 / 3, abs=1e-4)  # the B-first search
    assert r["at_threshold"]["fpir"] == 0.0
    r = metrics(scores, people, labels, threshold=0.35, visitors_per_day=1000)
    assert r["at_threshold"]["fpir"] == 0.5 and r["at_threshold"]["expected_false_alarms_per_day"] == 500.0
    e = r["at_fpir_0.01"]
    assert e["fpir"] == 0.0 and e["threshold"] > 0.40 and not e["resolved"]  # 2 strangers cannot resolve 1 %
    assert e["fnir"] == pytest.approx(1 / 3, abs=1e-4)  # at 0.40+ the 0.45 and 0.80 mates still hit
    with pytest.raises(Exception, match="not in the gallery"):
        metrics(scores, people, ["A", "C", "B", "", ""], 0.4, 1)


def test_command_on_the_demo_photos(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gallery = tmp_path / "gallery"
    (gallery / "Barack_Obama").mkdir(parents=True)
    (gallery / "Barack_Obama" / "1.jpg").write_bytes(photo_path("obama.jpg").read_bytes())
    (gallery / "Joe_Biden.jpg").write_bytes(photo_path("biden.jpg").read_bytes())
    probes = tmp_path / "probes.csv"
    probes.write_text("path,person\n"
                      f"{photo_path('obama2.jpg')},Barack_Obama\n"
                      f"{photo_path('obama3.jpg')},Barack_Obama\n"
                      f"{photo_path('astronaut.png')},\n", encoding="utf-8")
    code = main_eval(["watchlist", "--gallery", str(gallery), "--probes", str(probes), "--threshold", "0.363",
                      "--threads", "1", "--no-progress", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["gallery_people"] == 2 and out["mated_searches"] == 2 and out["nonmated_searches"] == 1
    assert out["rank1_hit_rate"] == 1.0 and out["at_threshold"]["fnir"] == 0.0
    assert out["at_threshold"]["fpir"] == 0.0 and "fnir" in out["at_fpir_0.01"]
    code = main_eval(["watchlist", "--gallery", str(gallery), "--probes", str(probes), "--threads", "1",
                      "--no-progress"])
    text = capsys.readouterr().out
    assert code == 0 and "rank-1 hit rate: 100.0 %" in text and "false alarms a day" in text


def test_group_false_match_rate_with_bootstrap() -> None:
    from kiosk.eval.demographics import group_fmr

    rng = np.random.default_rng(1)
    emb = rng.normal(size=(60, 16)).astype(np.float32)
    emb[1] = emb[0] + 0.01  # one near-identical pair: a "false match" under the one-crop-one-person assumption
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    r = group_fmr(emb, {1e-3: 0.95}, resamples=50)
    assert r["images"] == 60 and r["pairs"] == 60 * 59 // 2
    e = r["1e-3"]
    assert e["false_matches"] == 1 and e["fmr"] == pytest.approx(1 / 1770, abs=1e-6)
    assert e["ci90"][0] <= e["fmr"] <= e["ci90"][1]
