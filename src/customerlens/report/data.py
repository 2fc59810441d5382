"""What the report shows, aggregated in SQL on the warehouse.

Every function takes a :class:`~customerlens.warehouse.Warehouse` and returns a small
DataFrame or dict: sums, counts, bins and quantiles are computed by the engine, and the only
per-customer rows that leave it are a bounded sample of points for the PCA map (about a second
for the report of a 100,000-person shop, see docs/report.md).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from customerlens.tables import (
    ACTIONS,
    CHURN_EVALUATION,
    CLV,
    CUSTOMER_FEATURES,
    DATA_QUALITY,
    RECORD_CUSTOMER,
    RECORDS,
    REJECTED,
    REVENUE_GAP,
    RFM,
    RUN_METADATA,
    SEGMENT_PROFILES,
    SEGMENTS,
)
from customerlens.warehouse import Warehouse

#: at most this many customers are drawn for the PCA scatter
PCA_SAMPLE = 20_000
#: bins of the CLV histogram and of the reliability curves
CLV_BINS = 40
RELIABILITY_BINS = 10


def _row(wh: Warehouse, sql: str) -> dict[str, Any]:
    frame = wh.query_df(sql)
    return {} if frame.empty else {str(k): v for k, v in frame.iloc[0].to_dict().items()}


def identity_counts(wh: Warehouse, tables: set[str]) -> dict[str, Any]:
    """Identity records per source, the customers they resolved to, and anonymous records.

    After ``resolve``, records without any identifying field (a guest invoice with no name,
    email, phone or postcode) are counted apart: resolution leaves each alone and no sale is
    attributed through them, so they are neither customers nor duplicates. Before ``resolve``
    (``customers`` is ``None``) every record counts; ``{}`` before ``ingest``.
    """
    if RECORD_CUSTOMER in tables:
        columns = wh.query_df(f"SELECT * FROM {RECORD_CUSTOMER} LIMIT 0").columns
        known = "identity_fields > 0" if "identity_fields" in columns else "true"
        by_source = wh.query_df(
            f"""SELECT source, count(*) FILTER (WHERE {known}) AS n,
                       count(*) FILTER (WHERE NOT ({known})) AS anonymous
                FROM {RECORD_CUSTOMER} GROUP BY 1 ORDER BY 1"""
        )
        customers: int | None = int(
            wh.scalar(
                f"SELECT count(DISTINCT customer_id) FILTER (WHERE {known}) FROM {RECORD_CUSTOMER}"
            )
        )
    elif RECORDS in tables:
        by_source = wh.query_df(
            f"SELECT source, count(*) AS n, 0 AS anonymous FROM {RECORDS} GROUP BY 1 ORDER BY 1"
        )
        customers = None
    else:
        return {}
    return {
        "records": {
            str(s): int(n) for s, n in zip(by_source["source"], by_source["n"], strict=True)
        },
        "anonymous": int(by_source["anonymous"].sum()),
        "customers": customers,
    }


def revenue_totals(wh: Warehouse) -> dict[str, Any]:
    """Net product revenue, non-product lines, tracked, untracked, attributed and recovered."""
    return _row(
        wh,
        f"""SELECT sum(revenue) AS revenue, sum(non_product) AS non_product,
                   sum(tracked) AS tracked, sum(untracked) AS untracked,
                   sum(attributed) AS attributed, sum(recovered) AS recovered,
                   sum(orders) AS orders
            FROM {REVENUE_GAP}""",
    )


def customer_averages(wh: Warehouse) -> dict[str, Any]:
    """Buying customers, their average net spend and average number of orders."""
    return _row(
        wh,
        f"""SELECT count(*) AS customers, avg(net_spend) AS avg_spend, avg(orders) AS avg_orders
            FROM {CUSTOMER_FEATURES}""",
    )


def value_at_risk(wh: Warehouse) -> float:
    """Sum of value at risk (P(churn) × CLV expected value) over every customer."""
    return float(wh.scalar(f"SELECT coalesce(sum(value_at_risk), 0) FROM {ACTIONS}"))


def segment_count(wh: Warehouse) -> int:
    return int(wh.scalar(f"SELECT count(*) FROM {SEGMENT_PROFILES}"))


def revenue_by_month(wh: Warehouse) -> pd.DataFrame:
    return wh.query_df(f"SELECT * FROM {REVENUE_GAP} ORDER BY month")


def rfm_sizes(wh: Warehouse) -> pd.DataFrame:
    """Customers per named RFM segment, with the segment's share and mean R, F and M."""
    return wh.query_df(
        f"""SELECT segment, count(*) AS customers, count(*) / sum(count(*)) OVER () AS share,
                   avg(recency) AS recency, avg(frequency) AS frequency,
                   avg(monetary) AS monetary
            FROM {RFM} GROUP BY segment ORDER BY customers DESC, segment"""
    )


def clv_summary(wh: Warehouse) -> dict[str, Any]:
    """Totals and quantiles of CLV expected value over the horizon."""
    return _row(
        wh,
        f"""SELECT count(*) AS customers, sum(expected_value) AS total,
                   avg(expected_value) AS mean,
                   quantile_cont(expected_value, 0.5) AS median,
                   quantile_cont(expected_value, 0.9) AS p90,
                   quantile_cont(expected_value, 0.99) AS p99,
                   max(expected_value) AS max,
                   sum(expected_purchases) AS purchases,
                   avg(p_no_purchase) AS p_no_purchase,
                   count(*) FILTER (WHERE expected_value <= 0) AS not_positive,
                   max(horizon_days) AS horizon_days
            FROM {CLV}""",
    )


