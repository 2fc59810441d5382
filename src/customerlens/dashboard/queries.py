"""Every query the dashboard runs, in one place: pandas frames out, aggregation in DuckDB.

The dashboard process opens the warehouse once (:func:`open_lens`, read-write: review
decisions are stored in it) and runs each read on a cursor of its own, so sessions do not
queue behind one another. Reads are cached per warehouse and parameters (``st.cache_data``);
anything a user types reaches SQL as a bound parameter, never as text. Tables a warehouse
lacks are the pages' business: they ask :func:`tables` first.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow.csv as pacsv
import streamlit as st

from customerlens import tables as T
from customerlens.config import Settings
from customerlens.errors import WarehouseError
from customerlens.resolve.explain import explain_pair
from customerlens.resolve.labels import record_decision
from customerlens.warehouse import DuckDBWarehouse, quote_literal, to_arrow

#: seconds a cached read lives (the sidebar's reload button clears them all)
TTL = 600
#: rows a page shows at most; the CSV download holds every row
SHOW_ROWS = 500
#: points of the PCA scatter (a fixed sample: the picture, not the data, is the point)
SCATTER_POINTS = 5_000

#: per-customer tables the Customer 360 page reads one row of
CUSTOMER_TABLES = (
    T.CUSTOMERS, T.CUSTOMER_FEATURES, T.RFM, T.CLV, T.CHURN, T.SEGMENTS, T.ACTIONS, T.ANOMALIES,
)  # fmt: skip


@dataclass
class Lens:
    """The dashboard's warehouse: one connection, a cursor per read, one lock for writes."""

    path: Path
    wh: DuckDBWarehouse
    lock: threading.Lock

    @contextmanager
    def cursor(self, sql: str) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of its own for ``sql``; DuckDB errors come back as WarehouseError."""
        cur = self.wh.connection.cursor()
        try:
            yield cur
        except duckdb.Error as exc:
            raise WarehouseError(f"DuckDB failed: {exc}", sql) from exc
        finally:
            cur.close()

    def frame(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        with self.cursor(sql) as cur:
            return cur.execute(sql, params or []).df()


@st.cache_resource(show_spinner=False)
def open_lens(path: str) -> Lens:
    """Open ``path`` once per dashboard process (DuckDB allows one writing process)."""
    settings = Settings()
    wh = DuckDBWarehouse(path, threads=settings.threads, memory_limit=settings.memory_limit)
    return Lens(Path(path), wh, threading.Lock())


def _frame(path: str, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
    return open_lens(path).frame(sql, params)


@st.cache_data(ttl=TTL, show_spinner=False)
def tables(path: str) -> frozenset[str]:
    """Names of the tables the warehouse holds."""
    df = _frame(
        path,
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_catalog = current_database()",
    )
    return frozenset(df["table_name"])


# -- overview -------------------------------------------------------------------------------
@st.cache_data(ttl=TTL, show_spinner=False)
def records_by_source(path: str) -> pd.DataFrame:
    """Identity records before resolution, per source."""
    return _frame(
        path, f"SELECT source, count(*) AS records FROM {T.RECORDS} GROUP BY source ORDER BY source"
    )


@st.cache_data(ttl=TTL, show_spinner=False)
def customer_count(path: str) -> int:
    return int(_frame(path, f"SELECT count(*) AS n FROM {T.CUSTOMERS}")["n"].iloc[0])


@st.cache_data(ttl=TTL, show_spinner=False)
def revenue_by_month(path: str) -> pd.DataFrame:
    return _frame(path, f"SELECT * FROM {T.REVENUE_GAP} ORDER BY month")


@st.cache_data(ttl=TTL, show_spinner=False)
def buyer_averages(path: str) -> pd.DataFrame:
    """Customers with a purchase, their mean and median net spend and orders."""
    return _frame(
        path,
        "SELECT count(*) AS buyers, avg(net_spend) AS mean_spend, "
        "median(net_spend) AS median_spend, avg(orders) AS mean_orders, "
        f"median(orders) AS median_orders FROM {T.CUSTOMER_FEATURES}",
    )


@st.cache_data(ttl=TTL, show_spinner=False)
def risk_summary(path: str) -> pd.DataFrame:
    """Value at risk (P(churn) x CLV expected value) in total and per risk band."""
    return _frame(
        path,
        "SELECT h.risk_band, count(*) AS customers, sum(a.value_at_risk) AS value_at_risk, "
        "any_value(h.horizon_days) AS horizon_days "
        f"FROM {T.ACTIONS} a JOIN {T.CHURN} h USING (customer_id) "
        "GROUP BY h.risk_band ORDER BY min(h.p_churn)",
    )


@st.cache_data(ttl=TTL, show_spinner=False)
def last_runs(path: str) -> pd.DataFrame:
    return _frame(
        path,
        f"SELECT stage, finished_at, seconds FROM {T.RUN_METADATA} "
        "QUALIFY row_number() OVER (PARTITION BY stage ORDER BY finished_at DESC) = 1 "
        "ORDER BY finished_at",
    )


# -- identity -------------------------------------------------------------------------------
@st.cache_data(ttl=TTL, show_spinner=False)
def merges_by_source(path: str) -> pd.DataFrame:
    """Per source: records, the customers they became, duplicates merged, tiers."""
    return _frame(
        path,
        f"""
        WITH per_customer AS (
            SELECT customer_id, count(DISTINCT source) AS sources
            FROM {T.RECORD_CUSTOMER} GROUP BY customer_id
        )
        SELECT rc.source, count(*) AS records, count(DISTINCT rc.customer_id) AS customers,
               count(*) - count(DISTINCT rc.customer_id) AS duplicates_merged,
               count(*) FILTER (WHERE pc.sources > 1) AS linked_to_other_sources,
               count(*) FILTER (WHERE rc.tier = 'auto') AS tier_auto,
               count(*) FILTER (WHERE rc.tier = 'review') AS tier_review,
               count(*) FILTER (WHERE rc.tier = 'single') AS tier_single
        FROM {T.RECORD_CUSTOMER} rc JOIN per_customer pc USING (customer_id)
        GROUP BY rc.source ORDER BY rc.source
        """,
    )


@st.cache_data(ttl=TTL, show_spinner=False)
def largest_customers(path: str, limit: int = 10) -> pd.DataFrame:
    return _frame(
        path,
        "SELECT customer_id, first_name, surname, records, accounts, crm_entries, guest_sessions "
        f"FROM {T.CUSTOMERS} ORDER BY records DESC, customer_id LIMIT ?",
        [limit],
    )


@st.cache_data(ttl=TTL, show_spinner=False)
def linked_records(path: str, customer_id: str) -> pd.DataFrame:
    """Every record resolved into ``customer_id``, with its identifying fields."""
    return _frame(
        path,
        "SELECT rc.source, rc.record_id, rc.tier, rc.match_probability, r.first_name, "
        "r.surname, r.email, r.phone, r.postcode, r.address, r.date_of_birth, r.record_date "
        f"FROM {T.RECORD_CUSTOMER} rc LEFT JOIN {T.RECORDS} r USING (source, record_id) "
        "WHERE rc.customer_id = ? ORDER BY rc.source, rc.record_id",
        [customer_id],
    )


def _undecided(present: frozenset[str]) -> str:
    """Review-queue rows without a label yet (labels apply at the next resolve)."""
    if T.LABELS not in present:
        return f"SELECT * FROM {T.REVIEW_QUEUE}"
    return (
        f"SELECT q.* FROM {T.REVIEW_QUEUE} q ANTI JOIN {T.LABELS} l "
        "ON l.unique_id_l = least(q.unique_id_l, q.unique_id_r) "
        "AND l.unique_id_r = greatest(q.unique_id_l, q.unique_id_r)"
    )


@st.cache_data(ttl=TTL, show_spinner=False)
def review_counts(path: str) -> dict[str, int]:
    """Pairs in the queue, still undecided, and decisions stored."""
    present = tables(path)
    queued = _frame(path, f"SELECT count(*) AS n FROM {T.REVIEW_QUEUE}")["n"].iloc[0]
    open_ = _frame(path, f"SELECT count(*) AS n FROM ({_undecided(present)})")["n"].iloc[0]
    decided = 0
    if T.LABELS in present:
        decided = _frame(
            path,
            f"SELECT count(*) AS n FROM (SELECT DISTINCT unique_id_l, unique_id_r FROM {T.LABELS})",
        )["n"].iloc[0]
    return {"queued": int(queued), "open": int(open_), "decided": int(decided)}


@st.cache_data(ttl=TTL, show_spinner=False)
def review_page(path: str, offset: int, limit: int) -> pd.DataFrame:
    """Undecided pairs, most likely matches first, with both customers' names."""
    return _frame(
        path,
        "SELECT q.pair_id, q.unique_id_l, q.unique_id_r, q.customer_id_l, q.customer_id_r, "
        "q.match_probability, q.decision_probability, q.record_pairs, q.conflict, "
        "cl.first_name || ' ' || cl.surname AS name_l, cl.records AS records_l, "
        "cr.first_name || ' ' || cr.surname AS name_r, cr.records AS records_r "
        f"FROM ({_undecided(tables(path))}) q "
        f"LEFT JOIN {T.CUSTOMERS} cl ON cl.customer_id = q.customer_id_l "
        f"LEFT JOIN {T.CUSTOMERS} cr ON cr.customer_id = q.customer_id_r "
        "ORDER BY q.decision_probability DESC, q.pair_id LIMIT ? OFFSET ?",
        [limit, offset],
    )


@st.cache_data(ttl=TTL, show_spinner=False)
def pair_evidence(path: str, unique_id_l: str, unique_id_r: str) -> pd.DataFrame:
    """Field by field: both values, the level reached and its weight (resolve's explanation)."""
    lens = open_lens(path)
    with lens.lock:  # explain_pair reads through the warehouse's own connection
        evidence = explain_pair(lens.wh, unique_id_l, unique_id_r)
    for side in ("left", "right"):  # text and dates in one column: show them all as text
        evidence[side] = [_text(v) for v in evidence[side]]
    return evidence


def _text(value: Any) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.date().isoformat() if isinstance(value, pd.Timestamp) else str(value)


@st.cache_data(ttl=TTL, show_spinner=False)
def recent_labels(path: str, limit: int = 20) -> pd.DataFrame:
    return _frame(
        path,
        f"SELECT decided_at, pair_id, unique_id_l, unique_id_r, label, decided_by FROM {T.LABELS} "
        "ORDER BY decided_at DESC LIMIT ?",
        [limit],
    )


def decide(path: str, pair: dict[str, Any], decision: str, reviewer: str) -> str:
    """Store an accept / reject in ``labels`` and forget every read that depends on it."""
    lens = open_lens(path)
    with lens.lock:
        label = record_decision(
            lens.wh,
            str(pair["unique_id_l"]),
            str(pair["unique_id_r"]),
            decision,
            who=reviewer,
            pair_id=str(pair["pair_id"]),
        )
    for cached in (tables, review_counts, review_page, recent_labels):
        cached.clear()
    return label


