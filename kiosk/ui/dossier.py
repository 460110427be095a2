"""The words on a dossier card, built from one ``FaceView`` (no drawing here).

A card has a title ("Visitor 0042") and lines; every line that is a guess carries the marker
number of its caveat (``kiosk.ui.caveats``). Three detail levels let the layout shrink cards
when the screen is crowded: full (every line), compact (the headline guesses), name only.
A guess that is not available yet says so ("estimating…") rather than disappearing, so the
card does not jump in height while the estimators warm up; a guess the kiosk does not make at
all (watchlist off) is simply absent.
"""
from __future__ import annotations

from dataclasses import dataclass

from kiosk.infer.uncertainty import expression_word, shown_age_range, shown_probability
from kiosk.types import Attributes, FaceView
from kiosk.ui.caveats import marker
from kiosk.ui.i18n import Strings
from kiosk.ui.portrait_names import SHOW_NAMES, PortraitNames

LEVELS = 3  # full, compact, name only
WATCHLIST_LINES = 2


@dataclass(frozen=True, slots=True)
class CardLine:
    text: str
    marker: int | None = None  # caveat number, None for facts (time in view)
    style: str = "body"  # body | welcome | alert | muted
    compact: bool = False  # kept on the compact card


@dataclass(frozen=True, slots=True)
class CardContent:
    key: str
    title: str
    lines: tuple[CardLine, ...]
    identified: bool

    def lines_at(self, level: int) -> tuple[CardLine, ...]:
        if level <= 0:
            return self.lines
        if level == 1:
            return tuple(line for line in self.lines if line.compact)
        return ()


def card_key(face: FaceView) -> str:
    """Cards follow visitors when identified, tracks before (see ``CardAnimator`` for the hand-over)."""
    return f"v{face.visitor_id}" if face.visitor_id is not None else f"t{face.track_id}"


def visitor_label(strings: Strings, visitor_id: int) -> str:
    return strings.get("card.visitor", id=f"{visitor_id:04d}")


def in_view_text(strings: Strings, visit_s: float, total_s: float, visit_number: int) -> str:
    """Time in view of this visit; from the second visit on, also the total over all visits
    (the line keeps its form for the whole visit, so the card does not change shape)."""
    if visit_number > 1:
        return strings.get("card.in_view_visit", now=Strings.clock(visit_s), total=Strings.clock(max(total_s, visit_s)))
    return strings.get("card.in_view", time=Strings.clock(visit_s))


def guess_lines(a: Attributes, s: Strings) -> list[CardLine]:
    """The age, gender and expression lines of a card (the model guesses with their uncertainty).

    - Age: the expected age and, when calibrated, its measured range ("80 % range 22–47");
      otherwise "about 34" (the model's own interval is no range a visitor may rely on).
    - Gender: a percentage only when calibrated, worded as how sure *the model* is, followed by
      how often the guess was right for faces of the same (guessed) age band on labelled test
      faces; uncalibrated, the label alone.
    - Expression: a word ("clearly" / "perhaps"), never a percentage: nothing is at hand to
      calibrate it (the caveat says so).
    """
    lines: list[CardLine] = []
    if a.age is not None:
        shown = shown_age_range(a.age)
        years = int(round(a.age.years))
        if shown is not None:
            lines.append(CardLine(s.get("card.age", years=years), marker("age"), compact=True))
            lines.append(CardLine(s.get("card.age_range", low=shown[0], high=shown[1],
                                        coverage=s.percent(float(a.age.coverage or 0.0))), marker("age"), compact=True))
        else:
            lines.append(CardLine(s.get("card.age_no_range", years=years), marker("age"), compact=True))
    else:
        lines.append(CardLine(s.get("card.age_pending"), marker("age"), "muted", True))
    if a.gender is not None:
        g = a.gender
        value = s.get(f"gender.{g.value.lower()}") if g.value.lower() in ("female", "male") else g.value
        lines.append(CardLine(s.get("card.gender", value=value), marker("gender"), compact=True))
        if g.calibrated:
            lines.append(CardLine(s.get("card.gender_sure", confidence=s.percent(shown_probability(g.probability))),
                                  marker("gender"), compact=True))
            if g.band_accuracy is not None and g.band is not None:
                lines.append(CardLine(s.get("card.gender_right", accuracy=s.percent(g.band_accuracy),
                                            band=g.band.replace("-", "–")), marker("gender")))
    else:
        lines.append(CardLine(s.get("card.gender_pending"), marker("gender"), "muted", True))
    if a.expression is not None and a.expression.probabilities:
        word = expression_word(a.expression)
        lines.append(CardLine(s.get(f"card.expression_{word}", value=s.get(f"expression.{a.expression.top}")),
                              marker("expression"), compact=True))
    else:
        lines.append(CardLine(s.get("card.expression_pending"), marker("expression"), "muted", True))
    return lines


