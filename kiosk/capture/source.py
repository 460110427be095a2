"""What every capture source is (:class:`Source`) and the frame contract (:func:`normalise_image`).

To add a capture source: implement :class:`Source` in a new module of this package, add its
spec form to :mod:`kiosk.config.source_spec` (the only parser of specs) and one branch to
:func:`kiosk.capture.open_source`. See docs/ARCHITECTURE.md.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable
import cv2
import numpy as np


@runtime_checkable
class Source(Protocol):
    """A stream of BGR images: a camera, a file, a folder of images or the demo scene.

    ``open()`` acquires the device or file; ``read()`` blocks until the next image and returns it
    as HxWx3 uint8 BGR, or ``None`` at the end of the stream; ``close()`` releases everything and
    must be safe to call twice or after a failed ``open()``.

    ``realtime`` is True when images arrive at the pace of the world (a camera, or a replay
    paced at its fps): the capture thread then stamps them with the monotonic clock and drops
    stale frames. When False the source is replayed as fast as the consumer takes frames: the
    thread stamps ``index / fps`` (a virtual clock) and hands over every frame (lossless).

    Errors: ``SourceError`` (or another ``KioskError``) for what retrying cannot fix (bad spec,
    missing file, missing driver); ``OSError`` or ``RuntimeError`` for device faults, which the
    capture thread retries with backoff. All sources are used from one thread at a time.

    Optional: ``open_timeout_s``, how long ``open()`` and the first ``read()`` may take when they
    are computation rather than a device (the demo scene cuts its photos out in the background
    and its first frame waits for them). The capture thread allows ``max(open_timeout_s, 2 x its
    stall timeout)`` for the open and ``max(open_timeout_s, stall timeout)`` for the first frame;
    a source without it gets the camera's allowance.
    """

    name: str
    fps: float
    realtime: bool

    def open(self) -> None: ...

    def read(self) -> np.ndarray | None: ...

    def close(self) -> None: ...


# --- frame normalisation -----------------------------------------------------------------------

def normalise_image(image: object) -> tuple[np.ndarray | None, str]:
    """Make ``image`` HxWx3 uint8 BGR, C-contiguous and read-only: the contract of ``Frame.image``.

    This is where the pipeline's frame contract is enforced: every image a ``Source`` returns
    passes through here (in :class:`CaptureThread`) before it becomes a ``Frame``, so the
    detector, the analyzer and the UI may rely on it. (The detector still checks its input and
    raises ``ValueError`` on a violation: that is a programming error, not a camera fault.)

    Returns ``(image, "")`` when it was already fine, ``(image, what)`` when converted and
    ``(None, why)`` when unusable. Never raises for odd input: a driver that occasionally hands
    back a gray or BGRA frame should cost a conversion, not the exhibition.

    Conversions (the conventions of OpenCV and the common drivers; anything else is skipped):

    * big-endian data is read in native byte order first.
    * ``uint16``: full-range 16-bit (16-bit PNG/TIFF, Y16 cameras): the high byte is kept.
    * floats: 0..1 when the largest finite value is at most 1, else 0..255; NaN becomes 0,
      +inf 255, -inf 0, everything is clipped to 0..255. (A float frame darker than 1/255
      everywhere is therefore brightened: no camera delivers that.)
    * other integers and bool: clipped to 0..255 (8-bit values in a wider type).
    * HxW and HxWx1: gray; HxWx4: BGRA (alpha dropped). 2 or 5+ channels, 1-D, 4-D, zero-size,
      complex, text, object and structured arrays are skipped.
    * non-contiguous views (slices, negative strides, Fortran order) are copied to C order.
    """
    if not isinstance(image, np.ndarray):
        return None, f"not an array ({type(image).__name__})"
    if image.size == 0 or image.ndim not in (2, 3) or min(image.shape[:2]) < 1:
        return None, f"empty or malformed shape {image.shape}"
    channels = 1 if image.ndim == 2 else image.shape[2]
    if channels not in (1, 3, 4):
        # Checked before any dtype conversion: a wrongly shaped 8K float frame must not cost
        # three full-size temporaries only to be thrown away.
        return None, f"unsupported channel count {channels} (shape {image.shape})"
    converted: list[str] = []
    img = image
    if img.dtype != np.uint8:
        if not img.dtype.isnative and img.dtype.kind in "uif":
            # Big-endian data (some network cameras, TIFF): same values in native order first,
            # so that the dtype rules below apply (>u2 is not np.uint16).
            img = img.astype(img.dtype.newbyteorder("="))
        if img.dtype == np.uint16:
            img = (img >> 8).astype(np.uint8)
        elif np.issubdtype(img.dtype, np.floating):
            img = _float_to_uint8(img)
        elif np.issubdtype(img.dtype, np.integer) or img.dtype == np.bool_:
            img = np.clip(img, 0, 255).astype(np.uint8)
        else:
            return None, f"unsupported dtype {image.dtype}"
        converted.append(f"{image.dtype}->uint8")
    if channels == 1:
        img = cv2.cvtColor(np.ascontiguousarray(img.reshape(img.shape[:2])), cv2.COLOR_GRAY2BGR)
        converted.append("gray->BGR")
    elif channels == 4:
        img = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_BGRA2BGR)
        converted.append("BGRA->BGR")
    if img is image:
        # Still the source's own array: copy it, because drivers and decoders may reuse their
        # buffers (and the source may still write to it), while the Frame we hand on is shared
        # read-only between threads for a while. 0.1 ms at 640x480.
        img = np.array(img, copy=True, order="C")
    elif not img.flags.c_contiguous:
        img = np.ascontiguousarray(img)
    img.setflags(write=False)
    return img, ", ".join(converted)


def _float_to_uint8(image: np.ndarray) -> np.ndarray:
    """Floats (0..1 or 0..255, possibly NaN/inf or beyond float32) to uint8; see normalise_image.

    One float32 temporary, converted in place: an 8K float64 frame is 800 MB already, and three
    more full-size temporaries would take a Raspberry Pi's memory with it.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # 1e300 -> inf in float32 is intended
        tmp = image.astype(np.float32)
    finite = np.isfinite(tmp)
    peak = float(np.max(tmp, where=finite, initial=0.0))
    if peak <= 1.0:
        np.multiply(tmp, np.float32(255.0), out=tmp)
    np.nan_to_num(tmp, copy=False, nan=0.0, posinf=255.0, neginf=0.0)
    np.clip(tmp, 0.0, 255.0, out=tmp)
    return tmp.astype(np.uint8)


# Kept for callers of the old private name.
_normalise = normalise_image


