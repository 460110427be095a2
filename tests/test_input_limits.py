"""Input that cannot exhaust the kiosk: each hostile file ends in one line, quickly, in little memory.

Each case runs in a child process; its exit code, wall time and peak memory (``ru_maxrss`` of the
child, via ``resource.getrusage(RUSAGE_CHILDREN)`` in a fresh wrapper process) are measured. The
time bound is loose (the CI machine is shared; the refusal itself takes milliseconds): 10 s,
against 106 s and minutes for the same files before.

The memory bound is on what the hostile input adds: peak RSS above the same command refusing a
one-line bad file, run just before, at most 30 MB (the old code read the 50 MB file whole and
expanded the aliases to gigabytes). An absolute bound does not hold still: ``ru_maxrss`` counts
the pages of OpenCV's and onnxruntime's libraries mapped at import, 76 MB when those files have
sat in the page cache and 107 MB right after ``pip install`` wrote them (measured on the CI
machine, same wheels), while the input's share is the same few MB either way.
"""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from kiosk.safe_input import image_size

REPO = Path(__file__).resolve().parents[1]
MAX_S = 10.0
MAX_EXTRA_MB = 30

_WRAPPER = r"""
import json, resource, subprocess, sys, time
t = time.monotonic()
p = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=120)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": p.returncode, "s": time.monotonic() - t, "mb": ru.ru_maxrss / 1024,
                  "out": p.stdout, "err": p.stderr}))
"""


