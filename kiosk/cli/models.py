"""``kiosk models fetch`` and ``kiosk models verify``."""
from __future__ import annotations

import sys
from pathlib import Path

from kiosk.errors import EXIT_OK, EXIT_USAGE, ModelError
from kiosk.models import demo_entries, model_entries, verify
from kiosk.paths import default_demo_dir, default_models_dir


def main_fetch(models_dir: Path | None, demo_dir: Path | None, only: str | None) -> int:
    """``kiosk models fetch``: fetch what is missing or corrupt; 0 ok, 2 problems (printed to stderr)."""
    from kiosk.models.fetch import fetch  # onnx and h5py: only for this command

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
        from kiosk.errors import WatchlistError
        from kiosk.track.watchlist_load import DEFAULT_WATCHLIST, store_embeddings

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
