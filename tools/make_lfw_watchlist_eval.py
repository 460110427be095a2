#!/usr/bin/env python3
"""Build a 1:N test set (gallery folder + probe list) for ``kiosk eval watchlist`` from LFW.

    .venv/bin/python tools/make_lfw_watchlist_eval.py --lfw ../shared/evaldata/lfw --out /tmp/lfw_watchlist

The data stays where it is (never in the repository): the gallery is a folder of symbolic links
into the LFW folder, and ``probes.csv`` lists absolute paths.

Split (deterministic, sorted by name):

- every person with at least 2 images: the first image goes into the gallery
  (``gallery/<Person>/<file>``; the person is the sub-folder), the others become **mated**
  probes (``path,person``);
- every person with exactly 1 image: a **non-mated** probe (``path,`` with the person empty),
  i.e. someone who is not on the watchlist;
- with ``--strangers DIR`` (e.g. ``../shared/evaldata/lfw_calib``, whose people are in no LFW
  fold and so never in the gallery): each image listed in ``DIR/images.csv`` is one more
  non-mated probe, so that FPIR 0.1 % can be resolved (it needs at least 1,000 non-mated searches).

From the developer folds (2,320 images of 1,241 people) plus lfw_calib (1,549 images): a gallery
of 450 people, 1,079 mated and 2,340 non-mated probes.
"""
from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lfw", type=Path, required=True, help="LFW folder (<root>/lfw/<Person>/*.jpg)")
    ap.add_argument("--out", type=Path, required=True, help="output folder (outside the repository)")
    ap.add_argument("--strangers", type=Path, action="append", default=[],
                    help="folder with images.csv (path,person) whose images become non-mated probes")
    args = ap.parse_args(argv)
    base = args.lfw / "lfw" if (args.lfw / "lfw").is_dir() else args.lfw
    people: dict[str, list[Path]] = defaultdict(list)
    for img in sorted(base.glob("*/*.jpg")):
        people[img.parent.name].append(img.resolve())
    gallery = args.out / "gallery"
    gallery.mkdir(parents=True, exist_ok=True)
    rows = []
    n_gallery = 0
    for person, images in sorted(people.items()):
        if len(images) >= 2:
            link = gallery / person / images[0].name
            link.parent.mkdir(exist_ok=True)
            if not link.exists():
                link.symlink_to(images[0])
            n_gallery += 1
            rows += [(str(p), person) for p in images[1:]]
        else:
            rows.append((str(images[0]), ""))
    for folder in args.strangers:
        with (folder / "images.csv").open(newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                if r["person"] in people:
                    raise SystemExit(f"{folder}: {r['person']} is also in the gallery folder; not a stranger")
                rows.append((str((folder / r["path"]).resolve()), ""))
    with (args.out / "probes.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["path", "person"])
        w.writerows(rows)
    mated = sum(1 for _, p in rows if p)
    print(f"gallery: {n_gallery} people; probes: {mated} mated, {len(rows) - mated} non-mated -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
