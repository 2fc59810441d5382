"""The sections about the shop as a whole: headline numbers, the revenue gap, data quality and
run metadata. Each builder returns its section's HTML body (see ``section.py``)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd

from customerlens import __version__
from customerlens.report import data, plots
from customerlens.report.page import (
    Column,
    code,
    decimal,
    integer,
    money,
    pairs,
    paragraph,
    table,
    text,
)
from customerlens.report.section import Context, Section, add_plot
from customerlens.tables import (
    ACTIONS,
    CUSTOMER_FEATURES,
    DATA_QUALITY,
    REJECTED,
    REVENUE_GAP,
    RUN_METADATA,
    SEGMENT_PROFILES,
)

#: what the identity records of each source are
SOURCE_NAMES = {"accounts": "accounts", "crm": "CRM entries", "transactions": "guest sessions"}


def headline(ctx: Context, section: Section) -> str:
    rows = _identity_rows(ctx, section) + _value_rows(ctx, section)
    dates = ctx.metrics.get("dates")
    if dates:
        rows.append(("data from", f"{dates['first_day']} to {dates['last_day']}", ""))
    if not rows:
        return paragraph("The warehouse holds no identity record yet.", css=None)
    section.summary = [(what, value) for what, value, _ in rows]
    frame = pd.DataFrame(rows, columns=["what", "value", "detail"])
    return table(
        frame,
        [Column("what", "what"), Column("value", "value", numeric=True), Column("detail", "")],
    )


def _identity_rows(ctx: Context, section: Section) -> list[tuple[str, str, str]]:
    ident = data.identity_counts(ctx.wh, ctx.tables)
    if not ident:
        section.missing.append(("Identity records (headline)", ctx.commands["ingest"]))
        return []
    records = sum(ident["records"].values())
    detail = ", ".join(f"{SOURCE_NAMES.get(s, s)} {n:,}" for s, n in ident["records"].items() if n)
    if not records:
        detail = "nothing to resolve: customers are known by the shop's customer id alone"
    rows = [("identity records (customers before resolution)", f"{records:,}", detail)]
    if ident["anonymous"]:
        rows.append(
            (
                "anonymous guest sessions",
                f"{ident['anonymous']:,}",
                "no name, email, phone or postcode: no customer to tie them to",
            )
        )
    if ident["customers"] is None:
        section.missing.append(("Customers after resolution (headline)", ctx.commands["resolve"]))
        return rows
    merged = records - ident["customers"]
    rows.append(("customers after resolution", f"{ident['customers']:,}", ""))
    rows.append(("duplicates merged", f"{merged:,}", "records joined to another"))
    return rows


def _value_rows(ctx: Context, section: Section) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    if CUSTOMER_FEATURES in ctx.tables:
        avg = data.customer_averages(ctx.wh)
        rows.append(("customers with a purchase", integer(avg["customers"]), ""))
        rows.append(("average net spend per customer", money(avg["avg_spend"]), ""))
        rows.append(("average orders per customer", decimal(2)(avg["avg_orders"]), ""))
    else:
        section.missing.append(("Revenue, spend and risk (headline)", ctx.commands["run"]))
    if REVENUE_GAP in ctx.tables:
        rev = data.revenue_totals(ctx.wh)
        total = float(rev["revenue"] or 0.0)
        untracked, recovered = float(rev["untracked"] or 0), float(rev["recovered"] or 0)
        rows += [
            ("net product revenue", money(total), "returns and cancellations netted"),
            ("tracked revenue", money(rev["tracked"]), "lines with the shop's customer id"),
            ("untracked revenue", money(untracked), _share(untracked, total, "of revenue")),
            (
                "recovered by resolution",
                money(recovered),
                _share(recovered, untracked, "of untracked"),
            ),
            ("non-product lines", money(rev["non_product"]), "postage, fees: not revenue"),
        ]
    if ACTIONS in ctx.tables:
        horizon = ctx.metrics.get("dates", {}).get("horizon_days")
        over = f" over {horizon} days" if horizon else ""
        rows.append(
            ("revenue at risk", money(data.value_at_risk(ctx.wh)), f"sum of P(churn) × CLV{over}")
        )
    if SEGMENT_PROFILES in ctx.tables:
        rows.append(("behavioural segments", f"{data.segment_count(ctx.wh):,}", ""))
    return rows


def _share(part: float, whole: float, of: str) -> str:
    return f"{part / whole:.1%} {of}" if whole else ""


def revenue_gap(ctx: Context, section: Section) -> str:
    months = data.revenue_by_month(ctx.wh)
    if months.empty:
        return paragraph("The sales table has no dated product line.")
    chart = add_plot(section, plots.revenue_gap(months), "revenue gap by month")
    columns = [Column("month", "month")] + [
        Column(key, header, money, numeric=True)
        for key, header in (
            ("revenue", "net product revenue"),
            ("tracked", "tracked"),
            ("untracked", "untracked"),
            ("attributed", "attributed by resolution"),
            ("recovered", "recovered"),
            ("non_product", "non-product lines"),
        )
    ]
    columns.append(Column("orders", "orders", integer, numeric=True))
    intro = paragraph(
        "Tracked: lines carrying the shop's customer id. Untracked: guest checkouts and lines "
        "without an id. Attributed: untracked revenue resolution gave to an identified customer; "
        "recovered: the part tied to a customer who also has other records."
    )
    return intro + chart + table(months, columns)


def data_quality(ctx: Context, section: Section) -> str:
    parts = []
    if REJECTED in ctx.tables:
        reasons, total = data.rejected_reasons(ctx.wh)
        if total:
            shown = "" if reasons["rows"].sum() == total else " (the most frequent reasons)"
            parts.append(paragraph(f"{total:,} input rows were rejected{shown}:", css=None))
            parts.append(
                table(
                    reasons,
                    [
                        Column("source", "source"),
                        Column("reason", "reason", text),
                        Column("rows", "rows", integer, numeric=True),
                    ],
                )
            )
        else:
            parts.append(paragraph("No input row was rejected.", css=None))
    if DATA_QUALITY in ctx.tables:
        problems, total = data.quality_problems(ctx.wh)
        if total:
            parts.append(
                paragraph(f"{total:,} values could not be read and were set to null:", css=None)
            )
            parts.append(
                table(
                    problems,
                    [
                        Column("source", "source"),
                        Column("column", "column"),
                        Column("problem", "problem", text),
                        Column("rows", "rows", integer, numeric=True),
                    ],
                )
            )
        else:
            parts.append(paragraph("Every kept value could be read.", css=None))
    parts.append(
        paragraph(f"Rows and raw values: tables {code(REJECTED)} and {code(DATA_QUALITY)}.")
    )
    return "".join(parts)


def run_metadata(ctx: Context, section: Section) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    items = [("report written", now), ("customerlens version", __version__)]
    items.append(("folder", str(ctx.directory)))
    for key, label in (
        ("first_day", "first day of data"),
        ("last_day", "last day of data"),
        ("cutoff", "evaluation cutoff"),
        ("train_cutoff", "latest training cutoff"),
        ("horizon_days", "horizon (days)"),
    ):
        value = ctx.metrics.get("dates", {}).get(key)
        if value is not None:
            items.append((label, str(value)))
    timings = ctx.metrics.get("timings", {})
    if timings:
        items.append(("stage seconds", ", ".join(f"{k} {v:.1f}" for k, v in timings.items())))
    parts = [pairs(items)]
    if RUN_METADATA in ctx.tables:
        runs = data.run_history(ctx.wh)
        runs["rows"] = runs["row_counts"].map(_counts)
        parts.append(
            "<h3>Stage runs</h3>"
            + table(
                runs,
                [
                    Column("stage", "stage"),
                    Column("status", "status"),
                    Column("version", "version"),
                    Column("started_at", "started (UTC)", lambda v: str(v)[:19], nowrap=True),
                    Column("seconds", "seconds", decimal(1), numeric=True),
                    Column("rows", "rows written"),
                ],
            )
        )
        files = _input_files(runs)
        if not files.empty:
            parts.append(
                "<h3>Input files (latest ingest)</h3>"
                + table(
                    files,
                    [
                        Column("role", "role"),
                        Column("path", "file"),
                        Column("bytes", "bytes", integer, numeric=True),
                        Column("blake2b", "BLAKE2b"),
                    ],
                )
            )
    return "".join(parts)


def _counts(raw: Any) -> str:
    try:
        counts = json.loads(raw) if isinstance(raw, str) else {}
    except ValueError:
        return ""
    return ", ".join(f"{k} {int(v):,}" for k, v in counts.items() if isinstance(v, int | float))


def _input_files(runs: pd.DataFrame) -> pd.DataFrame:
    ingests = runs[(runs["stage"] == "ingest") & (runs["status"] == "ok")]
    if ingests.empty:
        return pd.DataFrame()
    try:
        inputs = json.loads(ingests["inputs"].iloc[0] or "[]")
    except ValueError:
        return pd.DataFrame()
    return pd.DataFrame([i for i in inputs if isinstance(i, dict)])
