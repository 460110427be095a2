"""`kiosk eval` commands and their metrics.

The metric tests run on synthetic scores and boxes. The command tests build tiny datasets in
``tmp_path`` from the demo photos (an LFW-style folder, a WIDER-format ground truth, a UTKFace-
style labels.csv) and run them through the real models; they never touch external data.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from kiosk.errors import EXIT_OK, EXIT_USAGE
from kiosk.eval.common import EvalModels
from kiosk.eval.widerface import WiderImage, bbox_overlaps, image_eval, parse_wider_gt, recall_by_width, voc_ap, widerface_ap
from kiosk.eval.verification import accuracy_at, best_threshold, cross_validated_accuracy, tar_at_far
from kiosk.age_bands import age_band
from kiosk.eval.utkface import evaluate_utkface
from kiosk.cli.eval import main_eval
from kiosk.types import AgeEstimate, GenderEstimate
from modelkit import photo, photo_path, require_model, session

# --------------------------------------------------------------------------- verification metrics


def test_best_threshold_separates_and_cross_validates() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.2, 0.1, 0.0])
    same = np.array([1, 1, 1, 0, 0, 0], bool)
    t, acc = best_threshold(scores, same)
    assert acc == 1.0 and 0.2 < t < 0.7
    assert accuracy_at(scores, same, t) == 1.0

    # Fold 2 has an impostor scoring 0.75: a threshold chosen on fold 1 cannot reject it.
    scores = np.array([0.9, 0.1, 0.8, 0.75])
    same = np.array([1, 0, 1, 0], bool)
    folds = np.array([1, 1, 2, 2])
    cv = cross_validated_accuracy(scores, same, folds)
    assert cv["folds"] == [1, 2]
    assert cv["per_fold"] == [1.0, 0.5]
    assert cv["mean"] == 0.75
    assert cross_validated_accuracy(scores, same, np.ones(4))["mean"] is None


def test_tar_at_far_with_few_impostors_is_set_by_the_highest_one() -> None:
    rng = np.random.default_rng(1)
    imp = rng.uniform(-0.2, 0.3, 900)
    gen = np.concatenate((rng.uniform(0.4, 0.9, 890), [0.25, 0.1, 0.2, 0.28, 0.31, 0.29, 0.15, 0.05, 0.0, 0.22]))
    scores = np.concatenate((gen, imp))
    same = np.concatenate((np.ones(gen.size, bool), np.zeros(imp.size, bool)))
    res = tar_at_far(scores, same, 1e-3)
    assert res["impostors_allowed"] == 0  # floor(1e-3 x 900)
    assert res["far_observed"] == 0.0
    assert res["threshold"] == pytest.approx(imp.max(), abs=1e-4)
    assert res["tar"] == pytest.approx(np.mean(gen > imp.max()), abs=1e-4)
    assert res["far_resolution"] == pytest.approx(1 / 900, abs=1e-6)
    # A looser FAR lets floor(0.01 x 900) = 9 impostors through and accepts at least as many genuine pairs.
    loose = tar_at_far(scores, same, 1e-2)
    assert loose["impostors_allowed"] == 9 and loose["far_observed"] <= 0.01
    assert loose["tar"] >= res["tar"]


# --------------------------------------------------------------------------- WIDER FACE protocol


def test_bbox_overlaps_uses_the_plus_one_convention() -> None:
    a = np.array([[0, 0, 9, 9]], float)  # 10x10 pixels inclusive
    assert bbox_overlaps(a, a)[0, 0] == pytest.approx(1.0)
    b = np.array([[5, 0, 14, 9]], float)
    assert bbox_overlaps(a, b)[0, 0] == pytest.approx(50 / 150)
    assert bbox_overlaps(a, np.array([[20, 20, 30, 30]], float))[0, 0] == 0.0


def _img(boxes: list[list[float]], easy: list[int], hard: list[int] | None = None) -> WiderImage:
    arr = np.array(boxes, float).reshape(-1, 4)
    hard = list(range(len(boxes))) if hard is None else hard
    keep = {"easy": np.array(easy, np.intp), "medium": np.array(easy, np.intp), "hard": np.array(hard, np.intp)}
    return WiderImage("x.jpg", arr, np.zeros(len(arr), bool), keep)


def test_ignored_face_produces_no_false_positive() -> None:
    # Face 0 counts for 'easy', face 1 does not; the detection of face 1 scores higher.
    img = _img([[10, 10, 50, 50], [200, 10, 50, 50]], easy=[0])
    preds = {"x.jpg": np.array([[200, 10, 50, 50, 0.9], [10, 10, 50, 50, 0.8]])}
    aps = widerface_ap([img], preds)
    assert aps["easy"] == pytest.approx(1.0)  # would be 0.5 if the ignored face's detection were an FP
    assert aps["hard"] == pytest.approx(1.0)

    pred_recall, proposal = image_eval(preds["x.jpg"], img.boxes_xywh, np.array([True, False]), 0.5)
    assert proposal.tolist() == [-1, 1]
    assert pred_recall.tolist() == [0, 1]


def test_unmatched_and_duplicate_detections_are_false_positives() -> None:
    img = _img([[10, 10, 50, 50]], easy=[0])
    # An unannotated region outscoring the face: precision 1/2 at full recall.
    aps = widerface_ap([img], {"x.jpg": np.array([[300, 300, 40, 40, 0.9], [10, 10, 50, 50, 0.8]])})
    assert aps["easy"] == pytest.approx(0.5)
    # A second box on the same face after the first: recall already 1 at precision 1, so AP stays 1.
    aps = widerface_ap([img], {"x.jpg": np.array([[10, 10, 50, 50, 0.9], [12, 12, 50, 50, 0.8]])})
    assert aps["easy"] == pytest.approx(1.0)
    # A missed face halves recall.
    two = _img([[10, 10, 50, 50], [200, 10, 50, 50]], easy=[0, 1])
    aps = widerface_ap([two], {"x.jpg": np.array([[10, 10, 50, 50, 0.9]])})
    assert aps["easy"] == pytest.approx(0.5)


def test_voc_ap_and_recall_by_width() -> None:
    assert voc_ap(np.array([0.5, 1.0]), np.array([1.0, 0.5])) == pytest.approx(0.75)
    img = _img([[10, 10, 20, 20], [100, 100, 80, 80]], easy=[1])
    preds = {"x.jpg": np.array([[100, 100, 80, 80, 0.9], [10, 10, 20, 20, 0.3]])}
    rows = {r["width_px"]: r for r in recall_by_width([img], preds, score=0.5)}
    assert rows["16-32"] == {"width_px": "16-32", "faces": 1, "found": 0, "recall": 0.0}
    assert rows["64-128"]["found"] == 1 and rows["64-128"]["recall"] == 1.0


def test_parse_wider_gt_handles_zero_face_images(tmp_path: Path) -> None:
    gt = tmp_path / "gt.txt"
    gt.write_text("a/1.jpg\n2\n1 2 3 4 0 0 0 0 0 0 \n5 6 7 8 0 0 0 1 0 0 \nb/2.jpg\n0\n0 0 0 0 0 0 0 0 0 0 \n"
                  "c/3.jpg\n1\n9 9 9 9 0 0 0 0 0 0\n", encoding="utf-8")
    parsed = parse_wider_gt(gt)
    assert [p[0] for p in parsed] == ["a/1.jpg", "b/2.jpg", "c/3.jpg"]
    assert parsed[0][1].tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]
    assert parsed[0][2].tolist() == [False, True]  # the 'invalid' flag
    assert parsed[1][1].shape == (0, 4)


# --------------------------------------------------------------------------- fixtures from the demo photos


@pytest.fixture(scope="module", autouse=True)
def _models_present() -> None:
    for name in ("yunet", "sface"):
        require_model(name)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, Any, str]:
    code = main_eval([*argv, "--no-progress", "--threads", "1"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == EXIT_OK else None), err


@pytest.fixture()
def lfw_root(tmp_path: Path) -> Path:
    root = tmp_path / "lfw_eval"
    for person, files in {"Barack_Obama": ["obama.jpg", "obama2.jpg", "obama3.jpg"], "Joe_Biden": ["biden.jpg"]}.items():
        (root / "lfw" / person).mkdir(parents=True)
        for i, name in enumerate(files, start=1):
            shutil.copy(photo_path(name), root / "lfw" / person / f"{person}_{i:04d}.jpg")
    (root / "lfw" / "Nobody").mkdir()
    cv2.imwrite(str(root / "lfw" / "Nobody" / "Nobody_0001.jpg"), np.full((250, 250, 3), 127, np.uint8))
    o = [f"lfw/Barack_Obama/Barack_Obama_{i:04d}.jpg" for i in (1, 2, 3)]
    b = "lfw/Joe_Biden/Joe_Biden_0001.jpg"
    n = "lfw/Nobody/Nobody_0001.jpg"
    rows = [(1, 1, o[0], o[1]), (1, 0, o[0], b), (2, 1, o[1], o[2]), (2, 0, o[2], b), (2, 0, n, o[0])]
    (root / "pairs.csv").write_text("fold,same,img1,img2\n" + "".join(f"{f},{s},{a},{c}\n" for f, s, a, c in rows),
                                    encoding="utf-8")
    return root


def test_lfw_command(lfw_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, res, err = _run(["lfw", "--root", str(lfw_root)], capsys)
    assert code == EXIT_OK, err
    assert (res["pairs"], res["same_pairs"], res["different_pairs"], res["images"]) == (5, 2, 3, 5)
    assert res["folds"] == [1, 2]
    # The grey image has no face: embedded from the fallback geometry and counted.
    assert res["detection_failures"]["images"] == 1
    assert res["detection_failures"]["pairs_affected"] == 1
    assert res["detection_failures"]["files"] == ["lfw/Nobody/Nobody_0001.jpg"]
    det = res["detected_pairs_only"]
    assert det["pairs"] == 4
    # Same-person pairs score above every different-person pair.
    assert det["scores"]["same"]["min"] > det["scores"]["different"]["max"]
    assert det["scores"]["same"]["min"] > 0.5 and det["scores"]["different"]["max"] < 0.363
    assert det["at_threshold"] == {**det["at_threshold"], "threshold": 0.363, "accuracy": 1.0, "far": 0.0}
    assert det["accuracy_cv"]["mean"] == 1.0 and len(det["accuracy_cv"]["per_fold"]) == 2
    assert res["all_pairs"]["pairs"] == 5
    assert res["tar_at_far"]["impostor_pairs"] == 3


def test_calibrate_and_write_manifest(lfw_root: Path, tmp_path: Path) -> None:
    from kiosk.eval.calibrate import calibrate, write_manifest_calibration
    from kiosk.models import MODELS_MANIFEST
    from kiosk.track.fmr_calibration import load_calibration

    portraits = tmp_path / "portraits"
    portraits.mkdir()
    shutil.copy(photo_path("astronaut.png"), portraits / "Eileen_Collins.png")
    shutil.copy(photo_path("biden.jpg"), portraits / "official.jpg")
    (portraits / "metadata.csv").write_text("path,name\nofficial.jpg,Joe Biden\n", encoding="utf-8")

    res = calibrate(lfw_root, portraits, EvalModels(threads=1), bootstrap=20, rates=(0.5, 0.2), min_exceeding=1)
    # LFW: 3 Obama + 1 Biden (the grey image has no face and is skipped); portraits: Collins + Biden.
    # 6 images = 15 pairs, minus 3 Obama-Obama and 1 Biden-Biden (same name across the sets).
    assert res["lfw_no_face"] == 1
    assert res["portraits"]["names_also_in_lfw"] == ["joebiden"]
    assert res["impostor_pairs"] == 11
    assert res["same_person_pairs_lfw"] == 3
    section = res["manifest_section"]
    assert section["exceeding_pairs"] == {"5e-1": 5, "2e-1": 2}
    assert section["fmr_thresholds"]["5e-1"] < section["fmr_thresholds"]["2e-1"]

    manifest = tmp_path / "manifest.yaml"
    original = MODELS_MANIFEST.read_text(encoding="utf-8")
    manifest.write_text(original, encoding="utf-8")
    write_manifest_calibration(res, manifest)
    write_manifest_calibration(res, manifest)  # replaces, never duplicates
    text = manifest.read_text(encoding="utf-8")
    assert text.count("\ncalibration:") == 1
    head = original.split("# False-match calibration")[0].rstrip("\n")
    assert text.startswith(head)  # everything before the block is untouched
    cal = load_calibration("sface", manifest)
    assert cal is not None and cal.impostor_pairs == 11
    assert cal.false_match_rate(section["fmr_thresholds"]["2e-1"]) == pytest.approx(0.2)


def _wider_root(tmp_path: Path, annotate_b: bool) -> Path:
    """Three images: a (astronaut, face counts for easy), b (same photo: its face annotated but only
    'medium'/'hard' when ``annotate_b``; else only a small box elsewhere is annotated, so the face
    is an unannotated region), c (grey, no face)."""
    from kiosk.detect.yunet import YuNetDetector

    root = tmp_path / ("wider_b" if annotate_b else "wider_nob")
    (root / "images" / "0--Test").mkdir(parents=True)
    image = photo("astronaut.png")
    det = YuNetDetector(session("yunet"), 8192, 0.75, 0.3, 50, 0)
    (face,) = det.detect(image)
    x1, y1, x2, y2 = face.box_xyxy
    box = f"{x1:.0f} {y1:.0f} {x2 - x1:.0f} {y2 - y1:.0f} 0 0 0 0 0 0 "
    cv2.imwrite(str(root / "images" / "0--Test" / "a.png"), image)
    cv2.imwrite(str(root / "images" / "0--Test" / "b.png"), image)
    cv2.imwrite(str(root / "images" / "0--Test" / "c.png"), np.full((300, 400, 3), 127, np.uint8))
    b_lines = f"1\n{box}\n" if annotate_b else "1\n0 0 10 10 0 0 0 0 0 0 \n"
    (root / "wider_face_val_bbx_gt.txt").write_text(
        f"0--Test/a.png\n1\n{box}\n0--Test/b.png\n{b_lines}0--Test/c.png\n0\n0 0 0 0 0 0 0 0 0 0 \n", encoding="utf-8"
    )
    one = {"easy": [1], "medium": [1], "hard": [1]}
    none: dict[str, list[int]] = {"easy": [], "medium": [], "hard": []}
    keep = {"0--Test/a.png": one,
            "0--Test/b.png": {"easy": [], "medium": [1], "hard": [1]} if annotate_b else none,
            "0--Test/c.png": none}
    (root / "difficulty_keep.json").write_text(json.dumps(keep), encoding="utf-8")
    return root


def test_widerface_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _wider_root(tmp_path, annotate_b=True)
    code, res, err = _run(["widerface", "--root", str(root), "--sweep-widths", "256"], capsys)
    assert code == EXIT_OK, err
    assert res["images"] == 3
    assert res["faces"] == {"annotated": 2, "easy": 1, "medium": 2, "hard": 2}
    # One clearly detected face: AP 1. On 'easy', b's face is ignored, so its detection is no FP.
    assert res["ap"] == {"easy": 1.0, "medium": 1.0, "hard": 1.0}
    large = res["recall_large_faces"]["at_operating_score"]
    assert large["faces"] == 2 and large["recall"] == 1.0
    assert res["detector"]["input_width"] == "native" and res["detector"]["score_threshold"] == 0.02
    assert res["input_width_sweep"][0]["input_width"] == 256

    # The same detection on b, but b's face not annotated (only a box elsewhere): now it is a
    # false positive scoring as high as the true face, so precision at full recall is 1/2.
    # (Officially, detections in an image with no annotated face at all are not counted.)
    root = _wider_root(tmp_path, annotate_b=False)
    code, res, err = _run(["widerface", "--root", str(root)], capsys)
    assert code == EXIT_OK, err
    assert res["ap"]["easy"] == pytest.approx(0.5, abs=0.01)


class _StubEstimator:
    """Always 30 years, always male: makes the MAE and gender figures predictable."""

    def __init__(self) -> None:
        self.calls: list[tuple[tuple[int, ...], int]] = []

    def estimate(self, image_bgr: np.ndarray, landmarks_list: list[np.ndarray]) -> list[tuple[AgeEstimate, GenderEstimate]]:
        self.calls.append((image_bgr.shape, len(landmarks_list)))
        return [(AgeEstimate(30.0, 25.0, 35.0, 0.2), GenderEstimate("male", 0.9)) for _ in landmarks_list]


@pytest.fixture()
def utk_root(tmp_path: Path) -> Path:
    """UTK-style 200x200 tight crops of the demo faces, plus one grey image (no face)."""
    from kiosk.detect.yunet import YuNetDetector

    root = tmp_path / "utk"
    (root / "images").mkdir(parents=True)
    det = YuNetDetector(session("yunet"), 8192, 0.75, 0.3, 50, 0)
    rows = []
    for name, age, gender, race in (("obama.jpg", 47, "male", "Black"), ("biden.jpg", 66, "male", "White"),
                                    ("astronaut.png", 40, "female", "White")):
        image = photo(name)
        (face,) = det.detect(image)
        x1, y1, x2, y2 = face.box_xyxy
        cx, cy, half = (x1 + x2) / 2, (y1 + y2) / 2, 0.6 * max(x2 - x1, y2 - y1)
        crop = image[int(max(cy - half, 0)):int(cy + half), int(max(cx - half, 0)):int(cx + half)]
        cv2.imwrite(str(root / "images" / f"{Path(name).stem}.jpg"), cv2.resize(crop, (200, 200)))
        rows.append(f"images/{Path(name).stem}.jpg,{age},{int(gender == 'female')},{gender},0,{race}")
    cv2.imwrite(str(root / "images" / "grey.jpg"), np.full((200, 200, 3), 127, np.uint8))
    rows.append("images/grey.jpg,8,1,female,3,Indian")
    (root / "labels.csv").write_text("path,age,gender_code,gender,race_code,race\n" + "\n".join(rows) + "\n",
                                     encoding="utf-8")
    return root


def test_utkface_grouping_with_a_stub_estimator(utk_root: Path) -> None:
    stub = _StubEstimator()
    res = evaluate_utkface(utk_root, EvalModels(threads=1), pad=0.5, estimator=stub)
    assert res["images"] == 4
    assert res["detection_failures"]["images"] == 1  # the grey image
    assert all(shape == (400, 400, 3) and n == 1 for shape, n in stub.calls)  # padded by half a crop per side
    det = res["detected_only"]
    assert det["overall"]["n"] == 3
    assert det["overall"]["age_mae"] == pytest.approx((17 + 36 + 10) / 3, abs=0.01)
    assert det["overall"]["age_bias"] == pytest.approx(-(17 + 36 + 10) / 3, abs=0.01)
    assert det["by_gender"]["male"]["gender_accuracy"] == 1.0
    assert det["by_gender"]["female"]["gender_accuracy"] == 0.0
    assert list(det["by_age_band"]) == ["40-59", "60+"]
    assert det["by_age_band"]["40-59"]["n"] == 2
    assert det["by_race"]["White"]["n"] == 2
    assert res["all_faces"]["overall"]["n"] == 4
    assert res["all_faces"]["by_age_band"]["0-12"]["n"] == 1


def test_utkface_command_with_the_real_estimator(utk_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, res, err = _run(["utkface", "--root", str(utk_root)], capsys)
    assert code == EXIT_OK, err
    det = res["detected_only"]
    assert det["overall"]["n"] == 3
    assert 0.0 <= det["overall"]["age_mae"] < 60.0
    assert 0.0 <= det["overall"]["gender_accuracy"] <= 1.0
    assert set(det["by_gender"]) == {"female", "male"}


def test_age_bands() -> None:
    assert [age_band(a) for a in (0, 12, 13, 19, 20, 39, 40, 59, 60, 101)] == [
        "0-12", "0-12", "13-19", "13-19", "20-39", "20-39", "40-59", "40-59", "60+", "60+"]


# --------------------------------------------------------------------------- malformed roots exit 2


def test_malformed_roots_exit_2(tmp_path: Path, lfw_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["lfw", "--root", str(tmp_path / "missing")], capsys)
    assert code == EXIT_USAGE and "LFW folder not found" in err

    (lfw_root / "pairs.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    code, _, err = _run(["lfw", "--root", str(lfw_root)], capsys)
    assert code == EXIT_USAGE and "missing column(s) fold, same, img1, img2" in err

    (lfw_root / "pairs.csv").write_text("fold,same,img1,img2\n1,1,lfw/x.jpg,lfw/y.jpg\n", encoding="utf-8")
    code, _, err = _run(["lfw", "--root", str(lfw_root)], capsys)
    assert code == EXIT_USAGE and "2 image(s) listed but not found" in err

    wider = tmp_path / "wider"
    (wider / "images" / "e").mkdir(parents=True)
    cv2.imwrite(str(wider / "images" / "e" / "1.png"), np.zeros((32, 32, 3), np.uint8))
    (wider / "wider_face_val_bbx_gt.txt").write_text("e/1.png\n1\n1 1 5 5 0 0 0 0 0 0\n", encoding="utf-8")
    (wider / "difficulty_keep.json").write_text(json.dumps({"e/1.png": {"easy": [2], "medium": [], "hard": []}}))
    code, _, err = _run(["widerface", "--root", str(wider)], capsys)
    assert code == EXIT_USAGE and "1-based face indices within 1..1" in err
    (wider / "wider_face_val_bbx_gt.txt").write_text("e/1.png\nthree\n", encoding="utf-8")
    code, _, err = _run(["widerface", "--root", str(wider)], capsys)
    assert code == EXIT_USAGE and "expected a face count" in err

    utk = tmp_path / "utk_bad"
    utk.mkdir()
    (utk / "labels.csv").write_text("path,age,gender_code,gender,race_code,race\nimages/none.jpg,30,0,male,0,White\n")
    code, _, err = _run(["utkface", "--root", str(utk)], capsys)
    assert code == EXIT_USAGE and "none.jpg: listed in" in err

    code, _, err = _run(["calibrate", "--lfw-root", str(tmp_path / "missing")], capsys)
    assert code == EXIT_USAGE and "not found" in err
