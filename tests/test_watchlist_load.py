"""Loading a watchlist folder: bad files skipped with one reason each, the largest face used, the
derived embeddings file trusted only when its key and sha256 match, background loading."""
from __future__ import annotations

import logging
import struct
import zlib
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from kiosk.track.watchlist import portrait_detector
from kiosk.track.watchlist_load import (
    BackgroundLoader,
    cache_file,
    embed_folder,
    folder_key,
    load_cache,
    read_portrait,
    write_cache,
)
from modelkit import photo, photo_path, session


@pytest.fixture(scope="module")
def embedder() -> Any:
    from kiosk.infer.embed import SFaceEmbedder

    return SFaceEmbedder(session("sface"))


@pytest.fixture(scope="module")
def detector() -> Any:
    return portrait_detector(session("yunet"))


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR declaring ``width`` x ``height``, with one tiny IDAT: a few
    hundred bytes that would decode to width x height x 3 bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")


@pytest.fixture()
def bad_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "watchlist"
    folder.mkdir()
    (folder / "Barack_Obama.jpg").write_bytes(photo_path("obama.jpg").read_bytes())
    (folder / "copy_of_obama.jpg").write_bytes(photo_path("obama.jpg").read_bytes())
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "garbage.jpg").write_bytes(b"\xff\xd8\xff" + bytes(range(256)) * 4)
    (folder / "bomb.png").write_bytes(png_header_only(30_000, 30_000))
    cv2.imwrite(str(folder / "wall.png"), np.full((240, 320, 3), 128, np.uint8))
    # Two faces: the astronaut small on the left, Biden large on the right: Biden's is used.
    small = cv2.resize(photo("astronaut.png"), (256, 256))
    big = cv2.resize(photo("biden.jpg"), (330, 750))
    canvas = np.full((750, 600, 3), 40, np.uint8)
    canvas[:256, :256] = small
    canvas[:, 270:600] = big
    cv2.imwrite(str(folder / "Two_People.jpg"), canvas)
    return folder


def test_bad_files_are_skipped_with_one_line_each(bad_folder: Path, detector: Any, embedder: Any,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="kiosk.track.watchlist_load"):
        names, rels, matrix, report = embed_folder(bad_folder, detector, embedder)
    assert report.total == 7 and report.loaded == 2 and matrix is not None and matrix.shape == (2, 128)
    assert sorted(names) == ["Barack Obama", "Two People"]
    reasons = dict(report.skipped)
    assert reasons.keys() == {"copy_of_obama.jpg", "empty.jpg", "garbage.jpg", "bomb.png", "wall.png"}
    assert reasons["copy_of_obama.jpg"].startswith("duplicate of Barack_Obama.jpg")
    assert reasons["empty.jpg"].startswith("empty file")
    assert reasons["garbage.jpg"].startswith("not a readable image")
    assert "decompression bomb" in reasons["bomb.png"] and "30000 x 30000" in reasons["bomb.png"]
    assert reasons["wall.png"] == "no face found"
    lines = [r.getMessage() for r in caplog.records]
    for rel in reasons:  # exactly one log line per skipped file, naming it and the reason
        mine = [ln for ln in lines if rel in ln and "skipped" in ln]
        assert len(mine) == 1 and reasons[rel] in mine[0], (rel, lines)
    # The portrait with two faces is embedded from the larger one (Biden), not the astronaut.
    from kiosk.track.watchlist import embed_detection, largest_face

    ref = {}
    for who in ("biden.jpg", "astronaut.png"):
        image = photo(who)
        ref[who] = embed_detection(image, largest_face(detector.detect(image)), embedder)
    two = matrix[names.index("Two People")]
    cos = {k: float(two @ v / np.linalg.norm(two) / np.linalg.norm(v)) for k, v in ref.items()}
    assert cos["biden.jpg"] > 0.6 > cos["astronaut.png"], cos


def test_header_is_checked_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(100_000, 100_000))
    image, data, reason = read_portrait(path)
    assert image is None and len(data) < 2000 and "not decoded" in reason


def test_derived_file_is_used_only_when_key_and_sha256_match(tmp_path: Path, detector: Any, embedder: Any) -> None:
    folder = tmp_path / "wl"
    folder.mkdir()
    for name in ("obama.jpg", "biden.jpg"):
        (folder / name).write_bytes(photo_path(name).read_bytes())
    models_dir = tmp_path / "models"
    key = folder_key(folder, ("a" * 64, "b" * 64))
    names, rels, matrix, report = embed_folder(folder, detector, embedder)
    path = write_cache(models_dir, key, names, rels, matrix, report)
    assert path == cache_file(models_dir, key)
    loaded = load_cache(models_dir, key)
    assert loaded is not None and loaded[0] == names and np.array_equal(loaded[1], matrix)
    # Another model (or changed portraits) means another key: the file is not used.
    assert load_cache(models_dir, folder_key(folder, ("c" * 64, "b" * 64))) is None
    (folder / "obama.jpg").write_bytes(photo_path("obama2.jpg").read_bytes())
    assert folder_key(folder, ("a" * 64, "b" * 64)) != key
    # A damaged file (embeddings changed, sha256 stored inside no longer matches) is refused.
    with np.load(path) as z:
        parts = dict(z)
    parts["embeddings"] = parts["embeddings"] + 0.01
    np.savez(path, **parts)
    assert load_cache(models_dir, key) is None


def test_background_loader_starts_at_once_and_fills_in(tmp_path: Path, embedder: Any) -> None:
    folder = tmp_path / "wl"
    folder.mkdir()
    for name in ("obama.jpg", "biden.jpg", "astronaut.png"):
        (folder / name).write_bytes(photo_path(name).read_bytes())
    got: list[Any] = []
    loader = BackgroundLoader(folder, tmp_path / "models", ("a" * 64, "b" * 64),
                              lambda: portrait_detector(session("yunet")), embedder, None)
    loader.attach(got.append)
    assert loader.thread is not None  # no derived file: embedding runs in the background
    assert loader.wait(120.0)
    st = loader.status()
    assert not st.loading and st.loaded == 3 and st.total == 3 and st.skipped == 0
    assert len(got) == 1 and got[0].size == 3


def test_shipped_watchlist_loads_from_its_derived_file_fast(tmp_path: Path, detector: Any, embedder: Any) -> None:
    """The start-up path of `make demo`: the derived file is made once (as `kiosk models fetch`
    does), then the kiosk loads 134 portraits without embedding any."""
    import time

    from kiosk.models import ModelStore, default_models_dir
    from kiosk.track.watchlist_load import DEFAULT_WATCHLIST, model_hashes

    hashes = model_hashes(ModelStore(default_models_dir()))
    key = folder_key(DEFAULT_WATCHLIST, hashes)
    names, rels, matrix, report = embed_folder(DEFAULT_WATCHLIST, detector, embedder)
    assert report.loaded == report.total == 134, report.skipped
    write_cache(tmp_path, key, names, rels, matrix, report)
    started = time.perf_counter()
    loader = BackgroundLoader(DEFAULT_WATCHLIST, tmp_path, hashes, lambda: None, embedder, None)
    assert loader.thread is None and loader.watchlist is not None and loader.watchlist.size == 134
    assert time.perf_counter() - started < 1.0
    # Eileen Collins' official portrait is on it: the demo's astronaut is a true match.
    from kiosk.track.watchlist import embed_detection, largest_face

    image = photo("astronaut.png")
    top = loader.watchlist.search(embed_detection(image, largest_face(detector.detect(image)), embedder), 0.5, 3)
    assert top[0].name == "Eileen Collins" and top[0].score > 0.8 and top[1].score < 0.5
