"""The report's HTML pages (the weekly report, the evidence file): one Jinja2 set-up and one font stack."""

from __future__ import annotations

from typing import Any

# Proportional Japanese fonts of the pages and the charts: Windows, macOS, then Linux (IPA P-Gothic,
# not the fixed-width IPAGothic). DejaVu Sans is matplotlib's last resort; a page falls back on sans-serif.
FONTS = [
    "Yu Gothic UI",
    "Meiryo",
    "Hiragino Sans",
    "Noto Sans CJK JP",
    "IPAPGothic",
    "IPAexGothic",
    "DejaVu Sans",
]


def render_page(template: str, **values: Any) -> str:
    """`templates/<template>` rendered with `values`, HTML-escaped, and `font_family`: the charts'
    Japanese fonts as a CSS stack, so that page and charts are set alike."""
    # Imported here: Jinja2 costs every other command start-up time.
    from jinja2 import Environment, PackageLoader, select_autoescape
    from markupsafe import Markup

    environment = Environment(
        loader=PackageLoader("kasuhara_metrics.report", "templates"), autoescape=select_autoescape(["html", "j2"])
    )
    # Constant names, trusted: marked safe so that the quotes reach the <style> element unescaped.
    family = Markup(", ".join(f'"{font}"' for font in FONTS if font != "DejaVu Sans") + ", sans-serif")
    return environment.get_template(template).render(font_family=family, **values)
