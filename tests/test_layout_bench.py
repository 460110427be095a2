"""``kiosk bench --layout``: the demo through the real analysis and screen, every frame checked."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.capture.demo import DemoScene
from kiosk.models import default_demo_dir, default_models_dir

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    bool(DemoScene.missing_photos(default_demo_dir()))
    or not (default_models_dir() / "face_recognition_sface_2021dec_stripped.onnx").is_file(),
    reason="models or demo photos not fetched (run `make setup`)")


def test_layout_bench_on_the_demo_reports_zero_violations(tmp_path: Path) -> None:
    out = tmp_path / "layout.json"
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy", PYTHONPATH=str(REPO))
    run = subprocess.run([sys.executable, "-m", "kiosk", "bench", "--layout", "--source", "demo", "--frames", "150",
                          "--json", "--output", str(out)], env=env, cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    lay = json.loads(out.read_text())["layout"]
    assert lay["frames"] == 150 and lay["faces_max"] >= 1 and lay["cards_max"] >= 1
    assert set(lay["violations"]) == {"total", "face_covered", "overlap", "clipped", "crossing_leader"}
    assert lay["violations"]["total"] == 0, lay["first_violations"]
    assert json.loads(run.stdout)["layout"]["frames"] == 150
