"""Colours, line widths and type sizes.

Type is sized from the display height so that it reads the same from two metres on any screen:

* body text: ``H / 30`` (x ``text_scale``). DejaVu Sans' capitals are 0.73 em high, so on a
  43-inch 16:9 display (picture height 0.535 m) a capital letter is 13 mm, 22 arc minutes at
  2 m: the "preferred" character height of ANSI/HFES 100 (20-22'); on a 32-inch display it is
  17', just above that standard's 16' minimum. Smaller screens need ``text_scale`` > 1.
* titles ``1.35 x`` body, the attract headline ``2.6 x`` body;
* small print (sources, technical details for staff) ``0.72 x`` body, never below ``H / 44``:
  it is meant to be read close up, and nothing a visitor needs is only in small print;
* the JSON record ``0.8 x`` body in a monospaced face (a listing, read at arm's length).

Two themes: ``default`` (calm dark panels over the camera image, amber accents) and
``high_contrast`` (opaque black panels, white text, yellow accents, thicker lines). In both,
nothing is conveyed by colour alone: every state also has a word or a shape (dashed box while
identifying, "MATCH" next to a match, a numbered marker for each caveat).
"""
from __future__ import annotations

from dataclasses import dataclass

Colour = tuple[int, int, int]
ColourA = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class Theme:
    """Colours (RGB, panels RGBA) and line widths of one theme."""

    name: str
    background: Colour
    text: Colour
    muted: Colour
    accent: Colour
    accent_text: Colour  # text drawn on an accent-coloured fill
    pending: Colour  # face box while the visitor is still being identified
    alert: Colour  # watchlist matches
    panel: ColourA
    panel_border: Colour
    banner: ColourA
    button: ColourA
    shade: ColourA  # darkens the camera image behind the attract screen
    line_px_per_720: float  # box line width at a 720-px-high screen
    panel_border_px: int


THEMES: dict[str, Theme] = {
    "default": Theme(
        name="default",
        background=(10, 12, 16),
        text=(246, 246, 240),
        muted=(196, 200, 208),
        accent=(255, 190, 70),
        accent_text=(20, 16, 8),
        pending=(150, 200, 255),
        alert=(255, 110, 95),
        panel=(14, 16, 22, 222),
        panel_border=(70, 76, 90),
        banner=(22, 26, 34, 235),
        button=(36, 42, 54, 235),
        shade=(6, 8, 12, 175),
        line_px_per_720=3.0,
        panel_border_px=1,
    ),
    "high_contrast": Theme(
        name="high_contrast",
        background=(0, 0, 0),
        text=(255, 255, 255),
        muted=(255, 255, 255),
        accent=(255, 230, 0),
        accent_text=(0, 0, 0),
        pending=(0, 255, 255),
        alert=(255, 80, 80),
        panel=(0, 0, 0, 255),
        panel_border=(255, 255, 255),
        banner=(0, 0, 0, 255),
        button=(0, 0, 0, 255),
        shade=(0, 0, 0, 215),
        line_px_per_720=4.5,
        panel_border_px=3,
    ),
}


def get_theme(name: str) -> Theme:
    try:
        return THEMES[name]
    except KeyError:
        raise ValueError(f"unknown theme {name!r}; expected one of {', '.join(THEMES)}") from None


@dataclass(frozen=True, slots=True)
class TypeScale:
    """Font sizes in pixels for one screen height (see the module docstring for the rule)."""

    body: int
    title: int
    display: int
    small: int
    mono: int
    pad: int  # inner padding of panels and cards
    gap: int  # space between a face and its card, between cards
    line_px: int  # box and marker line width

    @classmethod
    def for_screen(cls, height_px: int, text_scale: float = 1.0, theme: Theme | None = None) -> TypeScale:
        body = max(12, round(height_px / 30 * text_scale))
        small = max(round(body * 0.72), round(height_px / 44), 10)
        line = (theme.line_px_per_720 if theme else 3.0) * height_px / 720
        return cls(
            body=body,
            title=round(body * 1.35),
            display=round(body * 2.6),
            small=small,
            mono=max(10, round(body * 0.8)),
            pad=max(6, round(body * 0.55)),
            gap=max(6, round(body * 0.5)),
            line_px=max(2, round(line)),
        )
