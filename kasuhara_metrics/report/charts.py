"""The report's charts, drawn with matplotlib and embedded as SVG (the page opens offline).

Text stays text in the SVG (svg.fonttype = none): the browser draws the Japanese labels with the
fonts it has, whether or not this machine has a Japanese font.
"""

from __future__ import annotations

import io
import warnings
from typing import TYPE_CHECKING, Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import AutoLocator

from ..common.levels import CATEGORIES, SEVERITIES, SEVERITY_LABELS
from .pages import FONTS

if TYPE_CHECKING:
    from matplotlib.axis import Axis
    from matplotlib.typing import RcKeyType

# In the order of the declarations: a new severity or category without its colour fails here.
COLOURS = dict(zip(CATEGORIES, ("#c0504d", "#4f81bd"), strict=True)) | dict(
    zip(SEVERITIES, ("#f0ad4e", "#c9302c"), strict=True)
)
STYLE: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": FONTS,
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _integer_ticks(axis: Axis) -> None:
    """Counts have whole ticks: matplotlib's automatic locator, told to keep to integers."""
    locator = AutoLocator()
    locator.set_params(integer=True)
    axis.set_major_locator(locator)


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Glyph missing from font": the browser has the glyphs
        figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog: the SVG goes inside the HTML


def trend_chart(trend: list[dict[str, Any]]) -> str:
    """New flags per week for the last 8 weeks, stacked by category."""
    with matplotlib.rc_context(STYLE):
        # A Figure without pyplot: no backend, no global state, nothing to close.
        figure = Figure(figsize=(7.5, 2.8))
        axes = figure.subplots()
        labels = [row["week"].split("-")[1] for row in trend]
        bottom = [0] * len(trend)
        for category in CATEGORIES:
            values = [row[category] for row in trend]
            axes.bar(labels, values, bottom=bottom, color=COLOURS[category], label=category, width=0.6)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        axes.set_ylabel("新規フラグ数")
        axes.set_ylim(0, max(1, *bottom))  # counts start at 0, weeks without flags included
        _integer_ticks(axes.yaxis)
        _legend_above(axes, len(CATEGORIES))
        return _svg(figure)


def _legend_above(axes: Any, entries: int) -> None:
    """The legend in a row above the plot, right-aligned: clear of every bar, however tall or long."""
    axes.legend(frameon=False, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=entries, borderaxespad=0.2)


def behaviour_chart(by_behaviour: list[dict[str, Any]]) -> str:
    """This week's flags per detected behaviour, labelled with its category and split by severity; no
    chart (an empty string) for a week without flags: the table beside it says so."""
    if not by_behaviour:
        return ""
    with matplotlib.rc_context(STYLE):
        behaviours = list(dict.fromkeys(row["behaviour"] for row in by_behaviour))
        categories = {row["behaviour"]: row["category"] for row in by_behaviour}
        figure = Figure(figsize=(7.5, 0.45 * len(behaviours) + 0.9))
        axes = figure.subplots()
        left = [0] * len(behaviours)
        for severity, label in SEVERITY_LABELS.items():
            values = [
                sum(r["total"] for r in by_behaviour if r["behaviour"] == b and r["severity"] == severity)
                for b in behaviours
            ]
            axes.barh(behaviours, values, left=left, color=COLOURS[severity], label=label, height=0.6)
            left = [a + v for a, v in zip(left, values, strict=True)]
        axes.set_yticks(range(len(behaviours)), [f"{categories[b]}｜{b}" for b in behaviours])
        axes.invert_yaxis()
        axes.set_xlabel("フラグ数")
        _integer_ticks(axes.xaxis)
        _legend_above(axes, len(SEVERITY_LABELS))
        return _svg(figure)
