"""HTML building blocks of the report: escaped text, tables, embedded images, the page.

Plain string building with :func:`html.escape` on every value that comes from data. The page
is self-contained: the CSS is inline and images are ``data:`` URIs, so it opens without a
network and can be mailed as one file.
"""

from __future__ import annotations

import base64
import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import pandas as pd

Format = Callable[[Any], str]

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto;
       max-width: 1100px; padding: 1.5rem; color: #1f2933; line-height: 1.45; }
h1 { font-size: 1.7rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.3rem; border-bottom: 2px solid #d9e2ec; padding-bottom: 0.2rem;
     margin-top: 2.2rem; }
.sub { color: #52606d; margin-top: 0; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.88rem; }
th, td { border-bottom: 1px solid #e4e7eb; padding: 0.25rem 0.6rem; text-align: left;
         vertical-align: top; }
th { background: #f5f7fa; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.nowrap { white-space: nowrap; }
img { max-width: 100%; height: auto; display: block; margin: 0.8rem 0; }
.note { color: #52606d; font-size: 0.9rem; }
.missing { background: #fffbea; border-left: 4px solid #f0b429; padding: 0.6rem 1rem; }
code { background: #f0f4f8; padding: 0 0.25rem; border-radius: 3px; }
nav a { margin-right: 0.8rem; }
"""


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def integer(value: Any) -> str:
    """``12,345``; empty for a missing value."""
    return "" if _missing(value) else f"{int(round(float(value))):,}"


def money(value: Any) -> str:
    """``12,345.67``; empty for a missing value (the shop's currency is not known)."""
    return "" if _missing(value) else f"{float(value):,.2f}"


def decimal(digits: int) -> Format:
    """A formatter with ``digits`` decimals."""

    def fmt(value: Any) -> str:
        return "" if _missing(value) else f"{float(value):,.{digits}f}"

    return fmt


def percent(value: Any) -> str:
    """A share in [0, 1] as ``12.3%``."""
    return "" if _missing(value) else f"{float(value):.1%}"


def text(value: Any, limit: int = 200) -> str:
    """Plain text, shortened to ``limit`` characters (long reasons carry whole raw lines)."""
    if _missing(value):
        return ""
    out = str(value)
    return out if len(out) <= limit else out[: limit - 1] + "…"


@dataclass(frozen=True)
class Column:
    """One column of an HTML table: the DataFrame column, its header and how to show it."""

    key: str
    header: str
    fmt: Format = text
    numeric: bool = False
    #: keep on one line (ids, timestamps)
    nowrap: bool = False

    def _attr(self) -> str:
        classes = " ".join(c for c, on in (("num", self.numeric), ("nowrap", self.nowrap)) if on)
        return f' class="{classes}"' if classes else ""

    def head(self) -> str:
        return f"<th{self._attr()}>{escape(self.header)}</th>"

    def cell(self, value: Any) -> str:
        return f"<td{self._attr()}>{escape(self.fmt(value))}</td>"


def code(value: str) -> str:
    """Inline code, escaped."""
    return f"<code>{escape(value)}</code>"


def table(rows: pd.DataFrame, columns: Sequence[Column]) -> str:
    """An HTML table of ``rows`` showing ``columns`` in order."""
    head = "".join(c.head() for c in columns)
    body = [
        "<tr>" + "".join(c.cell(record.get(c.key)) for c in columns) + "</tr>"
        for record in rows.to_dict("records")
    ]
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def pairs(items: Iterable[tuple[str, str]], *, header: tuple[str, str] | None = None) -> str:
    """A two-column table of (label, already formatted value) pairs."""
    head = ""
    if header:
        head = f'<thead><tr><th>{escape(header[0])}</th><th class="num">{escape(header[1])}'
        head += "</th></tr></thead>"
    rows = "".join(
        f'<tr><td>{escape(label)}</td><td class="num">{escape(value)}</td></tr>'
        for label, value in items
    )
    return f"<table>{head}<tbody>{rows}</tbody></table>"


def image(png: bytes, alt: str) -> str:
    """An ``<img>`` with the PNG embedded as a base64 ``data:`` URI."""
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{escape(alt)}">'


def paragraph(content: str, *, css: str | None = "note") -> str:
    """A paragraph of already escaped HTML, with the CSS class ``css``."""
    return f'<p class="{css}">{content}</p>' if css else f"<p>{content}</p>"


def section(section_id: str, title: str, body: str) -> str:
    """One ``<section id=...>`` with its ``<h2>``."""
    return f'<section id="{escape(section_id)}">\n<h2>{escape(title)}</h2>\n{body}\n</section>'


def document(title: str, subtitle: str, nav: Sequence[tuple[str, str]], sections: str) -> str:
    """The whole page: inline CSS, a table of contents and the sections."""
    links = " ".join(f'<a href="#{escape(i)}">{escape(t)}</a>' for i, t in nav)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f'<header><h1>{escape(title)}</h1>\n<p class="sub">{escape(subtitle)}</p>\n'
        f"<nav>{links}</nav></header>\n<main>\n{sections}\n</main>\n</body>\n</html>\n"
    )


def finite(value: Any) -> bool:
    """A real number (NumPy's included) that is not NaN or infinite."""
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )
