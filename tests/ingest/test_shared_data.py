"""Every real data set in ../shared/data ingests with no mapping file, and no row is lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from customerlens.config import SourceConfig
from customerlens.ingest import ingest
from customerlens.warehouse import DuckDBWarehouse

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

pytestmark = pytest.mark.skipif(
    not DATA.exists(), reason=f"shared data folder {DATA} is absent (see DEVELOPERS.md)"
)


def _ingest(tmp_path: Path, **paths: Path) -> DuckDBWarehouse:
    wh = DuckDBWarehouse(tmp_path)
    report = ingest(wh, {role: SourceConfig(path=p) for role, p in paths.items()})
    for role, source in report.sources.items():
        # nothing vanishes: every row read is loaded or rejected
        assert source.rows_loaded + source.rows_rejected == source.rows_read
        assert wh.row_count(role) == source.rows_loaded
    return wh


def test_online_retail(tmp_path: Path) -> None:
    wh = _ingest(tmp_path, transactions=DATA / "online_retail" / "online_retail.parquet")
    row = wh.query(
        "SELECT count(*) AS n, count(DISTINCT session_id) AS invoices, "
        "count(DISTINCT customer_id) AS customers, round(sum(amount), 2) AS total, "
        "count(*) FILTER (WHERE customer_id IS NULL) AS guest_lines, "
        "count(*) FILTER (WHERE customer_id LIKE '%.%') AS float_ids FROM transactions"
    ).to_pylist()[0]
    assert row == {
        "n": 541_909,
        "invoices": 25_900,
        "customers": 4_372,
        "total": 9_747_747.93,
        "guest_lines": 135_080,
        "float_ids": 0,
    }
    # each invoice without a customer id is one guest identity record
    assert wh.row_count("guest_sessions") == wh.scalar(
        "SELECT count(DISTINCT session_id) FROM transactions WHERE customer_id IS NULL"
    )
    assert (
        wh.scalar("SELECT min(event_time) FROM transactions").isoformat() == "2010-12-01T08:26:00"
    )
    # cancellations keep their sign (netting is the features stage's job)
    assert wh.scalar("SELECT count(*) FROM transactions WHERE session_id LIKE 'C%'") > 0
    assert wh.scalar("SELECT min(quantity) FROM transactions") < 0


def test_cdnow_whitespace_with_header(tmp_path: Path) -> None:
    wh = _ingest(tmp_path, transactions=DATA / "cdnow" / "CDNOW_master.txt")
    row = wh.query(
        "SELECT count(*) AS n, count(DISTINCT customer_id) AS customers, "
        "min(event_time)::DATE::VARCHAR AS first, max(event_time)::DATE::VARCHAR AS last, "
        "sum(quantity) > count(*) AS multi FROM transactions"
    ).to_pylist()[0]
    assert row == {
        "n": 69_659,
        "customers": 23_570,
        "first": "1997-01-01",
        "last": "1998-06-30",
        "multi": True,
    }
    # the dollar value is a line total: amount is taken as given, not price x quantity
    assert wh.scalar("SELECT count(*) FROM transactions WHERE price IS NOT NULL") == 0
    assert wh.scalar("SELECT count(*) FROM transactions WHERE amount IS NULL") == 0


def test_ebuy_accounts_and_crm(tmp_path: Path) -> None:
    wh = _ingest(
        tmp_path,
        accounts=DATA / "ebuy" / "customer_database.csv",
        crm=DATA / "ebuy" / "crm_export.csv",
    )
    assert wh.row_count("accounts") == 23_476
    assert wh.row_count("crm") == 7_825
    assert "age" in wh.columns("accounts")  # extra attributes are kept
    assert wh.row_count("records") == 23_476 + 7_825
    assert wh.scalar("SELECT count(*) FROM crm WHERE crm_id IS NULL OR surname IS NULL") == 0


@pytest.mark.parametrize(
    "name, rows",
    [
        ("dataset1", 1_000),
        ("dataset2", 5_000),
        ("dataset3", 5_000),
        ("dataset4a", 5_000),
        ("dataset4b", 5_000),
    ],
)
def test_febrl(tmp_path: Path, name: str, rows: int) -> None:
    wh = _ingest(tmp_path, accounts=DATA / "er" / "febrl" / f"{name}.csv")
    assert wh.row_count("accounts") == rows
    sample = wh.query(
        "SELECT customer_id, surname, address, date_of_birth FROM accounts "
        "WHERE surname IS NOT NULL AND address IS NOT NULL AND date_of_birth IS NOT NULL LIMIT 1"
    ).to_pylist()[0]
    assert sample["customer_id"].startswith("rec-")
    assert sample["surname"] == sample["surname"].strip()  # FEBRL pads values with spaces
    # date_of_birth arrives as YYYYMMDD and is parsed; the few impossible dates are nulled
    # and listed in data_quality, never silently dropped
    bad = wh.scalar("SELECT count(*) FROM data_quality WHERE \"column\" = 'date_of_birth'")
    nulls = wh.scalar(
        "SELECT count(*) FROM accounts a WHERE date_of_birth IS NULL AND EXISTS "
        "(SELECT 1 FROM data_quality q WHERE q.row_number = a.source_row)"
    )
    assert bad == nulls
    assert bad < rows * 0.05


def test_splink_fake_1000_and_historical(tmp_path: Path) -> None:
    wh = _ingest(
        tmp_path,
        accounts=DATA / "er" / "splink" / "historical_figures_with_errors_50k.parquet",
        crm=DATA / "er" / "splink" / "fake_1000.csv",
    )
    assert wh.row_count("accounts") == 50_578
    assert wh.row_count("crm") == 1_000
    # corrupted birth dates ("1856-86-18") are nulled with the raw value kept
    assert wh.scalar("SELECT count(*) FROM data_quality WHERE value = '1856-86-18'") == 1
