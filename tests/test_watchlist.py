"""Watchlist search, false-match calibration and portrait loading.

The search and calibration tests run on synthetic embeddings; the folder tests embed the demo
photos with the real models (fetched by `make setup`; they fail with that hint when absent, see
modelkit.py).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from kiosk.errors import EXIT_USAGE
from kiosk.errors import WatchlistError
from kiosk.track.fmr_calibration import FmrCalibration, load_calibration, similarity_percent
from kiosk.track.watchlist import Watchlist, list_portraits, portrait_detector
from modelkit import photo_path, session

# A calibration shaped like the measured one (docs/ACCURACY.md), used where the exact values do not matter.
CAL = FmrCalibration.from_mapping({"1e-1": 0.2, "1e-2": 0.29, "1e-3": 0.36, "1e-4": 0.42, "1e-5": 0.47})


# --------------------------------------------------------------------------- calibration


def test_fmr_exact_at_calibrated_points() -> None:
    for threshold, rate in CAL.points:
        assert CAL.false_match_rate(threshold) == pytest.approx(rate, rel=1e-9)
        assert CAL.threshold_for(rate) == pytest.approx(threshold, abs=1e-9)


def test_fmr_interpolation_is_log_linear() -> None:
    # Halfway between 0.29 (1e-2) and 0.36 (1e-3) the rate is the geometric mean, 10^-2.5.
    assert CAL.false_match_rate(0.325) == pytest.approx(10**-2.5, rel=1e-9)
    assert CAL.threshold_for(10**-2.5) == pytest.approx(0.325, abs=1e-9)


def test_fmr_monotone_and_bounded_over_the_whole_cosine_range() -> None:
    grid = np.linspace(-1.0, 1.0, 2001)
    rates = np.array([CAL.false_match_rate(t) for t in grid])
    assert np.all(np.diff(rates) <= 0.0)
    assert rates.max() <= 1.0 and rates.min() > 0.0
    assert rates[0] == 1.0  # lenient extrapolation is capped
    # Extrapolated beyond the strictest point, and flagged as such.
    assert CAL.false_match_rate(0.6) < 1e-5
    assert not CAL.is_calibrated(0.6) and CAL.is_calibrated(0.3)


def test_threshold_for_round_trips() -> None:
    for rate in (0.3, 0.05, 3e-3, 2e-4, 1e-5, 1e-7):
        assert CAL.false_match_rate(CAL.threshold_for(rate)) == pytest.approx(rate, rel=1e-9)
    with pytest.raises(ValueError):
        CAL.threshold_for(0.0)


@pytest.mark.parametrize(
    "mapping",
    [
        {"1e-2": 0.3},  # a single point
        {"1e-2": 0.3, "1e-3": 0.2},  # stricter rate at a lower threshold
        {"1e-2": 0.3, "2": 0.4},  # rate above 1
        {"x": 0.3, "1e-3": 0.4},  # not a number
    ],
)
def test_invalid_calibration_rejected(mapping: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        FmrCalibration.from_mapping(mapping)


def test_load_calibration_from_a_manifest(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(
        "models: []\ncalibration:\n  sface:\n    fmr_thresholds: {\"1e-2\": 0.3, \"1e-3\": 0.37}\n"
        "    impostor_pairs: 1234\n    data: test pairs\n    command: kiosk eval calibrate\n",
        encoding="utf-8",
    )
    cal = load_calibration("sface", manifest)
    assert cal is not None
    assert cal.points == ((0.3, 1e-2), (0.37, 1e-3))
    assert cal.impostor_pairs == 1234 and cal.data == "test pairs"
    assert load_calibration("other", manifest) is None

    bad = tmp_path / "bad.yaml"
    bad.write_text("calibration:\n  sface:\n    fmr_thresholds: {\"1e-2\": 0.3, \"1e-3\": 0.1}\n", encoding="utf-8")
    with pytest.raises(WatchlistError, match="calibration.sface"):
        load_calibration("sface", bad)


def test_repository_manifest_has_a_usable_calibration() -> None:
    cal = load_calibration("sface")
    assert cal is not None, "models/manifest.yaml lacks calibration.sface (run `kiosk eval calibrate ... --write-manifest`)"
    rates = {r: t for t, r in cal.points}
    for rate in (1e-2, 1e-3, 1e-4):
        assert rate in rates
    # A lenient threshold for 1 in 100 lies below OpenCV's 0.363, a strict one for 1 in 10,000 above it.
    assert rates[1e-2] < 0.363 < rates[1e-4]
    assert cal.impostor_pairs >= 100_000  # enough pairs for 1e-4 to rest on more than a handful
    assert cal.command.startswith("kiosk eval calibrate")


# --------------------------------------------------------------------------- search


def _unit_rows(n: int, dim: int = 128, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_search_orders_by_cosine_and_applies_threshold() -> None:
    gallery = _unit_rows(5)
    probe = gallery[2] * 0.8 + gallery[4] * 0.2  # closest to #2, then #4
    wl = Watchlist([f"p{i}" for i in range(5)], gallery.copy(), calibration=CAL)
    expected = sorted(((float(g @ probe / np.linalg.norm(probe)), f"p{i}") for i, g in enumerate(gallery)), reverse=True)

    matches = wl.search(probe * 7.0, threshold=0.5, k=3)  # scale does not matter: cosine
    assert [m.name for m in matches] == [name for _, name in expected[:3]]
    assert matches[0].name == "p2"
    assert [m.score for m in matches] == pytest.approx([s for s, _ in expected[:3]], abs=1e-5)
    assert all(m.passes == (m.score >= 0.5) for m in matches)
    assert matches[0].passes and not matches[-1].passes

    assert len(wl.search(probe, threshold=0.5, k=50)) == 5  # k larger than the gallery
    assert wl.search(probe, threshold=-1.0, k=5)[-1].passes  # everything passes at -1
    with pytest.raises(ValueError):
        wl.search(probe, threshold=0.5, k=0)
    with pytest.raises(ValueError):
        wl.search(probe[:64], threshold=0.5, k=1)


def test_threshold_boundary_passes_inclusively() -> None:
    gallery = _unit_rows(2)
    wl = Watchlist(["a", "b"], gallery.copy())
    # The score the search itself computes (a matrix-vector product may round differently from a
    # dot product in the last bit): at exactly that threshold the portrait passes.
    score = wl.search(gallery[0], threshold=2.0, k=1)[0].score
    assert wl.search(gallery[0], threshold=score, k=1)[0].passes


def test_close_zeroes_the_owned_matrix() -> None:
    gallery = _unit_rows(4)
    wl = Watchlist(["a", "b", "c", "d"], gallery)  # float32 C-contiguous: taken over, not copied
    assert np.any(gallery != 0)
    wl.close()
    assert wl.closed
    assert not np.any(gallery)
    with pytest.raises(RuntimeError):
        wl.search(_unit_rows(1)[0], threshold=0.3, k=1)


def test_expected_false_matches_is_rate_times_gallery() -> None:
    wl = Watchlist([f"p{i}" for i in range(134)], _unit_rows(134), calibration=CAL)
    t = CAL.threshold_for(1e-3)
    assert wl.false_match_rate(t) == pytest.approx(1e-3)
    assert wl.expected_false_matches(t) == pytest.approx(0.134)
    assert wl.expected_false_matches(t, gallery_size=25_000) == pytest.approx(25.0)
    # The ACLU's setting: 535 people searched against 25,000 photos.
    assert wl.expected_false_matches(t, gallery_size=25_000, probes=535) == pytest.approx(13_375.0)
    # Stricter thresholds expect fewer false matches.
    assert wl.expected_false_matches(0.45, 25_000) < wl.expected_false_matches(0.3, 25_000)
    uncalibrated = Watchlist(["a"], _unit_rows(1))
    with pytest.raises(RuntimeError):
        uncalibrated.false_match_rate(0.3)


def test_similarity_percent_is_a_clipped_cosine() -> None:
    assert similarity_percent(0.8) == pytest.approx(80.0)
    assert similarity_percent(-0.2) == 0.0
    assert similarity_percent(1.5) == 100.0


# --------------------------------------------------------------------------- portrait folders


@pytest.fixture(scope="module")
def embedder() -> Any:
    from kiosk.infer.embed import SFaceEmbedder

    return SFaceEmbedder(session("sface"))


@pytest.fixture(scope="module")
def detector() -> Any:
    return portrait_detector(session("yunet"))


@pytest.fixture()
def portraits(tmp_path: Path) -> Path:
    folder = tmp_path / "portraits"
    (folder / "images").mkdir(parents=True)
    for src, dst in (("obama.jpg", "images/Barack_Obama.jpg"), ("biden.jpg", "images/biden.jpg"),
                     ("astronaut.png", "Eileen_Collins.png")):
        (folder / dst).write_bytes(photo_path(src).read_bytes())
    cv2.imwrite(str(folder / "images" / "blank.png"), np.full((200, 160, 3), 128, np.uint8))
    (folder / "notes.txt").write_text("not an image", encoding="utf-8")
    (folder / "metadata.csv").write_text("path,name,agency\nimages/biden.jpg,Joe Biden,US\n", encoding="utf-8")
    return folder


def test_from_folder_embeds_largest_faces_and_counts_skips(portraits: Path, detector: Any, embedder: Any) -> None:
    wl = Watchlist.from_folder(portraits, detector, embedder, calibration=CAL)
    # Names: metadata.csv where listed, else the file stem with spaces.
    assert sorted(wl.names) == ["Barack Obama", "Eileen Collins", "Joe Biden"]
    assert wl.skipped == ("images/blank.png",)
    assert wl.size == 3 and wl.dim == 128

    from kiosk.detect.align import align_face

    probe_image = cv2.imread(str(photo_path("obama2.jpg")))
    face = detector.detect(probe_image)[0]
    probe = embedder.embed([align_face(probe_image, face.landmarks_px)])[0]
    matches = wl.search(probe, threshold=0.363, k=3)
    assert matches[0].name == "Barack Obama" and matches[0].passes
    assert [m.passes for m in matches[1:]] == [False, False]
    wl.close()


def test_folder_errors(tmp_path: Path, portraits: Path, detector: Any, embedder: Any) -> None:
    with pytest.raises(WatchlistError, match="not found") as info:
        list_portraits(tmp_path / "nope")
    assert info.value.exit_code == EXIT_USAGE

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(WatchlistError, match="no images"):
        list_portraits(empty)

    (portraits / "metadata.csv").write_text("file,person\nx.jpg,X\n", encoding="utf-8")
    with pytest.raises(WatchlistError, match="missing column"):
        list_portraits(portraits)

    faceless = tmp_path / "faceless"
    faceless.mkdir()
    cv2.imwrite(str(faceless / "grey.png"), np.full((120, 120, 3), 90, np.uint8))
    (faceless / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(WatchlistError, match="no face found in any of its 2"):
        Watchlist.from_folder(faceless, detector, embedder)


def test_rates_are_consistent_with_the_cosines_shown() -> None:
    """The UI shows scores as cosines; a score that passes has a rate no higher than its threshold's."""
    for t in (0.2, 0.3, 0.363, 0.45):
        assert CAL.false_match_rate(t + 0.05) < CAL.false_match_rate(t)
        assert math.isfinite(CAL.false_match_rate(t))
