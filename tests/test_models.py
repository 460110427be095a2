"""Model files, their verification, the session factory, and the derived models' fidelity.

Needs the fetched files (``kiosk models fetch`` / ``make setup``); runs offline. The derived
models are checked against the originals, the converted expression model against an
independent float64 NumPy forward pass computed from the HDF5 weights.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from kiosk.errors import EXIT_OK, EXIT_USAGE, ModelError
from kiosk.models.keras_onnx import EXPRESSION_LABELS, KerasConversionError, convert_keras_hdf5
from kiosk.models import DemoStore, ModelStore, create_session, default_demo_dir, default_models_dir, model_entries, sha256_file, verify
from kiosk.cli.models import main_verify

MODELS = default_models_dir()
PHOTOS = default_demo_dir()
CPU = ["CPUExecutionProvider"]


@pytest.fixture(scope="module")
def store() -> ModelStore:
    problems = verify()
    assert not problems, "model files missing or corrupt; run `kiosk models fetch`:\n" + "\n".join(problems)
    return ModelStore()


def _entry(name: str):
    return next(e for e in model_entries() if e.name == name)


def _plain_session(path: Path, optimize: bool):
    """A session independent of kiosk.models.create_session (optionally with no graph optimisation)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = 1
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if not optimize:
        # No graph rewrites and no weight pre-packing (pre-packing applies only to constant
        # weights, so it would treat the stock SFace, whose weights are graph inputs, differently).
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        so.add_session_config_entry("session.disable_prepacking", "1")
    return ort.InferenceSession(str(path), so, providers=CPU)


# ------------------------------------------------------------------------------------------
# verification
# ------------------------------------------------------------------------------------------


def test_all_files_verify(store: ModelStore) -> None:
    assert verify() == []
    for name in ("yunet", "sface", "age", "gender", "expression"):
        path = store.require(name)
        assert path.is_file() and path.parent == MODELS
    assert store.require("yunet").name == _entry("yunet").derived.file
    assert store.require("age").name == "age-v1.onnx"
    for name in DemoStore().names():
        assert DemoStore().require(name).parent == PHOTOS


def test_one_byte_change_is_named_with_both_hashes(store: ModelStore, tmp_path: Path) -> None:
    entry = _entry("yunet")
    target = tmp_path / entry.derived.file
    shutil.copyfile(MODELS / entry.derived.file, target)
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    actual = sha256_file(target)
    assert actual != entry.derived.sha256

    with pytest.raises(ModelError) as exc:
        ModelStore(tmp_path).require("yunet")
    msg = str(exc.value)
    assert str(target) in msg and entry.derived.sha256 in msg and actual in msg
    assert "kiosk models fetch" in msg
    assert exc.value.exit_code == EXIT_USAGE

    problems = verify(tmp_path, PHOTOS)
    (line,) = [p for p in problems if str(target) in p]
    assert entry.derived.sha256 in line and actual in line and "kiosk models fetch" in line


def test_missing_file_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as exc:
        ModelStore(tmp_path).require("sface")
    msg = str(exc.value)
    assert str(tmp_path / _entry("sface").derived.file) in msg
    assert "missing" in msg and _entry("sface").derived.sha256 in msg
    assert "kiosk models fetch" in msg and str(tmp_path) in msg  # the fix names the non-default dir


def test_unknown_model_name(store: ModelStore) -> None:
    with pytest.raises(ModelError, match="unknown model 'nose'.*yunet"):
        store.require("nose")


def test_main_verify_exit_codes(store: ModelStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main_verify(None, None) == EXIT_OK
    capsys.readouterr()
    shutil.copyfile(MODELS / "gender-v1.onnx", tmp_path / "gender-v1.onnx")
    assert main_verify(tmp_path, PHOTOS) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith(str(tmp_path))]
    assert len(lines) == sum(len(e.files()) for e in model_entries()) - 1  # all but gender
    assert all("expected sha256" in line and "kiosk models fetch" in line for line in lines)


# ------------------------------------------------------------------------------------------
# session factory
# ------------------------------------------------------------------------------------------


def test_create_session_options(store: ModelStore) -> None:
    assert os.environ.get("ORT_DISABLE_TELEMETRY") == "1"
    import onnxruntime as ort

    sess = create_session(store.require("gender"), ["NoSuchExecutionProvider", "CPUExecutionProvider"], 1)
    assert sess.get_providers() == CPU
    so = sess.get_session_options()
    assert so.intra_op_num_threads == 1 and so.inter_op_num_threads == 1
    assert so.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
    assert so.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert so.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert so.get_session_config_entry("session.inter_op.allow_spinning") == "0"


def test_create_session_no_available_provider(store: ModelStore) -> None:
    with pytest.raises(ModelError, match=r"NoSuchExecutionProvider.*available: \[.*CPUExecutionProvider"):
        create_session(store.require("gender"), ["NoSuchExecutionProvider"], 1)


def test_create_session_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="bad.onnx: onnxruntime cannot load it"):
        create_session(bad, CPU, 1)


def test_age_gender_batch_is_dynamic(store: ModelStore) -> None:
    for name, size, classes in (("age", 64, 81), ("gender", 32, 2)):
        sess = create_session(store.require(name), CPU, 1)
        (inp,) = sess.get_inputs()
        assert inp.name == "images" and isinstance(inp.shape[0], str) and inp.shape[1:] == [3, size, size]
        x = np.random.default_rng(0).normal(0, 0.3, (3, 3, size, size)).astype(np.float32)
        (p,) = sess.run(None, {"images": x})
        assert p.shape == (3, classes)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)


# ------------------------------------------------------------------------------------------
# YuNet: symbolic H, W
# ------------------------------------------------------------------------------------------


def _yunet_decode(outs: dict[str, np.ndarray], h: int, w: int, threshold: float) -> np.ndarray:
    """Rows (score, cx, cy, bw, bh) of anchors above ``threshold``, best first (no NMS)."""
    rows = []
    for s in (8, 16, 32):
        cols = w // s
        score = np.sqrt(np.clip(outs[f"cls_{s}"][0, :, 0], 0, 1) * np.clip(outs[f"obj_{s}"][0, :, 0], 0, 1))
        for i in np.nonzero(score > threshold)[0]:
            r, c = divmod(int(i), cols)
            b = outs[f"bbox_{s}"][0, i]
            rows.append((score[i], (c + b[0]) * s, (r + b[1]) * s, np.exp(b[2]) * s, np.exp(b[3]) * s))
    return np.array(sorted(rows, key=lambda t: -t[0]), dtype=np.float64).reshape(-1, 5)


def test_yunet_derived_matches_stock(store: ModelStore) -> None:
    import cv2

    stock = _plain_session(MODELS / _entry("yunet").file, optimize=True)
    derived = create_session(store.require("yunet"), CPU, 1)
    names = [o.name for o in stock.get_outputs()]
    assert [o.name for o in derived.get_outputs()] == names
    assert derived.get_inputs()[0].shape[:2] == [1, 3] and all(
        isinstance(d, str) for d in derived.get_inputs()[0].shape[2:]
    )

    # Same size as the stock file: identical outputs.
    x = np.random.default_rng(1).uniform(0, 255, (1, 3, 640, 640)).astype(np.float32)
    for a, b in zip(stock.run(None, {"input": x}), derived.run(None, {"input": x})):
        np.testing.assert_array_equal(a, b)

    # 640x480: the derived model runs at that size (anchor counts follow) and finds the same face
    # as the stock model on the zero-padded 640x640 frame. Only anchors near the bottom edge
    # differ (there the stock model sees activations of its padded rows), so the comparison is
    # on decoded detections of a face far from that edge.
    photo = cv2.imread(str(DemoStore().require("astronaut")))  # 512x512 BGR, face in the top half
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[:, :512] = photo[:480]
    blob480 = frame.transpose(2, 0, 1)[None].astype(np.float32)
    blob640 = np.zeros((1, 3, 640, 640), np.float32)
    blob640[:, :, :480] = blob480
    out480 = dict(zip(names, derived.run(None, {"input": blob480})))
    out640 = dict(zip(names, stock.run(None, {"input": blob640})))
    for s in (8, 16, 32):
        assert out480[f"cls_{s}"].shape == (1, (480 // s) * (640 // s), 1)
        assert out480[f"kps_{s}"].shape == (1, (480 // s) * (640 // s), 10)
    det480 = _yunet_decode(out480, 480, 640, 0.8)
    det640 = _yunet_decode(out640, 640, 640, 0.8)
    assert len(det480) >= 1 and det480.shape == det640.shape
    np.testing.assert_allclose(det480, det640, atol=1e-3)
    score, cx, cy, bw, bh = det480[0]
    assert 150 < cx < 300 and 50 < cy < 200 and 60 < bw < 140  # Eileen Collins' face


# ------------------------------------------------------------------------------------------
# SFace: initializers stripped, symbolic batch
# ------------------------------------------------------------------------------------------


def test_sface_derived_matches_stock(store: ModelStore) -> None:
    entry = _entry("sface")
    x = np.random.default_rng(2).uniform(0, 255, (3, 3, 112, 112)).astype(np.float32)

    stock_raw = _plain_session(MODELS / entry.file, optimize=False)
    # The stock file lists its weights as graph inputs (onnxruntime: "overridable initializers").
    assert len(stock_raw.get_overridable_initializers()) > 100
    derived_raw = _plain_session(store.require("sface"), optimize=False)
    assert derived_raw.get_overridable_initializers() == []
    (inp,) = derived_raw.get_inputs()
    assert inp.name == "data" and isinstance(inp.shape[0], str) and inp.shape[1:] == [3, 112, 112]
    ref = np.concatenate([stock_raw.run(["fc1"], {"data": x[i : i + 1]})[0] for i in range(3)])
    # Same function: bit-identical when onnxruntime executes both graphs as written.
    raw = np.concatenate([derived_raw.run(["fc1"], {"data": x[i : i + 1]})[0] for i in range(3)])
    np.testing.assert_array_equal(raw, ref)

    # As the kiosk runs it (constant folding + Conv/BN fusion): float32 rounding only, and each
    # batch item identical to running it alone.
    derived = create_session(store.require("sface"), CPU, 1)
    batch = derived.run(["fc1"], {"data": x})[0]
    singles = np.concatenate([derived.run(["fc1"], {"data": x[i : i + 1]})[0] for i in range(3)])
    np.testing.assert_array_equal(batch, singles)
    np.testing.assert_allclose(batch, ref, rtol=0, atol=1e-4 * float(np.abs(ref).max()))
    b64, r64 = batch.astype(np.float64), ref.astype(np.float64)
    cos = np.sum(b64 * r64, axis=1) / (np.linalg.norm(b64, axis=1) * np.linalg.norm(r64, axis=1))
    assert np.all(cos > 1 - 1e-9)


# ------------------------------------------------------------------------------------------
# Expression: Keras HDF5 -> ONNX, against an independent NumPy forward pass
# ------------------------------------------------------------------------------------------


def _same_pads(n: int, k: int, s: int) -> tuple[int, int]:
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2  # TensorFlow: the odd pixel goes bottom / right


def _pad(x: np.ndarray, k: list[int], s: list[int], padding: str, value: float = 0.0) -> np.ndarray:
    if padding == "valid":
        return x
    assert padding == "same"
    return np.pad(
        x,
        ((0, 0), _same_pads(x.shape[1], k[0], s[0]), _same_pads(x.shape[2], k[1], s[1]), (0, 0)),
        constant_values=value,
    )


def _windows(x: np.ndarray, k: list[int], s: list[int]) -> np.ndarray:
    """NHWC -> (N, OH, OW, C, kh, kw) sliding windows with stride s."""
    return sliding_window_view(x, tuple(k), axis=(1, 2))[:, :: s[0], :: s[1]]


def keras_reference_forward(path: Path, x: np.ndarray) -> np.ndarray:
    """Float64 NHWC forward pass of a Keras 2 functional model from its HDF5 config and weights."""
    with h5py.File(path, "r") as f:
        cfg = json.loads(f.attrs["model_config"])["config"]
        mw = f["model_weights"]

        def weights(layer: str) -> dict[str, np.ndarray]:
            g = mw[layer]
            return {
                n.decode().rsplit("/", 1)[-1].split(":")[0]: np.asarray(g[n.decode()], np.float64)
                for n in g.attrs["weight_names"]
            }

        t: dict[str, np.ndarray] = {}
        for layer in cfg["layers"]:
            cls, name, c = layer["class_name"], layer["name"], layer["config"]
            ins = [t[ref[0]] for ref in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
            if cls == "InputLayer":
                y = x.astype(np.float64)
            elif cls == "Conv2D":
                w, k, s = weights(name), c["kernel_size"], c["strides"]
                y = np.einsum("nhwcij,ijco->nhwo", _windows(_pad(ins[0], k, s, c["padding"]), k, s), w["kernel"])
                if c["use_bias"]:
                    y = y + w["bias"]
            elif cls == "SeparableConv2D":
                w, k, s = weights(name), c["kernel_size"], c["strides"]
                assert c["depth_multiplier"] == 1
                d = np.einsum(
                    "nhwcij,ijc->nhwc", _windows(_pad(ins[0], k, s, c["padding"]), k, s), w["depthwise_kernel"][..., 0]
                )
                y = np.einsum("nhwc,co->nhwo", d, w["pointwise_kernel"][0, 0])
            elif cls == "BatchNormalization":
                w = weights(name)
                y = (ins[0] - w["moving_mean"]) / np.sqrt(w["moving_variance"] + c["epsilon"]) * w["gamma"] + w["beta"]
            elif cls == "Activation":
                z = ins[0]
                if c["activation"] == "relu":
                    y = np.maximum(z, 0.0)
                elif c["activation"] == "softmax":
                    e = np.exp(z - z.max(axis=1, keepdims=True))
                    y = e / e.sum(axis=1, keepdims=True)
                else:
                    assert c["activation"] == "linear"
                    y = z
            elif cls == "MaxPooling2D":
                k, s = c["pool_size"], c["strides"]
                y = _windows(_pad(ins[0], k, s, c["padding"], -np.inf), k, s).max(axis=(4, 5))
            elif cls == "Add":
                y = np.sum(ins, axis=0)
            elif cls == "GlobalAveragePooling2D":
                y = ins[0].mean(axis=(1, 2))
            else:
                raise AssertionError(f"reference has no {cls}")
            t[name] = y
        return t[cfg["output_layers"][0][0]]


def test_expression_conversion_matches_numpy_reference(store: ModelStore) -> None:
    import cv2

    hdf5 = MODELS / _entry("expression").file
    sess = create_session(store.require("expression"), CPU, 1)
    (inp,), (out,) = sess.get_inputs(), sess.get_outputs()
    assert inp.name == "images" and inp.shape[1:] == [64, 64, 1] and isinstance(inp.shape[0], str)
    assert out.name == "probabilities" and out.shape[1:] == [7]
    assert sess.get_modelmeta().custom_metadata_map["labels"] == ",".join(EXPRESSION_LABELS)

    rng = np.random.default_rng(3)
    noise = rng.uniform(-1, 1, (3, 64, 64, 1))
    smooth = np.stack(
        [cv2.resize(rng.uniform(-1, 1, (8, 8)), (64, 64), interpolation=cv2.INTER_LINEAR) for _ in range(2)]
    )[..., None]
    gray = cv2.cvtColor(cv2.imread(str(DemoStore().require("astronaut"))), cv2.COLOR_BGR2GRAY)
    face = cv2.resize(gray[40:200, 150:310], (64, 64), interpolation=cv2.INTER_AREA)[None, :, :, None]
    x = np.concatenate([noise, smooth, (face / 255.0 - 0.5) * 2]).astype(np.float32)

    ref = keras_reference_forward(hdf5, x)
    (got,) = sess.run(None, {"images": x})
    assert got.shape == (6, 7)
    assert np.abs(got - ref).max() < 1e-5
    np.testing.assert_array_equal(got.argmax(axis=1), ref.argmax(axis=1))


def test_expression_conversion_is_deterministic(store: ModelStore) -> None:
    entry = _entry("expression")
    data = convert_keras_hdf5(MODELS / entry.file)
    assert data == convert_keras_hdf5(MODELS / entry.file)
    assert data == (MODELS / entry.derived.file).read_bytes()


def _tiny_keras_file(path: Path, extra_layer: dict) -> Path:
    config = {
        "class_name": "Model",
        "config": {
            "name": "tiny",
            "input_layers": [["input_1", 0, 0]],
            "output_layers": [[extra_layer["name"], 0, 0]],
            "layers": [
                {
                    "class_name": "InputLayer",
                    "name": "input_1",
                    "inbound_nodes": [],
                    "config": {"batch_input_shape": [None, 8, 8, 1], "dtype": "float32", "name": "input_1"},
                },
                extra_layer,
            ],
        },
    }
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config).encode()
        f.attrs["keras_version"] = b"2.0.5"
        f.create_group("model_weights")
    return path


def test_converter_rejects_unsupported_layer(tmp_path: Path) -> None:
    layer = {
        "class_name": "Dense",
        "name": "dense_1",
        "config": {"units": 3},
        "inbound_nodes": [[["input_1", 0, 0, {}]]],
    }
    with pytest.raises(KerasConversionError, match="'dense_1' has unsupported type Dense"):
        convert_keras_hdf5(_tiny_keras_file(tmp_path / "dense.h5", layer))


def test_converter_rejects_unsupported_option(tmp_path: Path) -> None:
    layer = {
        "class_name": "Conv2D",
        "name": "conv",
        "inbound_nodes": [[["input_1", 0, 0, {}]]],
        "config": {
            "kernel_size": [3, 3],
            "strides": [1, 1],
            "filters": 2,
            "padding": "same",
            "dilation_rate": [2, 2],
            "activation": "linear",
            "use_bias": False,
        },
    }
    with pytest.raises(KerasConversionError, match=r"'conv' \(Conv2D\): unsupported dilation_rate"):
        convert_keras_hdf5(_tiny_keras_file(tmp_path / "dil.h5", layer))


def test_converter_rejects_non_keras_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.h5"
    with h5py.File(path, "w"):
        pass
    with pytest.raises(KerasConversionError, match="not a Keras HDF5 model"):
        convert_keras_hdf5(path)