def clv_histogram(
    wh: Warehouse, bins: int = CLV_BINS, floor_quantile: float = 0.01
) -> pd.DataFrame:
    """Counts of positive CLV expected values in ``bins`` log-spaced bins.

    Columns ``bin`` (0 and the last always occur), ``low``, ``high`` (its edges) and
    ``customers``; bins without customers are absent. The lowest edge is the
    ``floor_quantile`` of the positive values and anything below it is counted in the first
    bin: a few near-zero values (1e-8) would otherwise stretch the axis over ten decades.
    """
    return wh.query_df(
        f"""WITH v AS (SELECT ln(expected_value) AS x FROM {CLV} WHERE expected_value > 0),
                 r AS (SELECT quantile_cont(x, {floor_quantile}) AS lo,
                              greatest(max(x) - quantile_cont(x, {floor_quantile}), 1e-9) AS span
                       FROM v),
                 b AS (SELECT greatest(least(floor((x - lo) / span * {bins}), {bins - 1}), 0)
                              ::INTEGER AS bin
                       FROM v, r)
            SELECT bin, exp(lo + span * bin / {bins}) AS low,
                   exp(lo + span * (bin + 1) / {bins}) AS high,
                   count(*) AS customers
            FROM b, r GROUP BY bin, lo, span ORDER BY bin"""
    )


def reliability(wh: Warehouse, column: str, bins: int = RELIABILITY_BINS) -> pd.DataFrame:
    """Predicted vs observed churn in ``bins`` equal-width bins of ``column``.

    ``column`` is ``p_churn`` (the churn model) or ``clv_p_no_purchase`` (the CLV model's own
    P(no purchase), the baseline), read from the out-of-time evaluation.
    """
    return wh.query_df(
        f"""SELECT least(floor({column} * {bins}), {bins - 1})::INTEGER AS bin,
                   count(*) AS customers, avg({column}) AS predicted,
                   avg(churned::DOUBLE) AS observed
            FROM {CHURN_EVALUATION}
            WHERE {column} IS NOT NULL AND churned IS NOT NULL
            GROUP BY 1 ORDER BY 1"""
    )


def churn_evaluation_summary(wh: Warehouse) -> dict[str, Any]:
    return _row(
        wh,
        f"""SELECT count(*) AS customers, min(cutoff) AS cutoff, avg(churned::DOUBLE) AS rate
            FROM {CHURN_EVALUATION}""",
    )


def segment_profiles(wh: Warehouse) -> pd.DataFrame:
    return wh.query_df(f"SELECT * FROM {SEGMENT_PROFILES} ORDER BY size DESC, segment")


def pca_points(wh: Warehouse, limit: int = PCA_SAMPLE, seed: int = 42) -> tuple[pd.DataFrame, int]:
    """At most ``limit`` customers' PCA coordinates and segment names, and how many there are."""
    total = int(wh.scalar(f"SELECT count(*) FROM {SEGMENTS} WHERE pca_x IS NOT NULL"))
    sample = (
        f"USING SAMPLE reservoir({int(limit)} ROWS) REPEATABLE ({int(seed)})"
        if total > limit
        else ""
    )
    points = wh.query_df(
        f"""SELECT pca_x, pca_y, segment_name FROM {SEGMENTS}
            WHERE pca_x IS NOT NULL AND pca_y IS NOT NULL {sample}"""
    )
    return points, total


def actions_by_action(wh: Warehouse) -> pd.DataFrame:
    """Customers and value at risk per recommended action, largest value at risk first."""
    return wh.query_df(
        f"""SELECT action, count(*) AS customers, sum(value_at_risk) AS value_at_risk,
                   avg(p_churn) AS p_churn
            FROM {ACTIONS} GROUP BY action ORDER BY value_at_risk DESC, action"""
    )


def top_actions(wh: Warehouse, limit: int = 25) -> pd.DataFrame:
    """The ``limit`` customers with the most value at risk (ids only: no personal data)."""
    return wh.query_df(
        f"""SELECT rank, customer_id, rfm_segment, segment_name, p_churn, value,
                   value_at_risk, action
            FROM {ACTIONS} ORDER BY rank LIMIT {int(limit)}"""
    )


def rejected_reasons(wh: Warehouse, limit: int = 30) -> tuple[pd.DataFrame, int]:
    """Rejected input rows per source and reason (the most frequent first), and all rejected."""
    total = int(wh.scalar(f"SELECT count(*) FROM {REJECTED}"))
    rows = wh.query_df(
        f"""SELECT source, reason, count(*) AS rows FROM {REJECTED}
            GROUP BY 1, 2 ORDER BY rows DESC, source, reason LIMIT {int(limit)}"""
    )
    return rows, total


def quality_problems(wh: Warehouse, limit: int = 30) -> tuple[pd.DataFrame, int]:
    """Values set to null per source, column and problem, and how many there are in all."""
    total = int(wh.scalar(f"SELECT count(*) FROM {DATA_QUALITY}"))
    rows = wh.query_df(
        f"""SELECT source, "column", problem, count(*) AS rows FROM {DATA_QUALITY}
            GROUP BY 1, 2, 3 ORDER BY rows DESC, source, "column" LIMIT {int(limit)}"""
    )
    return rows, total


def run_history(wh: Warehouse, limit: int = 20) -> pd.DataFrame:
    """The latest stage runs: stage, status, start, seconds, rows written, input files."""
    return wh.query_df(
        f"""SELECT stage, version, status, started_at, seconds, row_counts::VARCHAR AS row_counts,
                   inputs::VARCHAR AS inputs
            FROM {RUN_METADATA} ORDER BY started_at DESC LIMIT {int(limit)}"""
    )
