"""Ingest one source file into its canonical table.

raw file -> temporary all-text table (``__row`` = row number in the file) -> typed canonical
columns -> checks (unparseable values, missing required values, duplicate ids) -> the role's
table, plus ``rejected`` rows (never used, with the reason) and ``data_quality`` notes (row kept,
one value nulled). Every input row is in the role's table or in ``rejected``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa

from customerlens.config import IngestOptions, SourceConfig
from customerlens.errors import IngestError, WarehouseError
from customerlens.ingest import parse
from customerlens.ingest.columns import (
    CANONICAL,
    IDENTIFYING,
    KINDS,
    PRIMARY_ID,
    REQUIRED,
    ColumnMapping,
    map_columns,
)
from customerlens.ingest.files import FileLayout, inspect_file
from customerlens.ingest.names import split_full_name
from customerlens.tables import TRANSACTIONS
from customerlens.warehouse import DuckDBWarehouse, quote_ident, quote_literal

log = logging.getLogger(__name__)

_EXAMPLES = 5


@dataclass
class SourceReport:
    """What happened to one source file."""

    role: str
    path: str
    rows_read: int = 0
    rows_loaded: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())


def ingest_source(
    wh: DuckDBWarehouse, role: str, source: SourceConfig, options: IngestOptions
) -> tuple[str, list[tuple[int, str, str]], list[tuple[int, str, str, str]], SourceReport]:
    """Load, type and check one source.

    Returns
    -------
    table : str
        The temporary table holding the canonical rows (``__row`` kept).
    rejected : list of (row_number, reason, raw)
    data_quality : list of (row_number, column, value, problem)
    report : SourceReport
    """
    started = time.perf_counter()
    layout = inspect_file(role, source)
    report = SourceReport(role, str(layout.path))
    raw = f"raw_{role}"
    try:
        rejected = _load(wh, raw, layout, source)
    except WarehouseError as exc:
        reason = str(exc).split("\n")[0].removeprefix("DuckDB failed: ")
        raise IngestError(
            f"{role}: cannot read {layout.path} as {layout.format} (delimiter "
            f"{layout.delimiter!r}, encoding {layout.encoding}): {reason[:300]}. Check the file "
            "(mixed line endings, stray quotes) or set format / delimiter in customerlens.toml."
        ) from exc
    columns = [c for c in wh.columns_any(raw) if c != "__row"]
    rows = wh.row_count_any(raw)
    report.rows_read = rows + len(rejected)
    if rows == 0:
        detail = f" ({len(rejected)} line(s) could not be parsed)" if rejected else ""
        raise IngestError(
            f"{role}: {layout.path} has a header but no data rows{detail}. Export the data "
            "again, or leave this source out."
        )
    _check_parser_rejects(role, layout, report.rows_read, rejected, options)
    mapping = map_columns(role, columns, source.columns, source=str(layout.path))
    report.mapping = dict(mapping.canonical)
    if role != TRANSACTIONS and not any(mapping.has(c) for c in IDENTIFYING):
        report.warnings.append(
            f"{role} has no identifying column (name, email, phone, postcode, address): "
            "its records can only become single customers."
        )
    typed = f"typed_{role}"
    exprs, guesses = _typed_columns(wh, raw, mapping, source, report)
    wh.execute(f"CREATE OR REPLACE TEMP TABLE {typed} AS SELECT {', '.join(exprs)} FROM {raw}")
    _split_names(wh, typed, role)
    quality = _check_values(wh, typed, role, layout, mapping, options, guesses)
    _mark_rejected_rows(wh, typed, role, mapping, options, layout)
    _check_duplicates(wh, typed, role, source, layout)
    wh.drop_temp(raw)
    rows = wh.query(
        f"SELECT __row, __reason, __raw FROM {typed} WHERE __reason IS NOT NULL ORDER BY __row"
    ).to_pylist()
    rejected += [(r["__row"], r["__reason"], r["__raw"]) for r in rows]
    dropped = {r[0] for r in rejected}
    quality = [q for q in quality if q[0] not in dropped]  # data_quality is for kept rows
    report.rows_loaded = report.rows_read - len(rejected)
    report.rejected.update(reason_kind(r[1]) for r in rejected)
    report.seconds = time.perf_counter() - started
    return typed, rejected, quality, report


def _load(
    wh: DuckDBWarehouse, raw: str, layout: FileLayout, source: SourceConfig
) -> list[tuple[int, str, str]]:
    if layout.format == "parquet":
        return wh.load_parquet(raw, layout.path).rejected
    if layout.format == "whitespace":
        return _load_whitespace(wh, raw, layout, source)
    return wh.load_csv(
        raw,
        layout.path,
        delimiter=layout.delimiter,
        header=layout.header,
        encoding=layout.encoding,
        column_names=source.column_names,
    ).rejected


def _load_whitespace(
    wh: DuckDBWarehouse, raw: str, layout: FileLayout, source: SourceConfig
) -> list[tuple[int, str, str]]:
    lines = f"{raw}_lines"
    wh.load_lines(lines, layout.path, encoding=layout.encoding)
    first = wh.scalar(f"SELECT line FROM {lines} ORDER BY __row LIMIT 1") or ""
    names = source.column_names or (
        first.lstrip("\ufeff").split()
        if layout.header
        else [f"column{i}" for i in range(1, len(first.split()) + 1)]
    )
    skip = 1 if layout.header else 0
    fields = "regexp_split_to_array(trim(line), '\\s+')"
    cols = ", ".join(f"{fields}[{i + 1}] AS {quote_ident(n)}" for i, n in enumerate(names))
    wh.execute(
        f"CREATE OR REPLACE TEMP TABLE {raw} AS SELECT __row - {skip} AS __row, {cols} "
        f"FROM {lines} WHERE __row > {skip} AND trim(line) <> '' "
        f"AND len({fields}) = {len(names)} ORDER BY __row"
    )
    bad = wh.query(
        f"SELECT __row - {skip} AS r, len({fields}) AS n, line FROM {lines} "
        f"WHERE __row > {skip} AND trim(line) <> '' AND len({fields}) <> {len(names)}"
    ).to_pylist()
    blank = wh.query(
        f"SELECT __row - {skip} AS r, line FROM {lines} WHERE __row > {skip} AND trim(line) = ''"
    ).to_pylist()
    wh.drop_temp(lines)
    return [
        (b["r"], f"wrong number of fields: expected {len(names)}, found {b['n']}", b["line"])
        for b in bad
    ] + [(b["r"], "blank line", b["line"]) for b in blank]


def _check_parser_rejects(
    role: str,
    layout: FileLayout,
    total: int,
    rejected: list[tuple[int, str, str]],
    options: IngestOptions,
) -> None:
    real = [r for r in rejected if r[1] != "blank line"]
    if real and len(real) > options.max_bad_share * total:
        examples = "; ".join(f"row {r}: {reason} [{raw[:60]}]" for r, reason, raw in real[:3])
        raise IngestError(
            f"{role}: {len(real)} of {total} rows of {layout.path} could not be split into "
            f"columns (delimiter {layout.delimiter!r}, encoding {layout.encoding}). "
            f"{examples}. Check the delimiter and quoting, or set them in customerlens.toml."
        )


def _typed_columns(
    wh: DuckDBWarehouse,
    raw: str,
    mapping: ColumnMapping,
    source: SourceConfig,
    report: SourceReport,
) -> tuple[list[str], dict[str, parse.DateGuess]]:
    """SELECT expressions: ``__row``, canonical columns (typed), their raw text, extras, raw row."""
    exprs = ["__row"]
    guesses: dict[str, parse.DateGuess] = {}
    for name in CANONICAL[mapping.role]:
        column = mapping.canonical.get(name)
        kind = KINDS.get(name, "text")
        if column is None:
            if name == "address" and mapping.address_parts:
                exprs.append(f"{_compose_address(mapping.address_parts)} AS address")
            else:
                sql_type = {"date": "DATE", "timestamp": "TIMESTAMP", "number": "DOUBLE"}
                exprs.append(f"CAST(NULL AS {sql_type.get(kind, 'VARCHAR')}) AS {name}")
            continue
        if kind == "id":
            expr = parse.id_expr(column, parse.infer_float_ids(wh, raw, column))
        elif kind == "number":
            expr = parse.number_expr(column, parse.infer_decimal_comma(wh, raw, column))
        elif kind in ("date", "timestamp"):
            guess = parse.infer_date_format(wh, raw, column, source.date_format)
            guesses[name] = guess
            if guess.ambiguous:
                report.warnings.append(
                    f"{name} ({column!r}) reads as {guess.format} but the other day/month order "
                    "fits too; set date_format in customerlens.toml if this is wrong."
                )
            fn = parse.timestamp_expr if kind == "timestamp" else parse.date_expr
            expr = fn(column, guess.format)
        else:
            expr = parse.clean_text(column)
        exprs.append(f"{expr} AS {name}")
        if kind != "text":
            exprs.append(f"{parse.clean_text(column)} AS {quote_ident('__raw_' + name)}")
    for extra, column in mapping.extras.items():
        exprs.append(f"{parse.clean_text(column)} AS {quote_ident(extra)}")
    originals = [c for c in wh.columns_any(raw) if c != "__row"]
    pairs = ", ".join(f"{quote_literal(c)}, {quote_ident(c)}" for c in originals)
    exprs.append(f"CAST(json_object({pairs}) AS VARCHAR) AS __raw")
    return exprs, guesses


def _compose_address(parts: dict[str, str]) -> str:
    street = " ".join(
        f"coalesce({parse.clean_text(parts[p])}, '')" for p in ("number", "line1") if p in parts
    ).replace(" coalesce", " || ' ' || coalesce")
    expr = f"nullif(trim({street}), '')"
    if "line2" in parts:
        expr = f"concat_ws(', ', {expr}, {parse.clean_text(parts['line2'])})"
    return f"nullif({expr}, '')"


def _split_names(wh: DuckDBWarehouse, typed: str, role: str) -> None:
    """Fill first name / surname from a full name where they are missing."""
    prefix = "guest_" if role == TRANSACTIONS else ""
    full, first, last = f"{prefix}full_name", f"{prefix}first_name", f"{prefix}surname"
    names = (
        wh.query(
            f"SELECT DISTINCT {full} AS n FROM {typed} "
            f"WHERE {full} IS NOT NULL AND ({first} IS NULL OR {last} IS NULL)"
        )
        .column("n")
        .to_pylist()
    )
    if not names:
        return
    split = [split_full_name(n) for n in names]
    lookup = pa.table({"n": names, "f": [s[0] for s in split], "s": [s[1] for s in split]})
    with wh.temporary_view("__names", lookup):
        # a one-word full name that is the record's own first name ("Joe" beside first name
        # "Joe") says nothing about the surname: copying it there made "Joe Joe", whose exact
        # "surname" then linked every such record (Splink's historical figures)
        wh.execute(
            f"UPDATE {typed} SET {first} = coalesce({typed}.{first}, __names.f), "
            f"{last} = coalesce({typed}.{last}, CASE WHEN __names.f IS NULL "
            f"AND lower(__names.s) = lower({typed}.{first}) THEN NULL ELSE __names.s END) "
            f"FROM __names WHERE {typed}.{full} = __names.n"
        )


def _bad(name: str) -> str:
    return f"({quote_ident('__raw_' + name)} IS NOT NULL AND {name} IS NULL)"


def _check_values(
    wh: DuckDBWarehouse,
    typed: str,
    role: str,
    layout: FileLayout,
    mapping: ColumnMapping,
    options: IngestOptions,
    guesses: dict[str, parse.DateGuess],
) -> list[tuple[int, str, str, str]]:
    """Stop on columns mostly unparseable; return data-quality notes for optional columns."""
    typed_names = [n for n in CANONICAL[role] if KINDS.get(n, "text") != "text" and mapping.has(n)]
    required = {n for alts in REQUIRED[role] for n in alts} | {"quantity"}
    notes: list[tuple[int, str, str, str]] = []
    for name in typed_names:
        counts = wh.query(
            f"SELECT count({quote_ident('__raw_' + name)}) AS present, "
            f"count(*) FILTER (WHERE {_bad(name)}) AS bad FROM {typed}"
        ).to_pylist()[0]
        if not counts["bad"]:
            continue
        examples = wh.query(
            f"SELECT __row, {quote_ident('__raw_' + name)} AS v FROM {typed} "
            f"WHERE {_bad(name)} ORDER BY __row LIMIT {_EXAMPLES}"
        ).to_pylist()
        column = mapping.canonical[name]
        limit = options.max_bad_share if name in required else options.max_bad_share_optional
        if counts["bad"] > limit * counts["present"]:
            shown = ", ".join(f"row {e['__row']}: {e['v']!r}" for e in examples)
            hint = (
                f" They were read with format {guesses[name].format!r}; set date_format in "
                "customerlens.toml"
                if name in guesses
                else " Check the column mapping"
            )
            raise IngestError(
                f"{role}: {counts['bad']} of {counts['present']} values in column {column!r} "
                f"({name}) of {layout.path} cannot be read as {KINDS[name]}s ({shown}).{hint} "
                f"or raise [ingest] max_bad_share{'' if name in required else '_optional'} "
                f"(now {limit})."
            )
        if name not in required:
            problem = f"unparseable {KINDS[name]}; set to null"
            rows = wh.query(
                f"SELECT __row, {quote_ident('__raw_' + name)} AS v FROM {typed} WHERE {_bad(name)}"
            ).to_pylist()
            notes += [(r["__row"], column, r["v"], problem) for r in rows]
    return notes


def _mark_rejected_rows(
    wh: DuckDBWarehouse,
    typed: str,
    role: str,
    mapping: ColumnMapping,
    options: IngestOptions,
    layout: FileLayout,
) -> None:
    """Rows that cannot be used: a required value missing or unparseable."""
    checks: list[str] = []
    for alternatives in REQUIRED[role]:
        present = [a for a in alternatives if mapping.has(a)]
        missing = " AND ".join(f"{quote_ident('__raw_' + a)} IS NULL" for a in present)
        label = " or ".join(present)
        checks.append(f"CASE WHEN {missing} THEN 'missing {label}' END")
        for a in present:
            checks.append(f"CASE WHEN {_bad(a)} THEN 'unparseable {a}: ' || __raw_{a} END")
    if role == TRANSACTIONS and mapping.has("quantity"):
        checks.append("CASE WHEN quantity IS NULL THEN 'missing or unparseable quantity' END")
    reason = f"concat_ws('; ', {', '.join(checks)})"
    wh.execute(f"ALTER TABLE {typed} ADD COLUMN __reason VARCHAR")
    wh.execute(f"UPDATE {typed} SET __reason = nullif({reason}, '')")
    missing = wh.query(
        f"SELECT __reason, count(*) AS n, min(__row) AS first FROM {typed} "
        "WHERE __reason LIKE 'missing%' GROUP BY 1"
    ).to_pylist()
    total = wh.row_count_any(typed)
    for m in missing:
        if m["n"] > options.max_bad_share * total:
            raise IngestError(
                f"{role}: {m['n']} of {total} rows of {layout.path} have {m['__reason']} "
                f"(first at row {m['first']}). Fill the column, map another column to it in "
                f"customerlens.toml, or raise [ingest] max_bad_share (now {options.max_bad_share})."
            )


def _check_duplicates(
    wh: DuckDBWarehouse, typed: str, role: str, source: SourceConfig, layout: FileLayout
) -> None:
    """Exact duplicate rows are rejected; conflicting duplicate ids stop ingestion.

    With ``on_duplicate_id = "reject"`` the first row of an id is kept and the others rejected.
    """
    key = PRIMARY_ID.get(role)
    if key is None:
        return
    later = (
        f"SELECT __row, {key} AS id, __raw = first_raw AS same, first_row FROM ("
        f"SELECT __row, {key}, __raw, first_value(__row) OVER w AS first_row, "
        f"first_value(__raw) OVER w AS first_raw FROM {typed} WHERE __reason IS NULL "
        f"WINDOW w AS (PARTITION BY {key} ORDER BY __row)) WHERE __row <> first_row"
    )
    conflicting = wh.query(f"SELECT * FROM ({later}) WHERE NOT same ORDER BY __row").to_pylist()
    if conflicting and source.on_duplicate_id == "error":
        shown = "; ".join(
            f"{d['id']!r} at rows {d['first_row']} and {d['__row']}"
            for d in conflicting[:_EXAMPLES]
        )
        raise IngestError(
            f"{role}: {len(conflicting)} rows of {layout.path} repeat a {key} with different "
            f"values ({shown}). Ids must be unique: fix the export, or set "
            f'on_duplicate_id = "reject" in [sources.{role}] to keep the first row of each id.'
        )
    wh.execute(
        f"UPDATE {typed} SET __reason = CASE WHEN d.same THEN 'exact duplicate of row ' "
        f"ELSE 'duplicate {key}, first seen at row ' END || d.first_row "
        f"FROM ({later}) d WHERE {typed}.__row = d.__row"
    )


def reason_kind(reason: str) -> str:
    """The kind of a rejection reason, for counts: no values, no row numbers."""
    kind = reason.split(":")[0].split(";")[0]
    return kind.rstrip("0123456789 ").removesuffix(" of row").removesuffix(", first seen at row")
