"""Alignment (Umeyama onto the ArcFace template) and SFace embeddings, against OpenCV's FaceRecognizerSF.

The pure-math tests need nothing; the model tests need the files `make setup` fetches
(``kiosk.models``) and fail with that hint when they are absent (see modelkit.py).
"""
from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np
import pytest

from kiosk.detect.align import ARCFACE_112, align_face, similarity_transform
from kiosk.infer.embed import SAME_PERSON_COSINE, SFaceEmbedder, cosine
from modelkit import PHOTOS, photo, require_model, session

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- model fixtures

@pytest.fixture(scope="module")
def sface_path() -> Path:
    return require_model("sface")


@pytest.fixture(scope="module")
def embedder(sface_path: Path) -> SFaceEmbedder:
    return SFaceEmbedder(session(sface_path))


@pytest.fixture(scope="module")
def faces() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """photo name -> (full image, YuNet landmarks in its pixels, YuNet's 15-value face row for OpenCV)."""
    from kiosk.detect.yunet import YuNetDetector

    detector = YuNetDetector(session("yunet"), 640, 0.7, 0.3, 5000, 20)
    out = {}
    for name in PHOTOS:
        image = photo(name)
        dets = detector.detect(image)
        assert len(dets) == 1, name
        d = dets[0]
        x1, y1, x2, y2 = d.box_xyxy
        row = np.array([[x1, y1, x2 - x1, y2 - y1, *d.landmarks_px.reshape(-1), d.score]], np.float32)
        out[name] = (image, np.asarray(d.landmarks_px), row)
    return out


@pytest.fixture(scope="module")
def embeddings(faces: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], embedder: SFaceEmbedder) -> dict[str, np.ndarray]:
    crops = [align_face(image, lm) for image, lm, _ in faces.values()]
    return dict(zip(faces, embedder.embed(crops)))


# --------------------------------------------------------------------------- alignment

def _similarity(scale: float, angle: float, tx: float, ty: float) -> np.ndarray:
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    return np.array([[c, -s, tx], [s, c, ty]])


def test_similarity_recovers_exact_transform() -> None:
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 500, (5, 2))
    truth = _similarity(0.37, 0.6, -12.5, 40.25)
    dst = src @ truth[:, :2].T + truth[:, 2]
    np.testing.assert_allclose(similarity_transform(src, dst), truth, atol=1e-9)


def test_similarity_least_squares_and_no_reflection() -> None:
    # A mirrored point set cannot be reached by rotation + scale: the fit must stay a rotation.
    src = ARCFACE_112.copy()
    dst = src * [-1.0, 1.0]
    m = similarity_transform(src, dst)
    assert np.linalg.det(m[:, :2]) > 0
    # Least squares: the residual gradient w.r.t. the translation is zero.
    residual = dst - (src @ m[:, :2].T + m[:, 2])
    np.testing.assert_allclose(residual.sum(axis=0), 0.0, atol=1e-9)