def measure(*cmd: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", _WRAPPER, *cmd], cwd=REPO, capture_output=True, text=True,
                          timeout=180, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def kiosk(*args: str) -> dict:
    return measure(sys.executable, "-m", "kiosk", *args)


def lean(result: dict, baseline: dict) -> bool:
    """The hostile run peaked at most MAX_EXTRA_MB above the baseline's peak."""
    return result["mb"] - baseline["mb"] < MAX_EXTRA_MB


def kiosk_baseline(tmp_path: Path, *args: str) -> dict:
    """The same command refusing an ordinary one-line bad configuration."""
    cfg = tmp_path / "baseline.yaml"
    cfg.write_text("no_such_section: 1\n", encoding="utf-8")
    result = kiosk(*[str(cfg) if a == "CONFIG" else a for a in args])
    assert result["rc"] == 2, result["err"][-2000:]
    return result


BILLION_LAUGHS = "".join(
    [f'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n']
    + [f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")])


def _one_line_exit_2(result: dict, baseline: dict) -> None:
    assert result["rc"] == 2, result["err"][-2000:]
    lines = [line for line in result["err"].splitlines() if line.startswith("kiosk: ")]
    assert len(lines) == 1 and "Traceback" not in result["err"], result["err"][-2000:]
    assert result["s"] < MAX_S and lean(result, baseline), (result, baseline["mb"])


RUN = ("run", "--config", "CONFIG", "--headless", "--max-frames", "1")


def test_billion_laughs_config_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "laughs.yaml"
    cfg.write_text(BILLION_LAUGHS, encoding="utf-8")
    assert len(BILLION_LAUGHS) < 400
    result = kiosk("run", "--config", str(cfg), "--headless", "--max-frames", "1")
    _one_line_exit_2(result, kiosk_baseline(tmp_path, *RUN))
    assert "aliases expand" in result["err"]
    result = kiosk("check-config", str(cfg))
    base = kiosk_baseline(tmp_path, "check-config", "CONFIG")
    assert result["rc"] == 2 and result["s"] < MAX_S and lean(result, base), (result, base["mb"])


def test_a_few_aliases_still_work(tmp_path: Path) -> None:
    cfg = tmp_path / "k.yaml"
    cfg.write_text("privacy: &p\n  forget_after_s: 60\nlogging:\n  level: INFO\n", encoding="utf-8")
    assert kiosk("check-config", str(cfg))["rc"] == 0


def test_fifo_config_is_refused_not_waited_for(tmp_path: Path) -> None:
    fifo = tmp_path / "k.yaml"
    os.mkfifo(fifo)
    result = kiosk("run", "--config", str(fifo), "--headless", "--max-frames", "1")
    _one_line_exit_2(result, kiosk_baseline(tmp_path, *RUN))
    assert "FIFO" in result["err"]


def test_dev_zero_config_is_refused_before_reading(tmp_path: Path) -> None:
    result = kiosk("run", "--config", "/dev/zero", "--headless", "--max-frames", "1")
    _one_line_exit_2(result, kiosk_baseline(tmp_path, *RUN))
    assert "character device" in result["err"]


def test_big_config_is_refused_by_its_size(tmp_path: Path) -> None:
    cfg = tmp_path / "big.yaml"
    with open(cfg, "wb") as fh:
        fh.truncate(50 * 1024 * 1024)  # sparse: 50 MB of zeros, nothing of it read
    result = kiosk("check-config", str(cfg))
    base = kiosk_baseline(tmp_path, "check-config", "CONFIG")
    assert result["rc"] == 2 and "MB" in result["err"] and lean(result, base), (result, base["mb"])


def huge_png(path: Path, side: int = 30000) -> None:
    """A valid 1-bit PNG of side x side pixels (a few MB; decodes to 2.7 GB of BGR)."""
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    comp = zlib.compressobj(9)
    data = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
                     + chunk(b"IDAT", data) + chunk(b"IEND", b""))


def test_huge_png_is_skipped_before_decoding(tmp_path: Path) -> None:
    png = tmp_path / "portrait.png"
    huge_png(png)
    assert image_size(png.read_bytes()[:64]) == (30000, 30000)
    code = ("import sys\nfrom pathlib import Path\nfrom kiosk.capture.files import ImageDirSource\n"
            f"src = ImageDirSource(Path({str(tmp_path)!r}), fps=5, realtime=False, loop=False)\n"
            "src.open()\n"
            "try:\n    src.read()\nexcept Exception as exc:\n    print(f'kiosk: {exc}', file=sys.stderr); sys.exit(2)\n")
    result = measure(sys.executable, "-c", code)
    assert result["rc"] in (0, 2), result["err"][-2000:]  # one skipped-file line, no frame
    assert "30000x30000 pixels is more than the 40 million allowed" in result["err"]
    small = tmp_path / "small"  # the baseline: the same reader on a 64x64 picture
    small.mkdir()
    huge_png(small / "portrait.png", side=64)
    base = measure(sys.executable, "-c", code.replace(repr(str(tmp_path)), repr(str(small))))
    assert base["rc"] == 0, base["err"][-2000:]
    assert result["s"] < MAX_S and lean(result, base), (result, base["mb"])


@pytest.mark.parametrize("kind", ["fifo", "dev_zero"])
def test_non_regular_image_and_video_files_are_refused(tmp_path: Path, kind: str) -> None:
    from kiosk.errors import SourceError
    from kiosk.safe_input import decode_image

    if kind == "fifo":
        target = tmp_path / "x.png"
        os.mkfifo(target)
    else:
        target = tmp_path / "x.png"
        target.symlink_to("/dev/zero")
    image, reason = decode_image(target)
    assert image is None and "must be a regular file" in reason
    from kiosk.capture.files import VideoFileSource
    with pytest.raises(SourceError, match="must be a regular file"):
        VideoFileSource(target, realtime=False, loop=False).open()


def test_model_file_that_is_not_regular_is_a_problem_not_a_hang(tmp_path: Path) -> None:
    from kiosk.models import check_file
    fifo = tmp_path / "model.onnx"
    os.mkfifo(fifo)
    problem = check_file(fifo, "0" * 64, "`kiosk models fetch`")
    assert problem is not None and "FIFO" in problem


@pytest.mark.parametrize("fmt", [".png", ".jpg", ".bmp", ".webp", ".gif"])
def test_image_size_from_headers(tmp_path: Path, fmt: str) -> None:
    import cv2
    import numpy as np
    img = np.zeros((37, 53, 3), np.uint8)
    if fmt == ".gif":
        data = b"GIF89a" + struct.pack("<HH", 53, 37) + b"\x00" * 10
    else:
        ok, buf = cv2.imencode(fmt, img)
        assert ok
        data = buf.tobytes()
    assert image_size(data) == (53, 37)
