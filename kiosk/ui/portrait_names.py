"""How a watchlist portrait is called on screen: its name, or "Portrait 17" when the operator
hides names (``watchlist.show_names: false``).

One policy for every place a portrait is named (dossier card, arc watchlist screen, take-home
record, threshold lesson), so hiding names cannot miss one of them. Thumbnails are still looked
up by the real name; only the words change.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from kiosk.ui.i18n import Strings


@dataclass(frozen=True)
class PortraitNames:
    show_names: bool = True
    numbers: Mapping[str, int] = field(default_factory=dict)  # name -> 1-based number

    @classmethod
    def from_deps(cls, deps: Any) -> "PortraitNames":
        return cls(bool(getattr(deps, "show_names", True)), dict(getattr(deps, "portrait_numbers", {}) or {}))

    def label(self, strings: Strings, name: str) -> str:
        if self.show_names:
            return name
        return strings.get("lesson.threshold.portrait", n=strings.number(self.numbers.get(name, 0)))


SHOW_NAMES = PortraitNames()
