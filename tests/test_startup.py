"""Start-up: the visitor's picture comes before the models are loaded (issue 17, item 3).

`kiosk run` hands the pipeline a build function: the camera opens and the screen shows it while
the inference thread loads the models. The demo scene cuts its photos out in the background,
first needed first. MediaPipe is imported without matplotlib. Speed is measured by
`kiosk bench` (startup.first_picture_s) and written in docs/PERFORMANCE.md; these tests check
the behaviour that makes it fast, never a timing.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from kiosk.analysis.analyzer import FaceAnalyzer
from kiosk.config import config_from_mapping
from kiosk.errors import ModelError
from kiosk.pipeline import Pipeline
from kiosk.types import Frame

REPO = Path(__file__).resolve().parent.parent


class _Source:
    name = "fake"

    def __init__(self) -> None:
        self.fps, self.realtime, self.i = 100.0, True, 0

    def open(self) -> None:
        pass

    def read(self) -> np.ndarray:
        self.i += 1
        time.sleep(0.01)
        return np.full((120, 160, 3), 128, dtype=np.uint8)

    def close(self) -> None:
        pass


def test_frames_flow_while_the_analyzer_is_being_built() -> None:
    release = threading.Event()
    built: list[str] = []

    def build() -> FaceAnalyzer:
        release.wait(10)
        built.append(threading.current_thread().name)
        return FaceAnalyzer(config_from_mapping({}), lambda image: [], None)

    p = Pipeline(config_from_mapping({}), build=build, source_factory=_Source)
    p.start()
    try:
        deadline = time.monotonic() + 10
        while p.slot.peek() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        # A picture to show, nothing analysed, no analyzer yet.
        assert isinstance(p.slot.peek(), Frame)
        assert p.analyzer is None and not p.analysis_ready.is_set() and p.snapshot is None
        p.request_consent(None)  # nobody can be waiting yet: a no-op, not an error
        release.set()
        assert p.analysis_ready.wait(10)
        deadline = time.monotonic() + 10
        while p.snapshot is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert p.snapshot is not None and p.analyzer is not None
        assert built == ["inference"]  # built on the thread that owns it
    finally:
        release.set()
        p.stop()
    assert p.error is None


def test_an_analyzer_that_cannot_be_built_stops_the_pipeline_with_its_error() -> None:
    def build() -> FaceAnalyzer:
        raise ModelError("models/files/x.onnx: missing. Fix: run kiosk models fetch")

    p = Pipeline(config_from_mapping({}), build=build, source_factory=_Source)
    p.start()
    assert p.inference.done.wait(10)
    p.stop()
    assert isinstance(p.error, ModelError) and p.error.exit_code == 2
    assert p.analyzer is None and not p.analysis_ready.is_set()


def test_pipeline_takes_an_analyzer_or_a_build_function_not_both() -> None:
    analyzer = FaceAnalyzer(config_from_mapping({}), lambda image: [], None)
    with pytest.raises(ValueError):
        Pipeline(config_from_mapping({}), analyzer, source_factory=_Source, build=lambda: analyzer)
    with pytest.raises(ValueError):
        Pipeline(config_from_mapping({}), source_factory=_Source)


def test_needed_models_lists_what_the_analyzer_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """`kiosk run` checks these files before anything starts; it must be what the build asks for."""
    from kiosk.analysis.build import build_analyzer, needed_models
    from kiosk.models import ModelStore

    asked: list[str] = []
    original = ModelStore.require

    def spy(self: ModelStore, name: str) -> Path:
        asked.append(name)
        return original(self, name)

    monkeypatch.setattr(ModelStore, "require", spy)
    for overrides in ({}, {"attributes": {"age": False, "expression": False, "mesh": False}},
                      {"recognition": {"enabled": False}, "watchlist": {"enabled": False}}):
        cfg = config_from_mapping(overrides)
        asked.clear()
        analyzer = build_analyzer(cfg, ModelStore(cfg.runtime.models_dir_resolved))
        analyzer.close()
        assert set(asked) == set(needed_models(cfg)), overrides


def test_missing_model_is_found_before_anything_starts(tmp_path: Path) -> None:
    from kiosk.cli.run import analyzer_builder

    cfg = config_from_mapping({"runtime": {"models_dir": str(tmp_path)}})
    with pytest.raises(ModelError, match="missing.*kiosk models fetch"):
        analyzer_builder(cfg)


# --- the demo scene ------------------------------------------------------------------------------

def test_demo_photos_are_cut_out_in_the_order_the_scene_shows_them() -> None:
    from kiosk.capture.demo import DemoScene
    from kiosk.paths import default_demo_dir

    order = DemoScene(default_demo_dir()).photo_order()
    assert order[:2] == ["obama.jpg", "astronaut.png"]  # in view at 0 s and 1.5 s
    assert order.index("biden.jpg") > order.index("obama2.jpg")  # 22.6 s after 6.5 s


def test_the_first_demo_frame_waits_only_for_the_photos_it_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    import kiosk.capture.demo_cutouts as cutouts
    from kiosk.capture.demo import DemoScene
    from kiosk.paths import default_demo_dir

    hold = threading.Event()
    real = cutouts.load_portrait
    started: list[str] = []

    def load(path: Path, spec, master_px: int, photo=None):  # noqa: ANN001, ANN202
        started.append(path.name)
        if path.name != "obama.jpg":
            hold.wait(10)  # every later photo stays "in preparation" until released
        return real(path, spec, master_px, photo)

    monkeypatch.setattr(cutouts, "load_portrait", load)
    scene = DemoScene(default_demo_dir(), 640, 480, fps=30, realtime=False)
    scene.open()
    try:
        first = scene.read()  # only Obama is on the timeline at 0 s
        assert first is not None and first.shape == (480, 640, 3)
        assert started[0] == "obama.jpg" and not hold.is_set()
        assert "biden.jpg" not in started  # the thread is still held on the second photo
    finally:
        hold.set()
        scene.close()
    # close() joined the preparation thread: nothing is left running inside OpenCV.
    assert not [t for t in threading.enumerate() if t.name == "demo-cutouts"]


def test_a_corrupt_demo_photo_still_fails_with_the_fixing_command(tmp_path: Path) -> None:
    from kiosk.capture.demo import PORTRAITS, DemoScene
    from kiosk.paths import default_demo_dir

    for name in PORTRAITS:
        (tmp_path / name).write_bytes((default_demo_dir() / name).read_bytes())
    (tmp_path / "obama.jpg").write_bytes(b"not a jpeg")
    scene = DemoScene(tmp_path, 640, 480, fps=30, realtime=False)
    scene.open()
    try:
        with pytest.raises(ModelError, match="cannot be decoded.*kiosk models fetch"):
            scene.read()
    finally:
        scene.close()


# --- mediapipe without matplotlib ----------------------------------------------------------------

def test_mediapipe_face_mesh_is_imported_without_matplotlib(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from kiosk.infer.mesh import import_face_mesh\n"
        "fm = import_face_mesh()\n"
        "assert hasattr(fm, 'FaceMesh')\n"
        "print('matplotlib' in sys.modules, 'matplotlib.pyplot' in sys.modules)\n"
        "from mediapipe.python.solutions import drawing_utils\n"
        "try:\n"
        "    drawing_utils.plt.figure\n"
        "except AttributeError as exc:\n"
        "    print('placeholder:', exc)\n"
        "import matplotlib.pyplot as plt\n"  # whoever needs matplotlib later gets the real one
        "print(callable(plt.figure))\n"
    )
    env = dict(os.environ, MPLCONFIGDIR=str(tmp_path / "mpl"), PYTHONPATH=str(REPO))
    (tmp_path / "mpl").mkdir()
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "False False"
    assert lines[1].startswith("placeholder: matplotlib.figure") and "kiosk.infer.mesh" in lines[1]
    assert lines[2] == "True"


def test_kiosk_run_does_not_import_the_evaluation_code() -> None:
    code = ("import sys\nfrom kiosk.cli import _parser\n"
            "args = _parser(for_run=True).parse_args(['run', '--headless'])\n"
            "print(args.command, 'kiosk.cli.eval' in sys.modules, 'kiosk.eval' in sys.modules)\n"
            "_parser().parse_args(['eval', 'lfw', '--root', 'x'])\n"
            "print('kiosk.cli.eval' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["run", "False", "False", "True"]


# --- the screen ----------------------------------------------------------------------------------

def _stripes() -> Frame:
    image = np.zeros((240, 320, 3), np.uint8)
    image[:, ::2] = 255  # one-pixel stripes: any pixelation averages them away
    return Frame(image, 0, 0.0)


def _picture(blur_faces: bool) -> np.ndarray:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    import pygame

    from kiosk.types import SourceStatus
    from kiosk.config import UiConfig
    from kiosk.ui.app import KioskApp

    pygame.init()
    surface = pygame.Surface((640, 360))
    app = KioskApp((640, 360), UiConfig(blur_faces=blur_faces, arc=False))
    app.update(1.0, _stripes(), SourceStatus(True, "ok", 0.0, 0), None)  # no snapshot: nothing analysed yet
    app.render(surface, 1.0, settle=True)
    x, y, w, h = app.record.image
    return pygame.surfarray.array3d(surface)[x + w // 4:x + 3 * w // 4, y + h // 4:y + 3 * h // 4]


def test_before_the_first_analysis_blur_faces_pixelates_the_whole_picture() -> None:
    plain, blurred = _picture(False), _picture(True)
    # Unblurred, the stripes survive the scaling as strong column-to-column contrast; pixelated,
    # neighbouring columns are equal within each block.
    assert np.abs(np.diff(plain.astype(int), axis=0)).mean() > 40
    assert np.abs(np.diff(blurred.astype(int), axis=0)).mean() < 0.3 * np.abs(np.diff(plain.astype(int), axis=0)).mean()


def test_the_window_takes_the_screen_collaborators_once_the_analyzer_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    from kiosk.capture.slot import LatestFrame
    from kiosk.ui.deps import UiDeps
    from kiosk.ui.loop import run_window

    slot = LatestFrame()
    slot.set_status(True, "ok")
    slot.put(_stripes())
    steps = {"n": 0}

    class Feed:
        snapshot = None

        def __init__(self) -> None:
            self.slot = slot
            self.analyzer = None

        def running(self) -> bool:
            steps["n"] += 1
            if steps["n"] == 3:
                self.analyzer = SimpleNamespace(name="built")
            return steps["n"] < 6

    made: list[object] = []
    seen: list[UiDeps] = []
    import kiosk.ui.loop as loop_mod
    real_open = loop_mod.open_screen

    def open_screen(*a, **k):  # noqa: ANN002, ANN003, ANN202
        loop = real_open(*a, **k)
        real_set = loop.app.set_deps
        loop.app.set_deps = lambda deps: (seen.append(deps), real_set(deps))  # type: ignore[method-assign]
        return loop

    monkeypatch.setattr(loop_mod, "open_screen", open_screen)
    ui = config_from_mapping({"ui": {"fullscreen": False, "width": 320, "height": 240}})
    deps = UiDeps(watchlist_size=7)
    run_window(ui, Feed(), deps_when_ready=lambda analyzer: (made.append(analyzer), deps)[1])
    assert [getattr(a, "name", None) for a in made] == ["built"]  # once, with the built analyzer
    assert seen == [deps]
