"""SQL expressions that turn raw text values into typed canonical values.

Every parser is ``try_``-based: a value that cannot be parsed becomes NULL, and the caller
compares with the raw value to find (and report) what failed. Formats are inferred per column
from a sample, so ``01/02/2020`` is read day-first or month-first consistently for a column.
"""

from __future__ import annotations

from dataclasses import dataclass

from customerlens.warehouse import Warehouse, quote_ident, quote_literal

SAMPLE_ROWS = 20_000

#: Date/time formats tried, in order of preference when several parse a column equally well
#: (day-first before month-first: most of the world, and the UK shops we target first).
DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y%m%d",
    "%Y/%m/%d",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%d-%m-%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d/%m/%y",
    "%m/%d/%y",
    "%d %b %Y",
    "%d %B %Y",
    "%b %d, %Y",
    "%B %d, %Y",
)
#: ISO-8601 with fractions or zones, which DuckDB's cast reads better than any strptime
ISO = "iso"


@dataclass(frozen=True)
class DateGuess:
    """The format chosen for a date column and how well it fitted the sample."""

    format: str
    parsed_share: float
    ambiguous: bool  # day-first and month-first parsed the sample equally well


def clean_text(column: str) -> str:
    """Trimmed text; empty strings become NULL."""
    return f"nullif(trim({quote_ident(column)}), '')"


def id_expr(column: str, strip_float_suffix: bool) -> str:
    """An identifier as text; ``'17850.0'`` -> ``'17850'`` when the column holds floats."""
    text = clean_text(column)
    if strip_float_suffix:
        return f"regexp_replace({text}, '\\.0+$', '')"
    return text


def number_expr(column: str, decimal_comma: bool) -> str:
    """A number from text with currency signs, spaces and thousands separators removed."""
    stripped = f"regexp_replace({clean_text(column)}, '[£$€¥\\s]', '', 'g')"
    if decimal_comma:
        stripped = f"replace(replace({stripped}, '.', ''), ',', '.')"
    else:
        stripped = f"replace({stripped}, ',', '')"
    return f"try_cast({stripped} AS DOUBLE)"


def timestamp_expr(column: str, fmt: str) -> str:
    text = clean_text(column)
    if fmt == ISO:
        return f"try_cast({text} AS TIMESTAMP)"
    return f"try_strptime({text}, {quote_literal(fmt)})"


def date_expr(column: str, fmt: str) -> str:
    return f"CAST({timestamp_expr(column, fmt)} AS DATE)"


def _sample(table: str, column: str) -> str:
    return (
        f"(SELECT {clean_text(column)} AS v FROM {quote_ident(table)} "
        f"WHERE {clean_text(column)} IS NOT NULL LIMIT {SAMPLE_ROWS})"
    )


def infer_date_format(wh: Warehouse, table: str, column: str, given: str | None) -> DateGuess:
    """Pick the format that parses most of a sample of ``column`` (``given`` wins)."""
    if given:
        return DateGuess(given, 1.0, False)
    candidates = (ISO, *DATE_FORMATS)
    counts = ", ".join(
        f"count({timestamp_expr('v', fmt)})" if fmt != ISO else "count(try_cast(v AS TIMESTAMP))"
        for fmt in candidates
    )
    row = wh.query(f"SELECT count(*), {counts} FROM {_sample(table, column)}").to_pylist()[0]
    values = list(row.values())
    total, scores = values[0], values[1:]
    if not total:
        return DateGuess(ISO, 1.0, False)
    best = max(range(len(candidates)), key=lambda i: (scores[i], -i))
    fmt = candidates[best]
    swapped = fmt.replace("%d", "%D").replace("%m", "%d").replace("%D", "%m")
    ambiguous = (
        swapped != fmt
        and swapped in candidates
        and scores[candidates.index(swapped)] == scores[best]
        and "%Y%m%d" not in fmt
    )
    return DateGuess(fmt, scores[best] / total, ambiguous)


def infer_decimal_comma(wh: Warehouse, table: str, column: str) -> bool:
    """True when the column writes decimals with a comma (``12,50``) and never with a point."""
    row = wh.query(
        "SELECT count(*) AS n, "
        "count(*) FILTER (WHERE regexp_full_match(v, '-?[0-9]+,[0-9]{1,2}')) AS comma, "
        "count(*) FILTER (WHERE v LIKE '%.%') AS point "
        f"FROM {_sample(table, column)}"
    ).to_pylist()[0]
    return bool(row["n"]) and row["comma"] > 0.5 * row["n"] and row["point"] == 0


def infer_float_ids(wh: Warehouse, table: str, column: str) -> bool:
    """True when every value of an id column looks like an integral float (``17850.0``)."""
    row = wh.query(
        "SELECT count(*) AS n, count(*) FILTER (WHERE regexp_full_match(v, '-?[0-9]+\\.0+')) AS f "
        f"FROM {_sample(table, column)}"
    ).to_pylist()[0]
    return bool(row["n"]) and row["n"] == row["f"]
