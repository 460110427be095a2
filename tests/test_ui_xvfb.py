"""The real window on a real X server (Xvfb): ``run_window`` opens fullscreen, draws the kiosk,
and the screenshot shows the mirrored camera picture, the privacy banner and the dossier cards.

Needs ``Xvfb`` (Debian package ``xvfb``; CI installs it). Without it the test is skipped on a
developer's machine but fails in CI (``CI`` set), so a missing X server cannot pass silently.
A second screenshot is taken from the X server itself with ImageMagick's ``import`` when that
is installed.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from systemkit import require_tool


pytestmark = [pytest.mark.slow, pytest.mark.system]
REPO = Path(__file__).resolve().parents[1]
SCREEN_W, SCREEN_H = 1024, 768

CHILD = textwrap.dedent("""
    import sys, time
    from types import SimpleNamespace
    import numpy as np
    import pygame
    from kiosk.capture.slot import LatestFrame
    from kiosk.types import Frame
    from kiosk.bench import fake_snapshots as syn
    from kiosk.config import config_from_mapping
    from kiosk.ui.deps import UiDeps
    from kiosk.ui.window import run_window

    shot_path, ready_path = sys.argv[1], sys.argv[2]
    image = np.zeros((480, 640, 3), np.uint8)
    image[:, :320] = (255, 0, 0)   # BGR blue on the camera's left
    image[:, 320:] = (0, 0, 255)   # red on its right
    slot = LatestFrame()
    slot.put(Frame(image, 1, 0.0))
    slot.set_status(True, "test camera")
    face = syn.face_view(1, (380.0, 120.0, 470.0, 230.0), 5, syn.PERSONAS["astronaut"])
    calls = [0]
    start = time.monotonic()

    def running():
        calls[0] += 1
        if calls[0] == 40:
            pygame.image.save(pygame.display.get_surface(), shot_path)
            open(ready_path, "w").write("drawn")
        return time.monotonic() - start < 20.0 and not (calls[0] > 40 and __import__("os").path.exists(ready_path + ".done"))

    pipeline = SimpleNamespace(slot=slot, snapshot=syn.snapshot(1, 0.0, (face,)), running=running)
    cfg = config_from_mapping({"ui": {"arc": False, "fullscreen": True, "lesson_after_s": 3600.0,
                                      "attract_after_s": 3600.0, "max_fps": 30}})
    run_window(cfg, pipeline, deps=UiDeps())
    print("frames", calls[0])
""")


def start_xvfb() -> tuple[subprocess.Popen, str]:
    """Xvfb on a free display number (``-displayfd``: the server picks it and tells us)."""
    r, w = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", f"{SCREEN_W}x{SCREEN_H}x24", "-nolisten", "tcp"],
                            pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(w)
    number = b""
    deadline = time.monotonic() + 15
    while not number.endswith(b"\n") and time.monotonic() < deadline:
        chunk = os.read(r, 16)
        if not chunk:
            break
        number += chunk
    os.close(r)
    if not number.strip():
        proc.kill()
        raise RuntimeError("Xvfb did not report a display number")
    return proc, f":{number.decode().strip()}"


def check_screenshot(rgb: np.ndarray) -> None:
    h, w = rgb.shape[:2]
    assert (w, h) == (SCREEN_W, SCREEN_H)
    banner = rgb[: h // 20]
    # The banner: a dark strip with light text on it.
    assert np.median(banner) < 80 and (banner.min(axis=2) > 200).sum() > 300
    # The mirrored picture: camera-left blue is drawn on the right of the screen, red on the left.
    top = rgb[round(h * 0.08): round(h * 0.2)]  # below the banner, above the face and its card
    left, right = top[:, round(w * 0.06): round(w * 0.25)], top[:, round(w * 0.88): round(w * 0.95)]
    red_left = ((left[..., 0] > 180) & (left[..., 2] < 80)).mean()
    blue_right = ((right[..., 2] > 180) & (right[..., 0] < 80)).mean()
    assert red_left > 0.3 and blue_right > 0.3, (red_left, blue_right)
    # A dossier card: a dark panel with light text over the red half (the face is there, mirrored).
    assert (rgb[h // 4: 3 * h // 4, : w // 2].min(axis=2) > 220).sum() > 200


def test_real_window_under_xvfb(tmp_path: Path) -> None:
    require_tool("Xvfb", "sudo apt-get install -y xvfb (CI runs this test)")
    xvfb, display = start_xvfb()
    try:
        env = dict(os.environ, DISPLAY=display, SDL_VIDEODRIVER="x11", SDL_AUDIODRIVER="dummy",
                   PYGAME_HIDE_SUPPORT_PROMPT="1", PYTHONPATH=str(REPO))
        shot, ready = tmp_path / "window.png", tmp_path / "ready"
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(shot), str(ready)], env=env, cwd=REPO,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 30
            while not ready.exists() and child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            assert ready.exists(), f"window never drew: {child.stderr.read() if child.poll() is not None else 'timeout'}"
            x_shot = None
            if shutil.which("import"):
                grab = subprocess.run(["import", "-display", display, "-window", "root", "png:-"], capture_output=True,
                                      timeout=30)
                if grab.returncode == 0:
                    x_shot = cv2.imdecode(np.frombuffer(grab.stdout, np.uint8), cv2.IMREAD_COLOR)
            (tmp_path / "ready.done").write_text("stop")
            out, err = child.communicate(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
        assert child.returncode == 0, err
        # What pygame drew on the window surface ...
        drawn = cv2.cvtColor(cv2.imread(str(shot)), cv2.COLOR_BGR2RGB)
        check_screenshot(drawn)
        # ... and what the X server shows.
        if x_shot is not None:
            check_screenshot(cv2.cvtColor(x_shot, cv2.COLOR_BGR2RGB))
    finally:
        xvfb.terminate()
        try:
            xvfb.wait(timeout=10)
        except subprocess.TimeoutExpired:
            xvfb.kill()
