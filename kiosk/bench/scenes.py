"""Synthetic scenes for benchmarks and soak tests, composited like the demo scene.

Two kinds of workload, both made from the demo photos (``kiosk.models.default_demo_dir()``)
with the demo scene's own room, cut-outs and compositing (this class *is* a
:class:`~kiosk.capture.demo.DemoScene` with a different script):

* :meth:`SyntheticScene.standing` — ``N`` people (1 to 8) standing in front of the kiosk for
  ever, swaying and breathing like the demo's visitors: the steady-state load of a group at
  the screen. Up to 4 stand in one row; 5 to 8 in two rows (a back row of smaller faces above
  a front row), every face at least ~50 px wide at 640x480 so the default detector
  (``detector.input_width`` 320, ``min_face_px`` 40) finds all of them.
* :meth:`SyntheticScene.churn` — visitors continually walking in, standing, walking out and
  coming back, for soak tests. Who appears is scheduled so that the re-identification gallery
  turns over: each person is away, once per cycle, for longer than ``forget_after_s`` (so they
  are forgotten and later re-created), and comes back within it the rest of the time (returns
  and continued visits).

Identity variety and its limits: the five photos show three people (Obama in three photos,
the astronaut, Biden). Each appearance also gets a :class:`~kiosk.capture.demo.Look` (mirror,
colour gain), which makes the *pictures* differ but not, to a face-recognition model, the
*person*: SFace still matches a mirrored, colour-shifted Obama to Obama. The churn script
therefore creates turnover through time (absences longer than the TTL), not through more
identities. More identities would need more photos with a suitable licence.

Spec strings (``parse_spec``): ``synthetic:N`` (N people standing, 1-8) and
``synthetic:churn``. Frames are deterministic for a given index, so two passes over the same
scene (the benchmark's normal and naive modes) see the same pixels.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path

from kiosk.capture.demo import EYE_LEVEL, PLAIN, PORTRAITS, DemoFigure, DemoScene, Look, place_figure
from kiosk.capture.demo_script import REF_H, REF_W
from kiosk.errors import SourceError

__all__ = ["MAX_STANDING", "SyntheticScene", "SyntheticVisit", "parse_spec"]

MAX_STANDING = 8
CHURN_SPRITE_CACHE_BYTES = 16 * 1024 * 1024
# Scripts are written in the demo timeline's 640x480 units (REF_W, REF_H) and scale with the frame.
_WALK_S = 1.0  # time to walk in or out
_OFF_LEFT, _OFF_RIGHT = -170.0, 810.0  # face-centre x at which the whole cut-out is out of view

# Who stands where in the standing scenes, in order of appearance: the five photos, then
# mirrored and colour-shifted versions of them (different pictures, same three people).
_STANDING_CAST: tuple[tuple[str, Look], ...] = (
    ("obama.jpg", PLAIN),
    ("astronaut.png", PLAIN),
    ("biden.jpg", PLAIN),
    ("obama3.jpg", Look(mirror=True)),
    ("obama2.jpg", PLAIN),
    ("astronaut.png", Look(mirror=True, gain_bgr=(0.9, 1.0, 1.12))),
    ("biden.jpg", Look(mirror=True, gain_bgr=(1.1, 1.0, 0.9))),
    ("obama.jpg", Look(mirror=True, gain_bgr=(1.05, 0.95, 0.9))),
)

# The churn scene's people: label -> photos of that person.
_PEOPLE: dict[str, tuple[str, ...]] = {
    "obama": ("obama.jpg", "obama2.jpg", "obama3.jpg"),
    "astronaut": ("astronaut.png",),
    "biden": ("biden.jpg",),
}
_GAINS: tuple[tuple[float, float, float], ...] = (
    (1.0, 1.0, 1.0), (0.9, 1.0, 1.12), (1.1, 1.0, 0.9), (1.05, 0.95, 0.9), (0.92, 0.97, 1.05))


@dataclass(frozen=True, slots=True)
class SyntheticVisit:
    """One appearance: walks in during ``[t_in_s, t_stand_s]``, stands, walks out during
    ``[t_leave_s, t_out_s]`` (all scene seconds; ``inf`` for people who never leave).

    ``cx``/``cy``/``face_h`` are the standing face centre and height in 640x480 units;
    ``side_in``/``side_out`` are -1 (left) or +1 (right).
    """

    photo: str
    look: Look
    t_in_s: float
    t_stand_s: float
    t_leave_s: float
    t_out_s: float
    cx: float
    cy: float
    face_h: float
    side_in: int = -1
    side_out: int = -1
    phase: float = 0.0


def _smooth(u: float) -> float:
    u = min(1.0, max(0.0, u))
    return u * u * (3.0 - 2.0 * u)


class SyntheticScene(DemoScene):
    """A scripted :class:`DemoScene`: same room, cut-outs and compositing, a different cast.

    Build it with :meth:`standing` or :meth:`churn` (or give a script of
    :class:`SyntheticVisit`). ``loop_s`` is the script's period; frames are a pure function
    of the frame index. ``realtime=False`` (the default here) renders as fast as the consumer
    takes frames, for lossless benchmark runs.
    """

    def __init__(self, photos_dir: Path, script: tuple[SyntheticVisit, ...], loop_s: float, *,
                 name: str = "synthetic", width: int = 640, height: int = 480, fps: float = 30.0,
                 realtime: bool = False, loop: bool = True) -> None:
        super().__init__(photos_dir, width=width, height=height, fps=fps, realtime=realtime, loop=loop)
        if not loop_s > 0:
            raise ValueError(f"loop_s must be > 0, got {loop_s!r}")
        self.script = script
        self.loop_s = float(loop_s)
        self.loop_frames = max(1, round(self.loop_s * self.fps))
        self.name = name

    # --- constructors ------------------------------------------------------------------------------

    @classmethod
    def standing(cls, photos_dir: Path, faces: int, *, width: int = 640, height: int = 480,
                 fps: float = 30.0, realtime: bool = False) -> SyntheticScene:
        """``faces`` people (1 to 8) standing in view for the whole run (see the module docstring)."""
        if not 1 <= faces <= MAX_STANDING:
            raise ValueError(f"a standing scene has 1 to {MAX_STANDING} faces, got {faces}")
        rows: list[list[int]]
        if faces <= 4:
            rows = [list(range(faces))]
            sizes, centres_y = [{1: 130.0, 2: 120.0, 3: 110.0, 4: 100.0}[faces]], [EYE_LEVEL * REF_H]
        else:
            back = (faces + 1) // 2
            rows = [list(range(back)), list(range(back, faces))]
            # Back row smaller and higher; the front row low enough that its hair stays below
            # the back row's chins (faces never overlap), its bodies hidden by the counter.
            sizes, centres_y = [72.0, 92.0], [158.0, 292.0]
        script: list[SyntheticVisit] = []
        for r, members in enumerate(rows):
            for j, who in enumerate(members):
                photo, look = _STANDING_CAST[who]
                fh = sizes[r]
                cx = REF_W * (j + 0.5) / len(members)
                cy = centres_y[r] + PORTRAITS[photo].person_dy * fh
                script.append(SyntheticVisit(photo, look, 0.0, 0.0, math.inf, math.inf, cx, cy, fh,
                                             phase=1.7 * who))
        return cls(photos_dir, tuple(script), loop_s=600.0, name=f"synthetic:{faces}", width=width,
                   height=height, fps=fps, realtime=realtime)

    @classmethod
    def churn(cls, photos_dir: Path, forget_after_s: float, *, max_missing_s: float = 1.0,
              width: int = 640, height: int = 480, fps: float = 30.0, realtime: bool = False,
              cycles: int = 3, seed: int = 0) -> SyntheticScene:
        """Visitors continually coming and going, scheduled so the gallery turns over.

        The script runs in epochs of ``forget_after_s + max_missing_s + 3`` seconds; each of
        the three people is present (coming and going, in varying photos and looks) for two
        consecutive epochs and away for the third, which is longer than the time after which
        the kiosk forgets them. So once per 3-epoch cycle each person is forgotten and later
        becomes a new visitor, and within their epochs they leave and return (returns within
        ``visit_gap_s`` continue a visit; longer gaps are "welcome back" visits). ``cycles``
        cycles with different random draws make the loop.
        """
        if not forget_after_s > 0:
            raise ValueError(f"forget_after_s must be > 0, got {forget_after_s!r}")
        rng = random.Random(seed)
        epoch_s = forget_after_s + max_missing_s + 3.0
        labels = tuple(_PEOPLE)
        slot_x = {"obama": 170.0, "astronaut": 330.0, "biden": 480.0}
        script: list[SyntheticVisit] = []
        for c in range(cycles):
            for k, label in enumerate(labels):
                # Present in epochs k and k+1 of this cycle (mod 3): away for one whole epoch.
                start = (c * 3 + k) * epoch_s
                end = start + 2 * epoch_s
                t = start + rng.uniform(0.2, 1.5)
                while True:
                    stand = rng.uniform(1.5, 4.0)
                    t_out = t + 2 * _WALK_S + stand
                    if t_out > end - 0.2:
                        break
                    photo = rng.choice(_PEOPLE[label])
                    look = Look(mirror=rng.random() < 0.5, gain_bgr=rng.choice(_GAINS))
                    fh = rng.uniform(100.0, 135.0)
                    script.append(SyntheticVisit(
                        photo, look, t, t + _WALK_S, t + _WALK_S + stand, t_out,
                        cx=slot_x[label] + rng.uniform(-25.0, 25.0),
                        cy=EYE_LEVEL * REF_H + PORTRAITS[photo].person_dy * fh, face_h=fh,
                        side_in=rng.choice((-1, 1)), side_out=rng.choice((-1, 1)),
                        phase=rng.uniform(0.0, 6.0)))
                    t = t_out + rng.uniform(0.5, 5.0)
        # Wrap the last cycle's third person (epochs 2 and 3 of the last cycle) into the first
        # epoch: the loop is periodic, so every person's absence is exactly one epoch long.
        loop_s = cycles * 3 * epoch_s
        wrapped = tuple(
            v if v.t_out_s <= loop_s else SyntheticVisit(
                v.photo, v.look, v.t_in_s - loop_s, v.t_stand_s - loop_s, v.t_leave_s - loop_s,
                v.t_out_s - loop_s, v.cx, v.cy, v.face_h, v.side_in, v.side_out, v.phase)
            for v in script)
        scene = cls(photos_dir, wrapped, loop_s=loop_s, name="synthetic:churn", width=width,
                    height=height, fps=fps, realtime=realtime)
        # A soak measures the kiosk's memory, so the scene's own must level off early: walking
        # visitors need a new sprite size every frame, and the demo's 48 MB cache would still be
        # filling long after the warm-up. 16 MB holds everyone standing (a miss costs ~1 ms).
        scene.sprite_cache_bytes = CHURN_SPRITE_CACHE_BYTES
        return scene

    # --- script queries ----------------------------------------------------------------------------

    def figures_at(self, t_s: float) -> list[DemoFigure]:
        """Everyone on the script at scene time ``t_s`` (wrapped to the loop), unclipped."""
        if self.loop:
            t_s = t_s % self.loop_s
        sx, sy = self.width / REF_W, self.height / REF_H
        return [self._figure(v, t_s, sx, sy) for v in self.script if v.t_in_s <= t_s <= v.t_out_s]

    def visits_between(self, t0_s: float, t1_s: float) -> int:
        """How many appearances overlap ``[t0_s, t1_s]`` (scene seconds, not wrapped to the loop).

        An upper bound for how many visitors the kiosk can have met in that window (a track
        broken in two could make two, but then the second joins the first's visitor).
        """
        shifts = [0.0]
        if self.loop:
            k0, k1 = math.floor(t0_s / self.loop_s) - 1, math.floor(t1_s / self.loop_s) + 1
            shifts = [k * self.loop_s for k in range(k0, k1 + 1)]
        n = 0
        for v in self.script:
            if math.isinf(v.t_out_s):  # never leaves: one appearance whatever the window
                n += int(v.t_in_s <= t1_s)
                continue
            n += sum(1 for s in shifts if v.t_in_s + s <= t1_s and v.t_out_s + s >= t0_s)
        return n

    def _figure(self, v: SyntheticVisit, t: float, sx: float, sy: float) -> DemoFigure:
        tl = t - v.t_in_s
        walking = False
        if t < v.t_stand_s:  # walking in: from beyond the frame edge, growing as they approach
            u = _smooth((t - v.t_in_s) / max(v.t_stand_s - v.t_in_s, 1e-6))
            start_x = _OFF_LEFT if v.side_in < 0 else _OFF_RIGHT
            cx, fh = start_x + (v.cx - start_x) * u, v.face_h * (0.85 + 0.15 * u)
            walking = u < 0.9
        elif t > v.t_leave_s:
            u = _smooth((t - v.t_leave_s) / max(v.t_out_s - v.t_leave_s, 1e-6))
            end_x = _OFF_LEFT if v.side_out < 0 else _OFF_RIGHT
            cx, fh = v.cx + (end_x - v.cx) * u, v.face_h * (1.0 - 0.15 * u)
            walking = u > 0.1
        else:
            cx, fh = v.cx, v.face_h
        # The demo scene's idle motion: weight shifts, breathing, a step bob while walking.
        ph = v.phase
        sway = 0.03 * math.sin(2 * math.pi * 0.21 * tl + ph) + 0.012 * math.sin(2 * math.pi * 0.57 * tl + 2 * ph)
        bob = 0.012 * math.sin(2 * math.pi * 0.33 * tl + ph)
        if walking:
            bob -= 0.03 * abs(math.sin(math.pi * 1.8 * tl))
        scale = 1.0 + 0.018 * math.sin(2 * math.pi * 0.15 * tl + 3 * ph)
        return place_figure(v.photo, (cx + sway * fh) * sx, (v.cy + bob * fh) * sy, fh * scale * sy,
                            walking=walking, look=v.look)


def parse_spec(spec: str) -> int | str | None:
    """``synthetic:N`` -> N (1-8), ``synthetic:churn`` -> ``"churn"``, other specs -> None.

    Raises ``SourceError`` for a malformed ``synthetic:`` spec.
    """
    kind, sep, arg = spec.strip().partition(":")
    if kind != "synthetic":
        return None
    arg = arg.strip()
    if arg == "churn":
        return "churn"
    if sep and arg.isascii() and arg.isdigit() and 1 <= int(arg) <= MAX_STANDING:
        return int(arg)
    raise SourceError(f"synthetic source '{spec}': expected synthetic:N with N from 1 to {MAX_STANDING} "
                      f"(people standing in view) or synthetic:churn (visitors coming and going)")
