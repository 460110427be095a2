"""5-point face alignment onto the ArcFace 112x112 template (the crop SFace was trained on).

The transform is the least-squares similarity (rotation, uniform scale, translation) of
Umeyama (1991), the same estimate ``cv2.FaceRecognizerSF.alignCrop`` computes internally (it is
not exposed in OpenCV's Python API). It is hand-written rather than imported because:

* ``cv2.estimateAffinePartial2D`` is a *robust* estimator (RANSAC / LMEDS with inlier
  thresholds and random sampling): with 5 points it may fit a subset and ignore the rest, so it
  is not the plain least-squares fit the template was designed for, and it is not deterministic
  across OpenCV versions;
* scikit-image's ``SimilarityTransform.estimate`` is exactly this, but scikit-image is a heavy
  dependency (scipy, imageio, ...) for 15 lines of NumPy.
"""
from __future__ import annotations

import logging

import cv2
import numpy as np

log = logging.getLogger(__name__)

#: Where the 5 YuNet points (right eye, left eye, nose tip, right and left mouth corners, the
#: subject's sides) land in a 112x112 ArcFace / SFace crop.
ARCFACE_112: np.ndarray = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)
ARCFACE_112.flags.writeable = False


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity mapping ``src`` (N,2) onto ``dst`` (N,2), as a (2,3) float64 matrix.

    Minimises ``sum ||dst_i - (s R src_i + t)||^2`` over rotation R (never a reflection), scale
    s > 0 and translation t, in closed form (Umeyama 1991, Eq. 40-42). Raises ValueError for
    mismatched shapes, fewer than 2 points or coincident source points (no scale defined).
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.ndim != 2 or src.shape[1] != 2 or src.shape != dst.shape or src.shape[0] < 2:
        raise ValueError(f"need matching (N>=2, 2) point sets, got {src.shape} and {dst.shape}")
    n = src.shape[0]
    src_mean = src.mean(axis=0)
    dst_mean = dst.mean(axis=0)
    src_c = src - src_mean
    dst_c = dst - dst_mean
    src_var = float((src_c**2).sum()) / n
    if src_var <= np.finfo(np.float64).eps:
        raise ValueError("source points coincide: the similarity transform is undefined")
    cov = dst_c.T @ src_c / n
    u, sigma, vt = np.linalg.svd(cov)
    # Flip the weakest axis when the best orthogonal fit would be a reflection (Umeyama's S).
    d = np.ones(2)
    if np.linalg.det(cov) < 0:
        d[1] = -1.0
    rotation = u @ np.diag(d) @ vt
    scale = float(sigma @ d) / src_var
    matrix = np.empty((2, 3), np.float64)
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


def align_face(image_bgr: np.ndarray, landmarks_px: np.ndarray, size: int = 112) -> np.ndarray:
    """The ``size`` x ``size`` BGR uint8 crop with the 5 landmarks mapped onto the ArcFace template.

    The template is scaled by ``size / 112`` for other sizes. Bilinear sampling, zero border
    (as ``cv2.FaceRecognizerSF.alignCrop``): faces at the frame edge get black corners rather
    than smeared edge pixels, which would look like texture to the embedder.
    """
    landmarks = np.asarray(landmarks_px, dtype=np.float64)
    if landmarks.shape != (5, 2):
        raise ValueError(f"expected (5, 2) landmarks, got {landmarks.shape}")
    template = ARCFACE_112 if size == 112 else ARCFACE_112 * (size / 112.0)
    matrix = similarity_transform(landmarks, template)
    return cv2.warpAffine(
        image_bgr, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )
