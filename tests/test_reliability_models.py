"""Model faults (issue 6, item 4): a missing, truncated, corrupted or wrongly shaped model stops
``kiosk run`` with exit 2, a message saying what is wrong with which file, and the command that
fixes it; never a traceback, never a crash on the first frame.

The first three are caught by the sha256 check (``ModelStore.require``). A file with the wrong
input layout cannot pass that check with the real manifest, so that case points a temporary
manifest at a small ONNX graph built here with ``onnx.helper`` (the check that catches it,
in ``YuNetDetector`` / ``SFaceEmbedder``, is also tested directly).
"""
from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from kiosk.detect.yunet import OUTPUT_NAMES, YuNetDetector
from kiosk.errors import ModelError
from kiosk.infer.embed import SFaceEmbedder
from kiosk.models import MODELS_MANIFEST, ModelStore, create_session, default_models_dir, model_entries
from modelkit import require_model

REPO = Path(__file__).resolve().parents[1]


def _require_models() -> None:
    for name in ("yunet", "sface"):
        require_model(name)


def _final_file(name: str) -> str:
    return next(e for e in model_entries() if e.name == name).final_file


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    """A models folder of symlinks to the real (verified) files, for a test to break one of."""
    _require_models()
    target = tmp_path / "models"
    target.mkdir()
    for path in Path(default_models_dir()).iterdir():
        (target / path.name).symlink_to(path)
    return target


def _config(tmp_path: Path, models_dir: Path) -> Path:
    cfg = tmp_path / "kiosk.yaml"
    cfg.write_text(f"camera:\n  source: demo\nruntime:\n  models_dir: {models_dir}\n", encoding="utf-8")
    return cfg


def _run(*args: str, prelude: str = "") -> subprocess.CompletedProcess[str]:
    """`kiosk ARGS` in a fresh process (``prelude``: Python run before the CLI, to patch things)."""
    code = f"import sys\n{prelude}\nfrom kiosk.cli import main\nsys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120)


def _assert_operator_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout == ""
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


def _replace(victim: Path, data: bytes) -> None:
    victim.unlink()  # a symlink to the real file: never write through it
    victim.write_bytes(data)


# --- through `kiosk run` ---------------------------------------------------------------------------

def test_missing_model(models_dir: Path, tmp_path: Path) -> None:
    victim = models_dir / _final_file("sface")
    victim.unlink()
    proc = _run("run", "--headless", "--max-frames", "5", "--config", str(_config(tmp_path, models_dir)))
    _assert_operator_error(proc, f"{victim}: missing", "actual: missing",
                           f"Fix: run `kiosk models fetch --models-dir {models_dir}`")


def test_truncated_model(models_dir: Path, tmp_path: Path) -> None:
    victim = models_dir / _final_file("yunet")
    data = victim.read_bytes()
    _replace(victim, data[: len(data) // 2])  # an interrupted copy to the SD card
    proc = _run("run", "--headless", "--max-frames", "5", "--config", str(_config(tmp_path, models_dir)))
    actual = hashlib.sha256(data[: len(data) // 2]).hexdigest()
    _assert_operator_error(proc, f"{victim}: sha256 mismatch", f"actual {actual}",
                           f"Fix: run `kiosk models fetch --models-dir {models_dir}`")


def test_model_with_wrong_hash(models_dir: Path, tmp_path: Path) -> None:
    victim = models_dir / _final_file("sface")
    data = bytearray(victim.read_bytes())
    data[len(data) // 3] ^= 0x01  # one flipped bit, same size: only the hash can tell
    _replace(victim, bytes(data))
    entry = next(e for e in model_entries() if e.name == "sface")
    proc = _run("run", "--headless", "--max-frames", "5", "--config", str(_config(tmp_path, models_dir)))
    _assert_operator_error(proc, f"{victim}: sha256 mismatch (corrupt or modified)",
                           f"expected sha256 {entry.final_sha256}",
                           f"Fix: run `kiosk models fetch --models-dir {models_dir}`")


def _identity_model(path: Path, input_name: str, input_shape: list[int | str], outputs: list[str]) -> Path:
    """A valid ONNX graph: one float input copied to each named output (enough to load and inspect)."""
    inp = helper.make_tensor_value_info(input_name, TensorProto.FLOAT, input_shape)
    outs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, input_shape) for name in outputs]
    nodes = [helper.make_node("Identity", [input_name], [name], name=f"copy_{name}") for name in outputs]
    model = helper.make_model(helper.make_graph(nodes, "wrong_layout", [inp], outs),
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8  # old enough for every onnxruntime the kiosk supports
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def test_model_with_wrong_input_layout(models_dir: Path, tmp_path: Path) -> None:
    """A valid YuNet look-alike exported channels-last, given the right sha256 by a temporary manifest."""
    victim = models_dir / _final_file("yunet")
    victim.unlink()
    _identity_model(victim, "input", [1, "H", "W", 3], list(OUTPUT_NAMES))
    sha = hashlib.sha256(victim.read_bytes()).hexdigest()
    yunet = next(e for e in model_entries() if e.name == "yunet")
    assert yunet.derived is not None
    manifest = tmp_path / "manifest.yaml"
    text = MODELS_MANIFEST.read_text(encoding="utf-8")
    assert text.count(yunet.derived.sha256) == 1
    manifest.write_text(text.replace(yunet.derived.sha256, sha), encoding="utf-8")
    prelude = f"from pathlib import Path\nimport kiosk.paths\nkiosk.paths.MODELS_MANIFEST = Path({str(manifest)!r})"
    proc = _run("run", "--headless", "--max-frames", "5", "--config", str(_config(tmp_path, models_dir)),
                prelude=prelude)
    _assert_operator_error(proc, f"{victim}: YuNet input 'input' is tensor(float) [1, 'H', 'W', 3]",
                           "channels last", "expected float32 [1, 3, H, W]",
                           f"Fix: run `kiosk models fetch --models-dir {models_dir}`")


# --- the layer that checks shapes, directly ----------------------------------------------------------

@pytest.mark.parametrize(
    ("shape", "outputs", "problem"),
    [
        ([1, "H", "W", 3], OUTPUT_NAMES, r"\[1, 'H', 'W', 3\] \(channels last: an NHWC export\)"),
        ([1, 640, 640, 3], OUTPUT_NAMES, r"\[1, 640, 640, 3\] \(channels last"),
        ([1, 1, "H", "W"], OUTPUT_NAMES, r"\[1, 1, 'H', 'W'\], expected float32 \[1, 3, H, W\]"),
        ([1, 3, 100, 100], OUTPUT_NAMES, r"\[1, 3, 100, 100\], expected .* multiples of 32"),
        ([1, 3, "H"], OUTPUT_NAMES, r"\[1, 3, 'H'\], expected"),
        ([1, 3, "H", "W"], ["fc1"], r"lacks outputs \['cls_8'"),
    ],
)
def test_yunet_rejects_wrong_layouts_naming_file_and_fix(shape: list[int | str], outputs: list[str], problem: str,
                                                         tmp_path: Path) -> None:
    path = _identity_model(tmp_path / "yunet.onnx", "input", shape, list(outputs))
    session = create_session(path, ["CPUExecutionProvider"], 1)
    with pytest.raises(ModelError) as info:
        YuNetDetector(session, 320, 0.75, 0.3, 50, 40)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert re.search(problem, message), message
    assert f"Fix: run `kiosk models fetch --models-dir {tmp_path}`, then `kiosk models verify`" in message


@pytest.mark.parametrize(
    ("shape", "problem"),
    [
        (["N", 112, 112, 3], r"\['N', 112, 112, 3\] \(channels last: an NHWC export\), expected float32 \[N, 3, 112, 112\]"),
        ([1, 1, 112, 112], r"\[1, 1, 112, 112\], expected"),
        ([1, 3, 112, 96], r"\[1, 3, 112, 96\], expected"),
        ([1, 3 * 112 * 112], r"\[1, 37632\], expected"),
    ],
)
def test_sface_rejects_wrong_layouts_naming_file_and_fix(shape: list[int | str], problem: str, tmp_path: Path) -> None:
    path = _identity_model(tmp_path / "sface.onnx", "data", shape, ["fc1"])
    session = create_session(path, ["CPUExecutionProvider"], 1)
    with pytest.raises(ModelError) as info:
        SFaceEmbedder(session)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and re.search(problem, message), message
    assert f"kiosk models fetch --models-dir {tmp_path}" in message


def test_the_real_models_pass_the_layout_checks() -> None:
    _require_models()
    store = ModelStore()
    detector = YuNetDetector(create_session(store.require("yunet"), ["CPUExecutionProvider"], 1), 320, 0.75, 0.3, 50, 40)
    assert detector.detect(np.zeros((48, 64, 3), np.uint8)) == []
    embedder = SFaceEmbedder(create_session(store.require("sface"), ["CPUExecutionProvider"], 1))
    assert embedder.embed([np.zeros((112, 112, 3), np.uint8)]).shape == (1, 128)


def test_a_file_onnxruntime_cannot_load_names_the_fix(tmp_path: Path) -> None:
    """Truncated *and* given a matching hash (a replaced manifest): onnxruntime's error, explained."""
    _require_models()
    good = Path(ModelStore().require("yunet")).read_bytes()
    path = tmp_path / "yunet.onnx"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(ModelError) as info:
        create_session(path, ["CPUExecutionProvider"], 1)
    message = str(info.value)
    assert message.startswith(f"{path}: onnxruntime cannot load it: ")
    assert f"re-create it with `kiosk models fetch --models-dir {tmp_path}`" in message
    assert "\n" not in message


def test_stub_sessions_without_a_path_still_get_the_fix_command() -> None:
    from types import SimpleNamespace

    stub = SimpleNamespace(get_inputs=lambda: [SimpleNamespace(name="input", shape=[1, "H", "W", 3], type="tensor(float)")],
                           get_outputs=lambda: [])
    with pytest.raises(ModelError, match=r"^YuNet input .*Fix: run `kiosk models fetch`, then `kiosk models verify`$"):
        YuNetDetector(stub, 320, 0.75, 0.3, 50, 40)

