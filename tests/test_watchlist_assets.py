"""The shipped default watchlist (assets/watchlist/nasa): every portrait has a name and an agency,
every row its image, and the README states provenance and license."""
from __future__ import annotations

import csv
from pathlib import Path

import cv2

NASA = Path(__file__).resolve().parents[1] / "assets" / "watchlist" / "nasa"


def _rows() -> list[dict[str, str]]:
    with (NASA / "metadata.csv").open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_every_portrait_has_metadata_and_every_row_an_image() -> None:
    rows = _rows()
    assert len(rows) == 134
    listed = {r["path"] for r in rows}
    on_disk = {p.relative_to(NASA).as_posix() for p in (NASA / "images").iterdir() if p.is_file()}
    assert on_disk == listed, f"images without a row: {sorted(on_disk - listed)}; rows without an image: {sorted(listed - on_disk)}"
    for r in rows:
        assert r["name"].strip(), f"{r['path']}: no name"
        assert r["agency"].strip(), f"{r['path']}: no agency"
    assert len({r["name"] for r in rows}) == len(rows), "one portrait per person"


def test_portraits_are_small_face_crops() -> None:
    for r in _rows()[:20]:
        image = cv2.imread(str(NASA / r["path"]))
        assert image is not None and image.shape == (160, 160, 3), r["path"]
        assert (NASA / r["path"]).stat().st_size < 20_000


def test_readme_states_provenance_and_license() -> None:
    text = (NASA / "README.md").read_text(encoding="utf-8").lower()
    for word in ("provenance", "license", "public domain", "17 u.s.c. § 105", "endorsement"):
        assert word in text, f"README lacks {word!r}"
