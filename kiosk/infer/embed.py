"""SFace face embeddings (128-d, L2-normalised) on an onnxruntime session.

Input contract (docs/MODELS.md): 112x112 crops aligned by ``kiosk.detect.align.align_face``,
RGB, raw 0-255 (no mean, no scale), NCHW float32 -- identical to what
``cv2.FaceRecognizerSF.feature`` feeds the same network, which the tests check (cosine >= 0.9999).
Embeddings are compared by cosine; OpenCV's same-person threshold is 0.363.
"""
from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np

from kiosk.errors import ModelError
from kiosk.errors import wrong_model_message
from kiosk.types import SAME_PERSON_COSINE  # noqa: F401 (re-exported; the number's one home is kiosk.types)

log = logging.getLogger(__name__)



class SFaceEmbedder:
    """Turns aligned face crops into unit-length embeddings.

    If the session's batch dimension is symbolic all crops go through one ``run`` (less per-call
    overhead); with the stock batch-1 model they are run one at a time, which costs the same per
    face at 1 intra-op thread. Not thread-safe (one embedder per inference thread).
    """

    def __init__(self, session: Any) -> None:
        self._session = session
        # As in YuNetDetector: a file with the manifest's sha256 passes these; they turn a
        # replaced file into a start-up error naming the fix instead of a crash on the first face.
        inputs = session.get_inputs()
        if len(inputs) != 1:
            # The stock SFace file lists its weights as inputs; kiosk.models strips them.
            raise ModelError(wrong_model_message(
                session, f"the SFace model has {len(inputs)} inputs, expected 1 (initializers not stripped?)"))
        inp = inputs[0]
        shape = list(inp.shape)
        layout_ok = (
            inp.type == "tensor(float)"
            and len(shape) == 4
            and (shape[1] == 3 or _symbolic(shape[1]))
            # a fixed square crop, or symbolic height and width (then 112 is used)
            and (isinstance(shape[2], int) and shape[2] == shape[3] and shape[2] >= 32
                 or _symbolic(shape[2]) and _symbolic(shape[3]))
        )
        if not layout_ok:
            hint = " (channels last: an NHWC export)" if len(shape) == 4 and shape[3] == 3 and shape[1] != 3 else ""
            raise ModelError(wrong_model_message(
                session, f"SFace input {inp.name!r} is {inp.type} {shape}{hint}, expected float32 [N, 3, 112, 112] (NCHW, RGB)"))
        outputs = session.get_outputs()
        output = outputs[0]
        if len(outputs) != 1 or len(output.shape) != 2:
            raise ModelError(wrong_model_message(
                session, f"SFace outputs are {[(o.name, o.shape) for o in outputs]}, expected one [N, 128] embedding"))
        self._input_name: str = inp.name
        self._output_name: str = output.name
        self.dim: int = output.shape[-1] if isinstance(output.shape[-1], int) else 128
        self.batched: bool = not isinstance(shape[0], int)
        # 112 unless the file says otherwise; symbolic spatial dims fall back to 112.
        self.size: int = shape[2] if isinstance(shape[2], int) else 112
        log.debug("SFace input %s, batched=%s", inp.shape, self.batched)

    def _blob(self, crops_bgr: Sequence[np.ndarray]) -> np.ndarray:
        blob = np.empty((len(crops_bgr), 3, self.size, self.size), np.float32)
        for i, crop in enumerate(crops_bgr):
            if crop.shape != (self.size, self.size, 3) or crop.dtype != np.uint8:
                raise ValueError(
                    f"crop {i}: expected {self.size}x{self.size}x3 uint8 BGR (from align_face), got {crop.shape} {crop.dtype}"
                )
            # BGR->RGB, HWC->CHW and uint8->float32 in one strided assignment (~20 us per crop);
            # no intermediate arrays.
            blob[i] = crop[:, :, ::-1].transpose(2, 0, 1)
        return blob

    def embed(self, crops_bgr: Sequence[np.ndarray]) -> np.ndarray:
        """Embeddings of ``crops_bgr`` (each ``size`` x ``size`` x 3 uint8 BGR) as (N, D) float32 unit rows.

        An empty sequence gives a (0, D) array without running the model (D = 128 for SFace).
        """
        if len(crops_bgr) == 0:
            return np.zeros((0, self.dim), np.float32)
        blob = self._blob(crops_bgr)
        try:
            if self.batched:
                features = self._session.run([self._output_name], {self._input_name: blob})[0]
            else:
                features = np.concatenate(
                    [self._session.run([self._output_name], {self._input_name: blob[i : i + 1]})[0] for i in range(len(blob))]
                )
        finally:
            # The blob is a copy of the face crops: erase it like the crops themselves (see
            # kiosk.privacy.policy) instead of leaving face pixels to the garbage collector.
            blob.fill(0.0)
        features = np.asarray(features, dtype=np.float32).reshape(len(crops_bgr), -1)
        norms = np.linalg.norm(features, axis=1, keepdims=True)
        # A zero vector cannot come out of a real face; the floor only avoids a division by zero.
        out = np.ascontiguousarray(features / np.maximum(norms, np.float32(1e-12)), dtype=np.float32)
        features.fill(0.0)  # the un-normalised copy is as identifying as the result
        return out


def _symbolic(dim: object) -> bool:
    """True for a symbolic ONNX dimension (a name, or None)."""
    return dim is None or isinstance(dim, str)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two 1-D vectors (normalised here, so raw features are fine too).

    Returns 0.0 if either vector is zero.
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch: {a.shape} vs {b.shape}")
    denom = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / denom if denom > 0.0 else 0.0
