"""``kiosk stats FILE [--plot OUT.png]``: the aggregates file, summarised for an educator.

Reads the file ``privacy.persist_aggregates`` writes (see :mod:`kiosk.counters.daily` and :mod:`kiosk.counters.aggregates_file`), prints a
readable summary and, with ``--plot``, draws one PNG with a chart per question an educator might
ask: how many came, how long they stayed, how many looked at the screen, what the kiosk guessed
about them, how often the watchlist declared a "match". Everything is counts; the file holds no
person's data (no ids, nothing finer than the date, small groups withheld).

Exit codes: 0 ok; 2 for a missing or invalid file (the message names the line and key) or a
chart that cannot be written.
"""
from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kiosk.counters.aggregates_file import AggregatesFileError, read_aggregates
from kiosk.errors import EXIT_OK, EXIT_USAGE

__all__ = ["format_summary", "main_stats", "plot_aggregates"]

_GUESSES = ("age", "gender", "expression")
_GUESS_TITLES = {
    "age": "Estimated age (a guess, not their real age)",
    "gender": "Gender guess (the model knows only two)",
    "expression": "Facial expression shown (not an emotion)",
}
_GUESS_LABELS = {"age": "estimated age", "gender": "gender guess", "expression": "expression"}
# Expression classes in the words the screen uses (assets/i18n/en.yaml, section "expression").
_EXPRESSION_WORDS = {"disgust": "disgusted", "fear": "fearful", "surprise": "surprised"}
_FOOTER = ("Counts only; no person can be identified from this file. The guesses are what the "
           "models said, not facts about the visitors.")


def main_stats(file: Path, plot: Path | None = None) -> int:
    """Print a summary of the aggregates ``file``; with ``plot``, also write the charts as PNG.

    Returns 0, or 2 with a message on stderr (``FILE:LINE: key: problem``) when the file is
    missing or invalid or the chart cannot be written.
    """
    try:
        data = read_aggregates(file)
    except AggregatesFileError as exc:
        print(f"kiosk stats: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(format_summary(data, file))
    if plot is not None:
        if not Path(plot).parent.is_dir():
            print(f"kiosk stats: cannot write the chart {plot}: the folder {Path(plot).parent} "
                  "does not exist", file=sys.stderr)
            return EXIT_USAGE
        try:
            plot_aggregates(data, Path(plot))
        except OSError as exc:
            print(f"kiosk stats: cannot write the chart {plot}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_USAGE
        print(f"\nCharts written to {plot}")
    return EXIT_OK


# --------------------------------------------------------------------------------------------
# Figures derived from the file
# --------------------------------------------------------------------------------------------


def _bin_labels(bins: Sequence[int]) -> list[str]:
    """'0-5 s', '5-15 s', ..., '1-2 min', '5+ min' for the dwell bins' lower edges."""
    def amount(s: int) -> str:
        return f"{s // 60} min" if s >= 60 and s % 60 == 0 else f"{s} s"

    labels = []
    for i, low in enumerate(bins):
        if i + 1 == len(bins):
            labels.append(f"{amount(low)} or more")
            continue
        high = bins[i + 1]
        if high <= 60:
            labels.append(f"{low}-{high} s")
        elif low >= 60 and low % 60 == 0 and high % 60 == 0:
            labels.append(f"{low // 60}-{high // 60} min")
        else:
            labels.append(f"{amount(low)}-{amount(high)}")
    return labels


def _median_label(hist: Sequence[int], labels: Sequence[str]) -> str:
    """The bin holding the median visitor ('-' without visitors)."""
    total = sum(hist)
    if total == 0:
        return "-"
    rank = (total + 1) // 2
    acc = 0
    for count, label in zip(hist, labels):
        acc += count
        if acc >= rank:
            return label
    return labels[-1]


def _word(key: str, name: str) -> str:
    return _EXPRESSION_WORDS.get(name, name) if key == "expression" else name


def _share(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "not measured"


def _totals(days: Sequence[Mapping[str, Any]], key: str) -> tuple[dict[str, int], int]:
    """Summed distribution over days where it is not withheld, and the number of withheld days."""
    total: dict[str, int] = {}
    withheld = 0
    for day in days:
        counts = day[key]
        if counts is None:
            withheld += 1
            continue
        for k, v in counts.items():
            total[k] = total.get(k, 0) + v
    return total, withheld


def _watchlist_totals(days: Sequence[Mapping[str, Any]]) -> tuple[int, int, list[float], int]:
    searched = matched = withheld = 0
    thresholds: list[float] = []
    for day in days:
        wl = day["watchlist"]
        if wl is None:
            withheld += 1
            continue
        searched += wl["searched"]
        matched += wl["matched"]
        if wl["searched"] and wl["threshold"] is not None and wl["threshold"] not in thresholds:
            thresholds.append(wl["threshold"])
    return searched, matched, thresholds, withheld


def format_summary(data: Mapping[str, Any], file: Path | str = "") -> str:
    """The readable text summary ``kiosk stats`` prints (``data`` from ``read_aggregates``)."""
    days = data["days"]
    bins = data["dwell_bins_s"]
    labels = _bin_labels(bins)
    k = data["min_group"]
    out = [f"Aggregates file: {file}" if file else "Aggregates", data["note"]]
    if not days:
        out.append("\nNo days recorded yet.")
        return "\n".join(out)
    first, last = days[0]["date"], days[-1]["date"]
    out.append(f"Period: {first} to {last} ({len(days)} day{'s' if len(days) != 1 else ''} "
               "with the kiosk running)")
    out.append("")
    header = f"{'date':<12}{'visitors':>9}{'analysed':>10}  {'looked at the screen':<24}{'typical stay':<14}"
    out.append(header)
    out.append("-" * len(header))
    hist_all = [0] * len(bins)
    sums = {"visitors": 0, "analysed": 0, "looked": 0, "gaze_measured": 0}
    for day in days:
        for key in sums:
            sums[key] += day[key]
        hist_all = [a + b for a, b in zip(hist_all, day["dwell_histogram"])]
        looked = _share(day["looked"], day["gaze_measured"])
        if day["gaze_measured"]:
            looked += f" ({day['looked']} of {day['gaze_measured']})"
        out.append(f"{day['date']:<12}{day['visitors']:>9}{day['analysed']:>10}  {looked:<24}"
                   f"{_median_label(day['dwell_histogram'], labels):<14}")
    out.append("-" * len(header))
    looked = _share(sums["looked"], sums["gaze_measured"])
    if sums["gaze_measured"]:
        looked += f" ({sums['looked']} of {sums['gaze_measured']})"
    out.append(f"{'all days':<12}{sums['visitors']:>9}{sums['analysed']:>10}  {looked:<24}"
               f"{_median_label(hist_all, labels):<14}")
    out.append("")
    out.append("\"looked at the screen\": visitors whose gaze was measured and met the screen at least once.")
    out.append("\"typical stay\": the time-in-view range of the median visitor.")

    out.append("")
    out.append("How long people stayed (all days)")
    peak = max(hist_all) or 1
    for label, count in zip(labels, hist_all):
        out.append(f"  {label:<14}{count:>6}  {'#' * round(30 * count / peak)}")

    out.append("")
    out.append("Guesses the kiosk showed (what the models said, not facts about the visitors)")
    withheld_notes = []
    for key in _GUESSES:
        total, withheld = _totals(days, key)
        shown = (" · ".join(f"{_word(key, name)}: {count}" for name, count in total.items())
                 if any(total.values()) else "none")
        out.append(f"  {_GUESS_LABELS[key] + ':':<16}{shown}")
        if withheld:
            withheld_notes.append(f"{key} on {withheld} day{'s' if withheld != 1 else ''}")
    searched, matched, thresholds, withheld = _watchlist_totals(days)
    if searched:
        at = " / ".join(f"{t:g}" for t in thresholds) or "?"
        out.append(f"  {'watchlist:':<16}{searched} visitors searched; {matched} declared a \"match\" "
                   f"at threshold {at}")
    else:
        out.append(f"  {'watchlist:':<16}not used")
    if withheld:
        withheld_notes.append(f"watchlist on {withheld} day{'s' if withheld != 1 else ''}")
    if withheld_notes:
        out.append("")
        out.append(f"Withheld (fewer than {k} visitors that day, so the counts could describe one "
                   f"person): {'; '.join(withheld_notes)}. The totals above leave those days out.")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------------


# Up to this many days, each bar is labelled with its date; beyond, a calendar axis is used.
_LABELLED_DAYS = 14


def _date_bars(ax: Any, dates: Sequence[str], values: Sequence[float], color: str,
               fmt: str = "%d") -> None:
    """Bars per day: labelled with the date for a few days, on a calendar axis for many."""
    import matplotlib.dates as mdates
    from matplotlib.ticker import MaxNLocator

    if len(dates) <= _LABELLED_DAYS:
        positions = range(len(dates))
        drawn = ax.bar(positions, values, color=color, width=0.7)
        ax.bar_label(drawn, fmt=fmt, padding=2, fontsize=9)
        ax.set_xticks(list(positions), [d[5:] if len(dates) > 1 else d for d in dates],
                      rotation=45 if len(dates) > 7 else 0)
        if len(dates) > 1:
            ax.set_xlabel(f"{dates[0][:4]}, month-day" if dates[0][:4] == dates[-1][:4] else "month-day")
    else:
        ax.bar([dt.date.fromisoformat(d) for d in dates], values, color=color, width=0.8)
        locator = mdates.AutoDateLocator(maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.spines[["top", "right"]].set_visible(False)


def plot_aggregates(data: Mapping[str, Any], out: Path) -> None:
    """Draw the charts into one PNG at ``out`` (about 1600 x 900 pixels).

    Uses matplotlib's object API with the Agg canvas (no pyplot, no display, no global state),
    so it runs on a headless kiosk or in a test. Raises ``OSError`` when ``out`` cannot be
    written.
    """
    # long: one figure of eight panels drawn in order on one matplotlib Figure; each panel is a few
    # lines that share the figure's colours, labels and bins
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.layout_engine import ConstrainedLayoutEngine
    from matplotlib.ticker import MaxNLocator

    days = data["days"]
    bins = data["dwell_bins_s"]
    labels = _bin_labels(bins)
    k = data["min_group"]
    # The bottom 3 % is left for the footer line.
    fig = Figure(figsize=(16, 9), dpi=100, layout=ConstrainedLayoutEngine(rect=(0, 0.03, 1, 0.97)))
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 4)
    period = f"{days[0]['date']} to {days[-1]['date']}" if days else "no days recorded"
    fig.suptitle(f"Surveillance Mirror: what the kiosk counted ({period})", fontsize=16, fontweight="bold")
    accent, muted = "#1f5fa8", "#9aa5b1"

    def empty(ax: Any, text: str) -> None:
        ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#555555",
                wrap=True)
        ax.set_xticks([])
        ax.set_yticks([])

    def bars(ax: Any, names: Sequence[str], counts: Sequence[int], color: str = accent) -> None:
        positions = range(len(names))
        drawn = ax.bar(positions, counts, color=color)
        ax.bar_label(drawn, padding=2, fontsize=9)
        slanted = len(names) > 4  # long category lists: slanted labels do not overlap
        ax.set_xticks(list(positions), list(names), rotation=30 if slanted else 0,
                      ha="right" if slanted else "center")
        ax.set_ylabel("visitors")
        ax.margins(y=0.15)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.spines[["top", "right"]].set_visible(False)

    # 1. Visitors per day.
    ax = axes[0][0]
    ax.set_title("Visitors per day")
    if days:
        _date_bars(ax, [d["date"] for d in days], [d["visitors"] for d in days], accent)
        ax.set_ylabel("visitors")
        ax.set_ylim(0, max(1, max(d["visitors"] for d in days)) * 1.1)
    else:
        empty(ax, "No days recorded yet")

    # 2. Dwell histogram.
    ax = axes[0][1]
    ax.set_title("How long people stayed in view")
    hist = [sum(d["dwell_histogram"][i] for d in days) for i in range(len(bins))]
    if sum(hist):
        bars(ax, labels, hist)
    else:
        empty(ax, "Nobody yet")

    # 3. Attention share per day.
    ax = axes[0][2]
    ax.set_title("Share who looked at the screen")
    measured = [(d["date"], 100 * d["looked"] / d["gaze_measured"])
                for d in days if d["gaze_measured"]]
    if measured:
        total_looked = sum(d["looked"] for d in days)
        total_measured = sum(d["gaze_measured"] for d in days)
        overall = 100 * total_looked / total_measured
        _date_bars(ax, [m[0] for m in measured], [m[1] for m in measured], accent, fmt="%.0f%%")
        ax.axhline(overall, color="#c0392b", linestyle="--", linewidth=1.5)
        ax.set_title(f"Share who looked at the screen\n(dashed: all days, {overall:.0f}% = "
                     f"{total_looked} of {total_measured})")
        ax.set_ylim(0, 105)
        ax.set_yticks([0, 25, 50, 75, 100])
        ax.set_ylabel("% of visitors whose gaze was measured")
    else:
        empty(ax, "Gaze was not measured\n(attributes.mesh off, or nobody consented)")

    # 4. Watchlist.
    ax = axes[0][3]
    searched, matched, thresholds, wl_withheld = _watchlist_totals(days)
    at = " / ".join(f"{t:g}" for t in thresholds)
    ax.set_title(f"Watchlist: declared \"matches\"{f' (threshold {at})' if at else ''}")
    if searched:
        bars(ax, ["searched", "declared a \"match\""], [searched, matched])
        ax.set_xlabel("Unless someone portrayed visited,\nevery declared \"match\" is a false match",
                      fontsize=9)
    else:
        empty(ax, "The watchlist was not used")

    # 5-7. Guess distributions.
    withheld_any = []
    for ax, key in zip((axes[1][0], axes[1][1], axes[1][2]), _GUESSES):
        total, withheld = _totals(days, key)
        ax.set_title(_GUESS_TITLES[key])
        if any(total.values()):
            bars(ax, [_word(key, name) for name in total], list(total.values()), color="#6c4f9e")
        else:
            empty(ax, "Nothing to show: switched off, nobody analysed,\nor withheld for small groups")
        if withheld:
            withheld_any.append(key)
            ax.set_xlabel(f"{withheld} day(s) withheld: fewer than {k} visitors", fontsize=9)
    if wl_withheld:
        withheld_any.append("watchlist")

    # 8. In words.
    ax = axes[1][3]
    ax.axis("off")
    ax.set_title("In short")
    visitors = sum(d["visitors"] for d in days)
    analysed = sum(d["analysed"] for d in days)
    lines = [
        f"{len(days)} day{'s' if len(days) != 1 else ''} with the kiosk running",
        f"{visitors} visitors in total",
        f"{analysed} of them analysed",
        f"typical stay: {_median_label(hist, labels)}",
    ]
    total_measured = sum(d["gaze_measured"] for d in days)
    if total_measured:
        lines.append(f"{_share(sum(d['looked'] for d in days), total_measured)} looked at the screen")
    lines += ["", "A visitor is counted once per day,", "when their visit ends.",
              "Forgotten and seen again: counted again."]
    if withheld_any:
        lines += ["", f"Days with fewer than {k} visitors: guesses",
                  "withheld, so no count describes one person."]
    ax.text(0.0, 1.0, "\n".join(lines), va="top", ha="left", fontsize=12, transform=ax.transAxes,
            linespacing=1.5)

    fig.text(0.5, 0.005, _FOOTER, ha="center", va="bottom", fontsize=11, style="italic", color="#333333")
    fig.savefig(out, format="png")


if __name__ == "__main__":
    # Until `kiosk stats` is wired into kiosk/cli/: python -m kiosk.cli.stats FILE [--plot OUT.png]
    import argparse

    _parser = argparse.ArgumentParser(prog="python -m kiosk.cli.stats",
                                      description="summarise an aggregates file (counts only)")
    _parser.add_argument("file", type=Path)
    _parser.add_argument("--plot", type=Path, default=None, metavar="OUT.png")
    _args = _parser.parse_args()
    raise SystemExit(main_stats(_args.file, _args.plot))