# -- segments -------------------------------------------------------------------------------
@st.cache_data(ttl=TTL, show_spinner=False)
def segment_sizes(path: str) -> pd.DataFrame:
    """Customers per segment, their share, and their net spend (total and mean)."""
    spend = T.CUSTOMER_FEATURES in tables(path)
    join = f"LEFT JOIN {T.CUSTOMER_FEATURES} f USING (customer_id)" if spend else ""
    columns = (
        "sum(f.net_spend) AS net_spend, avg(f.net_spend) AS mean_spend, "
        "median(f.net_spend) AS median_spend"
        if spend
        else "NULL AS net_spend, NULL AS mean_spend, NULL AS median_spend"
    )
    return _frame(
        path,
        f"SELECT s.segment, s.segment_name, count(*) AS customers, "
        f"count(*) / sum(count(*)) OVER () AS share, {columns} "
        f"FROM {T.SEGMENTS} s {join} GROUP BY ALL ORDER BY s.segment",
    )


@st.cache_data(ttl=TTL, show_spinner=False)
def pca_sample(path: str, points: int = SCATTER_POINTS) -> pd.DataFrame:
    """A fixed random sample of the segments' 2-D PCA map."""
    return _frame(
        path,
        # DuckDB takes only a literal sample size (an int here, never user text)
        f"SELECT customer_id, segment_name, pca_x, pca_y FROM {T.SEGMENTS} "
        f"USING SAMPLE reservoir({int(points)} ROWS) REPEATABLE (7)",
    )


@st.cache_data(ttl=TTL, show_spinner=False)
def segment_profiles(path: str) -> pd.DataFrame:
    return _frame(path, f"SELECT * FROM {T.SEGMENT_PROFILES} ORDER BY segment")


@st.cache_data(ttl=TTL, show_spinner=False)
def segment_transitions(path: str) -> pd.DataFrame:
    return _frame(
        path,
        f"SELECT * FROM {T.SEGMENT_TRANSITIONS} ORDER BY segment_before, segment_after",
    )


# -- customer 360 ---------------------------------------------------------------------------
@st.cache_data(ttl=TTL, show_spinner=False)
def search_customers(path: str, term: str, limit: int = 25) -> pd.DataFrame:
    """Customers whose id, a record id, the name or the email contains ``term``."""
    needle = term.strip().lower()
    return _frame(
        path,
        "SELECT customer_id, first_name, surname, email, postcode, records "
        f"FROM {T.CUSTOMERS} WHERE customer_id = ? "
        f"OR customer_id IN (SELECT customer_id FROM {T.RECORD_CUSTOMER} WHERE record_id = ?) "
        "OR contains(lower(customer_id), ?) OR contains(lower(coalesce(email, '')), ?) "
        "OR contains(lower(concat_ws(' ', first_name, surname)), ?) "
        "ORDER BY customer_id = ? DESC, records DESC, customer_id LIMIT ?",
        [term.strip(), term.strip(), needle, needle, needle, term.strip(), limit],
    )


@st.cache_data(ttl=TTL, show_spinner=False)
def priority_customers(path: str, limit: int = 25) -> pd.DataFrame:
    """Where to start without a search: the most value at risk, else the most records."""
    if T.ACTIONS in tables(path):
        return _frame(
            path,
            "SELECT c.customer_id, c.first_name, c.surname, c.email, c.postcode, c.records "
            f"FROM {T.ACTIONS} a JOIN {T.CUSTOMERS} c USING (customer_id) "
            "ORDER BY a.rank LIMIT ?",
            [limit],
        )
    return _frame(
        path,
        "SELECT customer_id, first_name, surname, email, postcode, records "
        f"FROM {T.CUSTOMERS} ORDER BY records DESC, customer_id LIMIT ?",
        [limit],
    )


@st.cache_data(ttl=TTL, show_spinner=False)
def customer_row(path: str, table: str, customer_id: str) -> dict[str, Any] | None:
    """One customer's row of a per-customer table (one of :data:`CUSTOMER_TABLES`)."""
    if table not in CUSTOMER_TABLES:
        raise ValueError(f"{table!r} is not a per-customer table")
    df = _frame(path, f"SELECT * FROM {table} WHERE customer_id = ? LIMIT 1", [customer_id])
    return None if df.empty else {str(k): v for k, v in df.iloc[0].to_dict().items()}


@st.cache_data(ttl=TTL, show_spinner=False)
def purchase_timeline(path: str, customer_id: str) -> pd.DataFrame:
    """The customer's orders: day, lines, net amount (returns negative), tracked or not."""
    return _frame(
        path,
        "SELECT order_id, min(day) AS day, count(*) AS lines, sum(amount) AS amount, "
        "bool_and(tracked) AS tracked "
        f"FROM {T.SALES} WHERE customer_id = ? AND kind = 'product' "
        "GROUP BY order_id ORDER BY day, order_id",
        [customer_id],
    )


@st.cache_data(ttl=TTL, show_spinner=False)
def churn_calibration(path: str) -> pd.DataFrame:
    """Out of time, per tenth of P(churn): customers scored there and the share that churned."""
    return _frame(
        path,
        "SELECT least(floor(p_churn * 10), 9)::INTEGER AS band, count(*) AS customers, "
        "avg(p_churn) AS predicted, avg(churned::DOUBLE) AS observed, any_value(cutoff) AS cutoff "
        f"FROM {T.CHURN_EVALUATION} GROUP BY band ORDER BY band",
    )


@st.cache_data(ttl=TTL, show_spinner=False)
def lookalikes(path: str, customer_id: str) -> pd.DataFrame:
    segment = T.SEGMENTS in tables(path)
    return _frame(
        path,
        "SELECT l.rank, l.lookalike_id, l.similarity, c.first_name, c.surname"
        + (", s.segment_name" if segment else "")
        + f" FROM {T.LOOKALIKES} l LEFT JOIN {T.CUSTOMERS} c ON c.customer_id = l.lookalike_id"
        + (f" LEFT JOIN {T.SEGMENTS} s ON s.customer_id = l.lookalike_id" if segment else "")
        + " WHERE l.customer_id = ? ORDER BY l.rank",
        [customer_id],
    )


@st.cache_data(ttl=TTL, show_spinner=False)
def recommendations(path: str, customer_id: str) -> pd.DataFrame:
    return _frame(
        path,
        f"SELECT rank, product_id, product_name, score, source FROM {T.RECOMMENDATIONS} "
        "WHERE customer_id = ? ORDER BY rank",
        [customer_id],
    )


# -- target list ----------------------------------------------------------------------------
@dataclass(frozen=True)
class TargetFilter:
    """Which customers a target list holds; empty choices mean no restriction."""

    segments: tuple[str, ...] = ()
    risk_bands: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    p_churn: tuple[float, float] = (0.0, 1.0)
    #: percentile (0-100) of CLV expected value
    value_percentile: tuple[float, float] = (0.0, 100.0)


#: the report's parts: table, how it joins, and the columns it adds (in report order)
_REPORT_PARTS: tuple[tuple[str, str, str], ...] = (
    (T.CUSTOMERS, f"LEFT JOIN {T.CUSTOMERS} c USING (customer_id)",
     "c.first_name, c.surname, c.email"),
    (T.SEGMENTS, f"LEFT JOIN {T.SEGMENTS} s USING (customer_id)",
     "s.segment, s.segment_name, s.membership_probability AS segment_membership, "
     "s.outlier AS segment_outlier"),
    (T.RFM, f"LEFT JOIN {T.RFM} r USING (customer_id)",
     "r.segment AS rfm_segment, r.r_score, r.f_score, r.m_score"),
    (T.CLV, f"LEFT JOIN {T.CLV} v USING (customer_id)",
     "v.horizon_days, v.expected_purchases, v.expected_purchases_low, "
     "v.expected_purchases_high, v.expected_value AS clv_expected_value, "
     "v.expected_value_low AS clv_value_low, v.expected_value_high AS clv_value_high, "
     "CASE WHEN v.expected_value IS NOT NULL THEN round(100 * percent_rank() OVER ("
     "PARTITION BY v.expected_value IS NULL ORDER BY v.expected_value), 2) END "
     "AS value_percentile"),
    (T.CHURN, f"LEFT JOIN {T.CHURN} h USING (customer_id)",
     "h.p_churn, h.risk_band, h.predicted_spend"),
    # the calibrated confidence: how often customers scored in the same tenth churned
    (T.CHURN_EVALUATION, "LEFT JOIN calibration cal ON cal.band = least(floor(h.p_churn * 10), 9)",
     "cal.observed AS churn_observed_in_band, cal.customers AS churn_band_customers"),
    (T.ACTIONS, f"LEFT JOIN {T.ACTIONS} a USING (customer_id)",
     "a.rank AS priority, a.action, a.why, a.value_at_risk"),
    (T.ANOMALIES, f"LEFT JOIN {T.ANOMALIES} n USING (customer_id)",
     "n.is_anomaly, n.reason AS anomaly_reason"),
)  # fmt: skip

#: the report's columns the target-list table shows (the CSV has them all)
SHOWN = (
    "priority", "customer_id", "first_name", "surname", "email", "segment_name", "rfm_segment",
    "risk_band", "p_churn", "churn_observed_in_band", "clv_expected_value", "clv_value_low",
    "clv_value_high", "value_at_risk", "action", "orders", "net_spend", "recency_days",
)  # fmt: skip


def report_sql(
    present: frozenset[str], flt: TargetFilter, columns: tuple[str, ...] = ()
) -> tuple[str, list[Any]]:
    """The intelligence report (one row per customer with a purchase) under ``flt``.

    Parts whose table is missing are left out, and so are the filters that need them;
    ``columns`` keeps only those of the report's columns (all when empty).
    """
    joins, parts = [], ["f.customer_id"]
    for table, join, cols in _REPORT_PARTS:
        if table in present and (table != T.CHURN_EVALUATION or T.CHURN in present):
            joins.append(join)
            parts.append(cols)
    parts.append("f.* EXCLUDE (customer_id)")
    calibration = (
        "calibration AS (SELECT least(floor(p_churn * 10), 9) AS band, count(*) AS customers, "
        f"round(avg(churned::DOUBLE), 4) AS observed FROM {T.CHURN_EVALUATION} GROUP BY band), "
        if T.CHURN_EVALUATION in present and T.CHURN in present
        else ""
    )
    where, params = _target_where(present, flt)
    order = "priority NULLS LAST, " if T.ACTIONS in present else ""
    sql = (
        f"WITH {calibration}report AS (SELECT {', '.join(parts)} "
        f"FROM {T.CUSTOMER_FEATURES} f {' '.join(joins)}) "
        f"SELECT {_keep(columns)} FROM report {where} "
        f"ORDER BY {order}net_spend DESC, customer_id"
    )
    return sql, params