def card_content(face: FaceView, snap_t_s: float, strings: Strings, welcome_s: float = 6.0,
                 portraits: PortraitNames = SHOW_NAMES) -> CardContent:
    """Title and lines for one face at pipeline time ``snap_t_s``; ``portraits`` says how a
    watchlist portrait is called (its name, or its number when names are hidden)."""
    s = strings
    a = face.attributes
    identified = face.visitor_id is not None
    title = visitor_label(s, face.visitor_id) if identified else s.get("card.identifying")
    lines: list[CardLine] = []
    # "Welcome back" for the first seconds of the id: counted from when it was given, so a visitor
    # recognised on a second look (a merge) is welcomed then, not never.
    id_age_s = face.identified_age_s if face.identified_age_s is not None else face.track_age_s
    if identified and face.is_return and id_age_s < welcome_s:
        lines.append(CardLine(s.get("card.welcome_back"), None, "welcome", True))

    lines.extend(guess_lines(a, s))
    if a.gaze is not None:
        lines.append(CardLine(s.get("card.looking_yes" if a.gaze.at_screen else "card.looking_no"),
                              marker("attention")))
    else:
        lines.append(CardLine(s.get("card.looking_pending"), marker("attention"), "muted"))
    if a.face is not None:
        lines.append(CardLine(s.get("card.blinks", count=a.face.blinks, rate=int(round(a.face.blinks_per_min))),
                              marker("attention")))
    else:
        lines.append(CardLine(s.get("card.blinks_pending"), marker("attention"), "muted"))
    lines.append(CardLine(in_view_text(s, face.track_age_s, face.time_in_view_s, face.visit_number)))
    if identified:
        before = max(0, face.visit_number - 1)
        if before == 0:
            lines.append(CardLine(s.get("card.first_visit"), marker("reidentification"), compact=True))
        else:
            ago = (s.duration(snap_t_s - face.last_visit_end_s) if face.last_visit_end_s is not None else "—")
            lines.append(CardLine(s.plural("card.seen_before", before, ago=ago),
                                  marker("reidentification"), compact=True))
    elif face.maybe_visitor_id is not None:
        # Still weighing the evidence: said as a question, never asserted.
        lines.append(CardLine(s.get("card.maybe_visitor", id=f"{face.maybe_visitor_id:04d}"),
                              marker("reidentification"), "muted", True))
    for match in sorted(face.watchlist, key=lambda m: -m.score)[:WATCHLIST_LINES]:
        score = s.number(match.score, 2)  # a cosine, as in the watchlist lesson: not a percentage
        name = portraits.label(s, match.name)
        if match.passes:
            lines.append(CardLine(s.get("card.watchlist_match", name=name, score=score),
                                  marker("watchlist"), "alert", True))
        else:
            lines.append(CardLine(s.get("card.watchlist", name=name, score=score),
                                  marker("watchlist")))
    return CardContent(card_key(face), title, tuple(lines), identified)