def _umeyama_svd(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Umeyama (1991) by SVD, Eq. 40-42, the general form the closed 2-D form must reproduce."""
    n = src.shape[0]
    src_c, dst_c = src - src.mean(axis=0), dst - dst.mean(axis=0)
    cov = dst_c.T @ src_c / n
    u, sigma, vt = np.linalg.svd(cov)
    d = np.array([1.0, -1.0 if np.linalg.det(cov) < 0 else 1.0])
    rotation = u @ np.diag(d) @ vt
    scale = float(sigma @ d) / (float((src_c ** 2).sum()) / n)
    return np.hstack([scale * rotation, (dst.mean(axis=0) - scale * rotation @ src.mean(axis=0))[:, None]])


def test_similarity_closed_form_equals_umeyama_svd() -> None:
    # Faces anywhere in a frame onto the template, with noise, mirrored point orders
    # (reflections) and 3-8 points: the closed form gives the SVD's matrix.
    rng = np.random.default_rng(3)
    worst = 0.0
    for i in range(2000):
        k = 5 if i % 3 else int(rng.integers(3, 9))
        src = rng.normal(0.0, 40.0, (k, 2)) + rng.uniform(0.0, 1900.0, 2)
        dst = rng.normal(0.0, 30.0, (k, 2)) if k != 5 else ARCFACE_112 + rng.normal(0.0, 4.0, (5, 2))
        if i % 5 == 0:
            src = src[:, ::-1].copy()
        worst = max(worst, float(np.abs(similarity_transform(src, dst) - _umeyama_svd(src, dst)).max()))
    assert worst < 1e-9


def test_similarity_rejects_degenerate_input() -> None:
    with pytest.raises(ValueError):
        similarity_transform(np.ones((5, 2)), ARCFACE_112)
    with pytest.raises(ValueError):
        similarity_transform(np.zeros((5, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError):
        similarity_transform(ARCFACE_112[:4], ARCFACE_112)


def test_align_face_template_points_are_identity() -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (112, 112, 3), dtype=np.uint8)
    crop = align_face(image, ARCFACE_112)
    assert crop.shape == (112, 112, 3) and crop.dtype == np.uint8
    np.testing.assert_array_equal(crop, image)
    # Other sizes scale the template: the 5 points land on size/112 times it.
    big = align_face(np.zeros((300, 300, 3), np.uint8), ARCFACE_112 * 2.0, size=224)
    assert big.shape == (224, 224, 3)


@pytest.mark.parametrize("photo", PHOTOS)
def test_align_matches_opencv_align_crop(faces: dict[str, Any], sface_path: Path, photo: str) -> None:
    image, landmarks, row = faces[photo]
    ours = align_face(image, landmarks)
    theirs = cv2.FaceRecognizerSF.create(str(sface_path), "").alignCrop(image, row)
    diff = np.abs(ours.astype(np.int16) - theirs.astype(np.int16))
    log.info("%s: alignCrop mean |diff| %.4f grey levels, max %d", photo, diff.mean(), diff.max())
    # OpenCV estimates the same transform in float32: a few pixels round the other way.
    assert diff.mean() < 0.05 and diff.max() <= 4


# --------------------------------------------------------------------------- embeddings

def test_embed_matches_opencv_feature(faces: dict[str, Any], embedder: SFaceEmbedder, sface_path: Path) -> None:
    recognizer = cv2.FaceRecognizerSF.create(str(sface_path), "")
    for name, (image, landmarks, _) in faces.items():
        crop = align_face(image, landmarks)
        ours = embedder.embed([crop])[0]
        theirs = recognizer.feature(crop).reshape(-1)
        c = cosine(ours, theirs)
        log.info("%s: cosine to FaceRecognizerSF.feature = 1 - %.1e", name, 1.0 - c)
        assert c >= 0.9999


def test_embeddings_are_unit_rows(embeddings: dict[str, np.ndarray], embedder: SFaceEmbedder) -> None:
    stack = np.stack(list(embeddings.values()))
    assert stack.dtype == np.float32 and stack.shape == (len(PHOTOS), 128)
    np.testing.assert_allclose(np.linalg.norm(stack, axis=1), 1.0, atol=1e-5)
    empty = embedder.embed([])
    assert empty.shape == (0, 128) and empty.dtype == np.float32


@pytest.mark.parametrize(("a", "b"), [("obama.jpg", "obama2.jpg"), ("obama.jpg", "obama3.jpg"), ("obama2.jpg", "obama3.jpg")])
def test_same_person(embeddings: dict[str, np.ndarray], a: str, b: str) -> None:
    c = cosine(embeddings[a], embeddings[b])
    log.info("same person %s vs %s: cosine %.4f", a, b, c)
    assert c >= 0.5


@pytest.mark.parametrize(
    ("a", "b"),
    [("obama.jpg", "biden.jpg"), ("obama2.jpg", "biden.jpg"), ("obama3.jpg", "biden.jpg")]
    + [("astronaut.png", other) for other in PHOTOS[1:]],
)
def test_different_people(embeddings: dict[str, np.ndarray], a: str, b: str) -> None:
    c = cosine(embeddings[a], embeddings[b])
    log.info("different people %s vs %s: cosine %.4f", a, b, c)
    assert c < SAME_PERSON_COSINE


def test_batched_and_per_crop_sessions_agree(faces: dict[str, Any], sface_path: Path, tmp_path: Path) -> None:
    """A symbolic batch dimension runs all crops at once, a fixed batch of 1 loops: same rows."""
    onnx = pytest.importorskip("onnx")
    embedders = {}
    for variant in ("batched", "single"):
        model = onnx.load(str(sface_path))
        for value in (model.graph.input[0], model.graph.output[0]):
            dim = value.type.tensor_type.shape.dim[0]
            if variant == "batched":
                dim.dim_param = "N"  # dim_value/dim_param are a oneof: setting one clears the other
            else:
                dim.dim_value = 1
        path = tmp_path / f"sface_{variant}.onnx"
        onnx.save(model, str(path))
        embedders[variant] = SFaceEmbedder(session(path))
    assert embedders["batched"].batched and not embedders["single"].batched
    crops = [align_face(image, lm) for image, lm, _ in faces.values()]
    np.testing.assert_allclose(embedders["batched"].embed(crops), embedders["single"].embed(crops), atol=1e-5)


def test_embed_rejects_unaligned_crops(embedder: SFaceEmbedder) -> None:
    with pytest.raises(ValueError, match="112x112x3"):
        embedder.embed([np.zeros((100, 100, 3), np.uint8)])


def test_embed_feeds_rgb_nchw_raw_and_erases_blob() -> None:
    """The exact tensor the model sees, via a stub session (no model file needed)."""
    seen: list[np.ndarray] = []

    class Stub:
        def get_inputs(self) -> list[Any]:
            return [SimpleNamespace(name="data", shape=["N", 3, 112, 112], type="tensor(float)")]

        def get_outputs(self) -> list[Any]:
            return [SimpleNamespace(name="fc1", shape=["N", 128], type="tensor(float)")]

        def run(self, names: list[str], feed: dict[str, np.ndarray]) -> list[np.ndarray]:
            blob = feed["data"]
            seen.append(blob)  # a reference: we check it is erased after the run
            seen.append(blob.copy())
            return [np.tile(blob[:, :, 0, 0], (1, 43))[:, :128] * 2.0]

    crop = np.zeros((112, 112, 3), np.uint8)
    crop[..., 0], crop[..., 1], crop[..., 2] = 10, 20, 250  # B, G, R
    out = SFaceEmbedder(Stub()).embed([crop, crop])
    fed_ref, fed = seen
    assert fed.shape == (2, 3, 112, 112) and fed.dtype == np.float32
    np.testing.assert_array_equal(fed[:, 0], 250.0)  # R first, raw 0-255
    np.testing.assert_array_equal(fed[:, 2], 10.0)
    assert not fed_ref.any()  # the face pixels' float copy is zeroed after use
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)


def test_cosine_helper() -> None:
    assert cosine(np.array([1.0, 0.0]), np.array([2.0, 0.0])) == pytest.approx(1.0)
    assert cosine(np.array([1.0, 0.0]), np.array([0.0, 3.0])) == pytest.approx(0.0)
    assert cosine(np.array([1.0, 1.0]), np.array([-1.0, -1.0])) == pytest.approx(-1.0)
    assert cosine(np.zeros(3), np.ones(3)) == 0.0
    with pytest.raises(ValueError):
        cosine(np.ones(3), np.ones(4))