def _keep(columns: tuple[str, ...]) -> str:
    if not columns:
        return "*"
    return f"COLUMNS({quote_literal('^(' + '|'.join(columns) + ')$')})"


def _target_where(present: frozenset[str], flt: TargetFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if flt.segments and T.SEGMENTS in present:
        clauses.append("list_contains(?::VARCHAR[], segment_name)")
        params.append(list(flt.segments))
    if flt.risk_bands and T.CHURN in present:
        clauses.append("list_contains(?::VARCHAR[], risk_band)")
        params.append(list(flt.risk_bands))
    if flt.actions and T.ACTIONS in present:
        clauses.append("list_contains(?::VARCHAR[], action)")
        params.append(list(flt.actions))
    if tuple(flt.p_churn) != (0.0, 1.0) and T.CHURN in present:
        clauses.append("p_churn BETWEEN ? AND ?")
        params += [float(flt.p_churn[0]), float(flt.p_churn[1])]
    if tuple(flt.value_percentile) != (0.0, 100.0) and T.CLV in present:
        clauses.append("value_percentile BETWEEN ? AND ?")
        params += [float(flt.value_percentile[0]), float(flt.value_percentile[1])]
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), params


@st.cache_data(ttl=TTL, show_spinner=False)
def target_options(path: str) -> dict[str, list[str]]:
    """The values each target-list filter offers."""
    present = tables(path)
    out: dict[str, list[str]] = {"segments": [], "risk_bands": [], "actions": []}
    if T.SEGMENTS in present:
        out["segments"] = _frame(
            path, f"SELECT segment_name FROM {T.SEGMENTS} GROUP BY ALL ORDER BY min(segment)"
        )["segment_name"].tolist()
    if T.CHURN in present:
        out["risk_bands"] = _frame(
            path, f"SELECT risk_band FROM {T.CHURN} GROUP BY ALL ORDER BY min(p_churn)"
        )["risk_band"].tolist()
    if T.ACTIONS in present:
        out["actions"] = _frame(
            path, f"SELECT action FROM {T.ACTIONS} GROUP BY ALL ORDER BY count(*) DESC, action"
        )["action"].tolist()
    return out


@st.cache_data(ttl=TTL, show_spinner=False)
def target_summary(path: str, flt: TargetFilter) -> dict[str, float]:
    """How many customers the filter keeps, their CLV and value at risk."""
    present = tables(path)
    sql, params = report_sql(present, flt)
    value = "sum(clv_expected_value)" if T.CLV in present else "NULL"
    at_risk = "sum(value_at_risk)" if T.ACTIONS in present else "NULL"
    df = _frame(
        path,
        f"SELECT count(*) AS customers, {value} AS clv, {at_risk} AS value_at_risk FROM ({sql})",
        params,
    )
    return {str(k): v for k, v in df.iloc[0].to_dict().items()}


@st.cache_data(ttl=TTL, show_spinner=False)
def target_rows(path: str, flt: TargetFilter, limit: int = SHOW_ROWS) -> pd.DataFrame:
    sql, params = report_sql(tables(path), flt, SHOWN)
    return _frame(path, f"{sql} LIMIT ?", [*params, limit])


def report_csv(lens: Lens, present: frozenset[str], flt: TargetFilter) -> bytes:
    """Every row of the filtered report as CSV (runs when the download is clicked)."""
    sql, params = report_sql(present, flt)
    with lens.cursor(sql) as cur:
        data = to_arrow(cur.sql(sql, params=params or None))
    buffer = io.BytesIO()
    pacsv.write_csv(data, buffer)
    return buffer.getvalue()
