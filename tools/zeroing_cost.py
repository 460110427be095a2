"""What zeroing the screen's copies of the previous frame costs (docs/PRIVACY.md, "Frame buffers").

``kiosk.ui.image.CameraImage.release`` overwrites the display-size picture, its blurred or
marked copy, the surfaces made from them and the "You" crop with zeros whenever the next camera
frame is converted. This runs the bench's UI phase (``kiosk.bench``: the kiosk's screen alone,
offscreen 1280x720, a new frame and snapshot every draw) in interleaved rounds, A with the
zeroing as shipped (and ``release`` timed), B with a copy of ``release`` that drops the same
buffers without writing zeros, and prints the draw times and the time inside ``release``.
B exists only here, to measure; the kiosk always zeroes.

    PYTHONPATH=. .venv/bin/python tools/zeroing_cost.py --source synthetic:4 --rounds 3
"""
from __future__ import annotations

import argparse
import json
import os
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default="synthetic:4")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ui-frames", type=int, default=600)
    args = ap.parse_args(argv)

    from kiosk.bench.run import _bench_config, _source_for_config, run_bench
    from kiosk.config import load_config
    from kiosk.ui.image import CameraImage

    shipped = CameraImage.release
    spent_ms: list[float] = []

    def timed_release(self: CameraImage) -> None:
        t0 = time.perf_counter()
        shipped(self)
        spent_ms.append((time.perf_counter() - t0) * 1e3)

    def release_without_zeros(self: CameraImage) -> None:
        if self._shown is not None:
            self._shown = None
        self._scratch = None
        self._rgb = self._crop_pixels = None
        self._surface = self._crop = None
        self._key = self._surface_key = self._crop_key = None
        self._frame_index = None

    cfg = _bench_config(_source_for_config(load_config(None), args.source), None)  # as `kiosk bench` prepares it
    rows = []
    for r in range(1, args.rounds + 1):
        for variant, release in (("zeroing (shipped)", timed_release), ("no zeroing", release_without_zeros)):
            spent_ms.clear()
            CameraImage.release = release  # type: ignore[method-assign]
            try:
                rep = run_bench(args.source, cfg, frames=60, naive=False, live_s=0, ui_frames=args.ui_frames)
            finally:
                CameraImage.release = shipped  # type: ignore[method-assign]
            ui = rep["ui"]
            row = {"round": r, "variant": variant, "draw_ms_mean": ui["draw_ms"]["mean"],
                   "draw_ms_p50": ui["draw_ms"]["p50"], "fps": ui["fps"], "faces": ui["faces_mean"],
                   "release_calls": len(spent_ms),
                   "release_ms_mean": round(sum(spent_ms) / len(spent_ms), 4) if spent_ms else None,
                   "load": round(os.getloadavg()[0], 2)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    for variant in ("zeroing (shipped)", "no zeroing"):
        means = sorted(r["draw_ms_mean"] for r in rows if r["variant"] == variant)
        print(f"{variant}: draw mean per round {means}")
    ratios = [a["draw_ms_mean"] / b["draw_ms_mean"] for a, b in zip(rows[::2], rows[1::2])]
    print("draw time ratio zeroing / none per round:", [round(x, 3) for x in ratios])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
