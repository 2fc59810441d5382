"""The ingest stage: source files -> canonical tables in the warehouse."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pyarrow as pa

from customerlens.config import IngestOptions, SourceConfig
from customerlens.errors import IngestError
from customerlens.ingest.identity import guest_sessions_sql, records_sql
from customerlens.ingest.source import SourceReport, ingest_source
from customerlens.tables import (
    API_RECORDS,
    DATA_QUALITY,
    GUEST_SESSIONS,
    RECORDS,
    REJECTED,
    ROLES,
    TRANSACTIONS,
)
from customerlens.warehouse import DuckDBWarehouse, RunRecord, file_fingerprint, quote_ident

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """What the ingest stage did: per source, and the tables it wrote."""

    sources: dict[str, SourceReport] = field(default_factory=dict)
    tables: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows_read(self) -> int:
        return sum(s.rows_read for s in self.sources.values())

    @property
    def rows_rejected(self) -> int:
        return sum(s.rows_rejected for s in self.sources.values())


def ingest(
    wh: DuckDBWarehouse,
    sources: Mapping[str, SourceConfig],
    options: IngestOptions | None = None,
    on_step: Callable[[str], None] | None = None,
) -> IngestReport:
    """Ingest every given source into the warehouse.

    Parameters
    ----------
    wh : DuckDBWarehouse
        Where the tables go.
    sources : mapping role -> SourceConfig
        Any non-empty subset of ``accounts``, ``crm``, ``transactions``.
    options : IngestOptions, optional
        Strictness (share of bad values tolerated before stopping).
    on_step : callable, optional
        Called with a short message before each step (the CLI shows it as progress).

    Returns
    -------
    IngestReport
        Rows read, loaded and rejected (by reason) per source; rows per table written.
    """
    options = options or IngestOptions()
    unknown = set(sources) - set(ROLES)
    if unknown or not sources:
        extra = f" Unknown roles: {sorted(unknown)}." if unknown else ""
        raise IngestError(
            "Give at least one source: --accounts, --crm and/or --transactions "
            f"(or a customerlens.toml with [sources.<role>]).{extra}"
        )
    started = time.perf_counter()
    run = RunRecord("ingest")
    report = IngestReport()
    rejected: list[tuple[str, int, str, str]] = []
    quality: list[tuple[str, int, str, str, str]] = []
    typed_tables: dict[str, str] = {}
    for role in ROLES:
        if role not in sources:
            continue
        if on_step:
            on_step(f"reading {role}: {sources[role].path.name}")
        typed, rej, notes, source_report = ingest_source(wh, role, sources[role], options)
        typed_tables[role] = typed
        report.sources[role] = source_report
        rejected += [(role, *r) for r in rej]
        quality += [(role, *n) for n in notes]
        run.inputs.append({"role": role, **file_fingerprint(sources[role].path)})
    if on_step:
        on_step("writing canonical tables")
    for role, typed in typed_tables.items():
        report.tables[role] = wh.create_table_as(role, _canonical_select(wh, role, typed))
        wh.drop_temp(typed)
    report.tables[REJECTED] = wh.write_table(REJECTED, _rejected_table(rejected))
    report.tables[DATA_QUALITY] = wh.write_table(DATA_QUALITY, _quality_table(quality))
    if TRANSACTIONS in typed_tables:
        if on_step:
            on_step("building guest sessions")
        report.tables[GUEST_SESSIONS] = wh.create_table_as(GUEST_SESSIONS, guest_sessions_sql())
        _warn_mixed_sessions(wh, report)
    report.tables[RECORDS] = wh.create_table_as(
        RECORDS, records_sql(set(typed_tables), api_records=wh.has_table(API_RECORDS))
    )
    report.seconds = time.perf_counter() - started
    for source_report in report.sources.values():
        report.warnings += [f"{source_report.role}: {w}" for w in source_report.warnings]
    run.row_counts = dict(report.tables)
    run.metrics = {
        role: {
            "rows_read": s.rows_read,
            "rows_loaded": s.rows_loaded,
            "rejected": dict(s.rejected),
            "seconds": round(s.seconds, 3),
            "mapping": s.mapping,
        }
        for role, s in report.sources.items()
    }
    wh.record_run(run.finish())
    return report


def _canonical_select(wh: DuckDBWarehouse, role: str, typed: str) -> str:
    columns = [c for c in wh.columns_any(typed) if not c.startswith("__")]
    exprs = [quote_ident(c) for c in columns]
    if role == TRANSACTIONS:
        exprs = [_transaction_expr(c) for c in columns]
    return (
        f"SELECT __row AS source_row, {', '.join(exprs)} FROM {typed} "
        "WHERE __reason IS NULL ORDER BY __row"
    )


def _transaction_expr(column: str) -> str:
    if column == "session_id":
        # no order id: one session per buyer and timestamp (documented in the README)
        key = (
            "concat_ws('|', customer_id, guest_first_name, guest_surname, guest_postcode, "
            "guest_email, guest_full_name, CAST(event_time AS VARCHAR))"
        )
        return f"coalesce(session_id, 'derived-' || md5({key})[1:16]) AS session_id"
    if column == "amount":
        return "coalesce(amount, price * coalesce(quantity, 1)) AS amount"
    if column == "quantity":
        return "coalesce(quantity, 1) AS quantity"
    return quote_ident(column)


def _warn_mixed_sessions(wh: DuckDBWarehouse, report: IngestReport) -> None:
    mixed = wh.scalar(
        f"SELECT count(*) FROM {GUEST_SESSIONS} g WHERE EXISTS (SELECT 1 FROM {TRANSACTIONS} t "
        "WHERE t.session_id = g.session_id AND t.customer_id IS NOT NULL)"
    )
    if mixed:
        report.warnings.append(
            f"transactions: {mixed} sessions mix registered and guest rows; their guest rows "
            "form a guest identity record of their own."
        )
    conflicting = wh.scalar(f"SELECT count(*) FROM {GUEST_SESSIONS} WHERE identities > 1")
    if conflicting:
        report.warnings.append(
            f"transactions: {conflicting} guest sessions carry more than one guest identity; "
            "each session keeps its most frequent values."
        )


def _rejected_table(rows: list[tuple[str, int, str, str]]) -> pa.Table:
    return pa.table(
        {
            "source": pa.array([r[0] for r in rows], pa.string()),
            "row_number": pa.array([r[1] for r in rows], pa.int64()),
            "reason": pa.array([r[2] for r in rows], pa.string()),
            "raw": pa.array([r[3] for r in rows], pa.string()),
        }
    )


def _quality_table(rows: list[tuple[str, int, str, str, str]]) -> pa.Table:
    return pa.table(
        {
            "source": pa.array([r[0] for r in rows], pa.string()),
            "row_number": pa.array([r[1] for r in rows], pa.int64()),
            "column": pa.array([r[2] for r in rows], pa.string()),
            "value": pa.array([r[3] for r in rows], pa.string()),
            "problem": pa.array([r[4] for r in rows], pa.string()),
        }
    )
