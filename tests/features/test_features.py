"""Sales, revenue gap, customer features and RFM on real data and on edge cases."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from customerlens.config import NON_PRODUCT_WORDS, FeatureOptions, SourceConfig
from customerlens.errors import ConfigError
from customerlens.features.customer import (
    FEATURE_COLUMNS,
    btyd_summary_sql,
    features_sql,
    labelled_sql,
)
from customerlens.features.pipeline import choose_dates, run_features
from customerlens.features.rfm import FALLBACK_SEGMENT, SEGMENT_RULES, segment_case
from customerlens.ingest import ingest
from customerlens.resolve.pipeline import resolve
from customerlens.warehouse import DuckDBWarehouse

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
RETAIL = SHARED / "online_retail" / "online_retail.parquet"


@pytest.fixture(scope="module")
def retail(tmp_path_factory: pytest.TempPathFactory) -> DuckDBWarehouse:
    if not RETAIL.exists():
        pytest.skip(f"shared data set missing: {RETAIL}")
    wh = DuckDBWarehouse(tmp_path_factory.mktemp("retail"))
    ingest(wh, {"transactions": SourceConfig(path=RETAIL)})
    resolve(wh)
    run_features(wh, FeatureOptions())
    return wh


def test_online_retail_revenue_and_customers(retail: DuckDBWarehouse) -> None:
    """Net revenue, untracked share and customers, derived here with pandas from the file."""
    raw = pd.read_parquet(RETAIL)
    raw["amount"] = raw["Quantity"] * raw["UnitPrice"]
    words = re.compile(r"\b(" + "|".join(re.escape(w) for w in NON_PRODUCT_WORDS) + r")\b")
    service = raw["Description"].fillna("").str.lower().map(lambda d: bool(words.search(d)))
    product = raw[~service]
    total = product["amount"].sum()
    untracked = product.loc[product["CustomerID"].isna(), "amount"].sum()
    revenue = retail.query(
        "SELECT sum(revenue) AS total, sum(untracked) AS untracked, sum(non_product) AS np "
        "FROM revenue_gap"
    ).to_pylist()[0]
    assert revenue["total"] == pytest.approx(total, abs=0.01)
    assert revenue["untracked"] == pytest.approx(untracked, abs=0.01)
    assert revenue["np"] == pytest.approx(raw.loc[service, "amount"].sum(), abs=0.01)
    # cancellations are netted: the gross sum of positive lines is larger
    assert product.loc[product["amount"] > 0, "amount"].sum() > total
    assert retail.row_count("customer_features") == product["CustomerID"].nunique()
    # every line is in sales exactly once
    assert retail.row_count("sales") == len(raw)


def test_features_never_read_after_the_cutoff(retail: DuckDBWarehouse) -> None:
    """Features at a cutoff on all data equal features on data cut at that day."""
    cutoff = dt.date(2011, 6, 30)
    full = retail.query_df(features_sql(cutoff) + " ORDER BY customer_id")
    retail.execute(
        "CREATE OR REPLACE TEMP TABLE sales_cut AS "
        f"SELECT * FROM sales WHERE day <= DATE '{cutoff}'"
    )
    cut = retail.query_df(features_sql(cutoff, source="sales_cut") + " ORDER BY customer_id")
    pd.testing.assert_frame_equal(full, cut)
    # the CLV model's summary (which churn also uses as features) obeys the same rule
    pd.testing.assert_frame_equal(
        retail.query_df(btyd_summary_sql(cutoff, 7)),
        retail.query_df(btyd_summary_sql(cutoff, 7, source="sales_cut")),
    )
    # and the outcome reads only the horizon: data past it changes nothing
    retail.execute(
        "CREATE OR REPLACE TEMP TABLE sales_h AS SELECT * FROM sales "
        f"WHERE day <= DATE '{cutoff}' + 90"
    )
    a = retail.query_df(labelled_sql(cutoff, 90))
    b = retail.query_df(labelled_sql(cutoff, 90, source="sales_h"))
    pd.testing.assert_frame_equal(a, b)
    assert set(FEATURE_COLUMNS) <= set(a.columns)
    assert 0.2 < a["churned"].mean() < 0.8  # a real mix of outcomes, not a degenerate label


def test_rfm_on_retail(retail: DuckDBWarehouse) -> None:
    rfm = retail.query_df("SELECT * FROM rfm")
    assert len(rfm) == retail.row_count("customer_features")
    scored = rfm.dropna(subset=["r_score"])
    for col in ("r_score", "f_score", "m_score"):
        assert scored[col].between(1, 5).all()
    # the most recent buyers score R 5, the longest gone R 1
    assert scored.loc[scored["recency"].idxmin(), "r_score"] == 5
    assert scored.loc[scored["recency"].idxmax(), "r_score"] == 1
    # one-order customers share one F score, the lowest
    assert scored.loc[scored["frequency"] == 1, "f_score"].unique().tolist() == [1]
    names = {r[0] for r in SEGMENT_RULES}
    assert set(rfm["segment"]) <= names | {FALLBACK_SEGMENT}
    assert len(set(rfm["segment"]) & names) >= 9


def test_segment_rules_cover_the_grid() -> None:
    con = duckdb.connect()
    grid = con.sql(
        f"SELECT r, fm, {segment_case('r', 'fm')} AS s FROM range(1, 6) a(r), range(1, 6) b(fm)"
    ).df()
    assert set(grid["s"]) == {r[0] for r in SEGMENT_RULES}  # all 11, none unreachable
    missing = con.sql(f"SELECT {segment_case('NULL', 'NULL')} AS s").fetchall()[0][0]
    assert missing == FALLBACK_SEGMENT


def test_choose_dates_errors() -> None:
    first, last = dt.date(2020, 1, 1), dt.date(2020, 12, 31)
    d = choose_dates(first, last, FeatureOptions(horizon_days=90))
    assert d.cutoff == last - dt.timedelta(days=90)
    assert d.train_cutoff == d.cutoff - dt.timedelta(days=90)
    with pytest.raises(ConfigError, match="outside the data"):
        choose_dates(first, last, FeatureOptions(cutoff=dt.date(2021, 3, 1)))
    with pytest.raises(ConfigError, match="runs past the data"):
        choose_dates(first, last, FeatureOptions(cutoff=dt.date(2020, 12, 1)))
    with pytest.raises(ConfigError, match="too short"):
        choose_dates(first, last, FeatureOptions(horizon_days=200))


def _shop(write_csv, lines: list[list[str]]) -> dict[str, SourceConfig]:  # type: ignore[no-untyped-def]
    path = write_csv(
        "transactions.csv",
        ["invoice", "event_time", "product_id", "product_name", "price", "quantity", "customer_id"],
        lines,
    )
    return {"transactions": SourceConfig(path=path)}


def test_all_cancelled_customer_is_a_defined_result(write_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lines = [
        ["1", "2024-01-05 10:00", "p1", "Mug", "5.00", "2", "c1"],
        ["2", "2024-03-05 10:00", "p2", "Bowl", "7.50", "1", "c1"],
        ["3", "2024-01-06 10:00", "p1", "Mug", "5.00", "1", "c2"],
        ["C3", "2024-01-07 10:00", "p1", "Mug", "5.00", "-1", "c2"],
        ["4", "2024-02-01 10:00", "POST", "POSTAGE", "3.00", "1", "c1"],
    ]
    with DuckDBWarehouse(tmp_path / "wh") as wh:
        ingest(wh, _shop(write_csv, lines))
        resolve(wh)
        report = run_features(wh, FeatureOptions(horizon_days=10))
        features = wh.query_df("SELECT * FROM customer_features").set_index("customer_id")
        rfm = wh.query_df("SELECT * FROM rfm").set_index("customer_id")
    # c2's one order was cancelled by a later credit note: a purchase, worth nothing net
    assert features.loc["c2", "orders"] == 1 and features.loc["c2", "net_spend"] == 0
    assert rfm.loc["c2", "segment"] == FALLBACK_SEGMENT
    assert features.loc["c1", "orders"] == 2
    assert features.loc["c1", "net_spend"] == pytest.approx(17.5)  # postage is not spend
    assert report.metrics["revenue"]["non_product"] == pytest.approx(3.0)


def test_no_customer_anywhere_is_a_clear_error(write_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lines = [["1", "2024-01-05 10:00", "p1", "Mug", "5.00", "2", ""]] * 3
    with DuckDBWarehouse(tmp_path / "wh") as wh:
        ingest(wh, _shop(write_csv, lines))
        resolve(wh)
        with pytest.raises(ConfigError, match="No product purchase is attributed"):
            run_features(wh, FeatureOptions())
