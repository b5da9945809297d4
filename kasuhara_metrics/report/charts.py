"""The report's charts, drawn with matplotlib and embedded as SVG (the page opens offline).

Text stays text in the SVG (svg.fonttype = none): the browser draws the Japanese labels with the
fonts it has, whether or not this machine has a Japanese font.
"""

from __future__ import annotations

import io
import warnings
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no screen: draw to files
import matplotlib.pyplot as plt  # noqa: E402

from ..common.levels import CATEGORIES, SEVERITY_LABELS

FONTS = ["IPAGothic", "IPAexGothic", "Noto Sans CJK JP", "Hiragino Sans", "Yu Gothic", "Meiryo", "DejaVu Sans"]
COLOURS = {"拘束": "#c0504d", "繰り返し": "#4f81bd", "watch": "#f0ad4e", "alert": "#c9302c"}
STYLE = {"svg.fonttype": "none", "font.family": "sans-serif", "font.sans-serif": FONTS, "font.size": 10,
         "axes.spines.top": False, "axes.spines.right": False}


def _svg(figure) -> str:
    buffer = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Glyph missing from font": the browser has the glyphs
        figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog: the SVG goes inside the HTML


def trend_chart(trend: list[dict[str, Any]]) -> str:
    """New flags per week for the last 8 weeks, stacked by category."""
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(7.5, 2.8))
        labels = [row["week"].split("-")[1] for row in trend]
        bottom = [0] * len(trend)
        for category in CATEGORIES:
            values = [row[category] for row in trend]
            axes.bar(labels, values, bottom=bottom, color=COLOURS[category], label=category, width=0.6)
            bottom = [b + v for b, v in zip(bottom, values)]
        axes.set_ylabel("新規フラグ数")
        axes.yaxis.get_major_locator().set_params(integer=True)
        axes.legend(frameon=False, loc="upper left")
        return _svg(figure)


def behaviour_chart(by_behaviour: list[dict[str, Any]]) -> str:
    """This week's flags per behaviour, split by severity."""
    with plt.rc_context(STYLE):
        behaviours = list(dict.fromkeys(row["behaviour"] for row in by_behaviour)) or ["(なし)"]
        figure, axes = plt.subplots(figsize=(7.5, 0.45 * len(behaviours) + 0.9))
        left = [0] * len(behaviours)
        for severity, label in SEVERITY_LABELS.items():
            values = [sum(r["total"] for r in by_behaviour if r["behaviour"] == b and r["severity"] == severity)
                      for b in behaviours]
            axes.barh(behaviours, values, left=left, color=COLOURS[severity], label=label, height=0.6)
            left = [a + v for a, v in zip(left, values)]
        axes.invert_yaxis()
        axes.set_xlabel("フラグ数")
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.legend(frameon=False, loc="lower right")
        return _svg(figure)
