"""Every dashboard page under Streamlit's AppTest, over copies of a generated shop's warehouse.

The figures a page shows are compared with SQL written here, independently of the dashboard's
own queries. DuckDB shares one database instance per file within a process, so the plain
connections below see what the dashboard writes (review decisions) at once.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from customerlens.cli import app as cli
from customerlens.dashboard import APP_FILE, WAREHOUSE_ENV

PAGES = {
    "identity": "views/identity.py",
    "segments": "views/segments.py",
    "customer": "views/customer.py",
    "targets": "views/targets.py",
}


def _copy(shop_run: Path, target: Path) -> Path:
    shutil.copytree(shop_run, target)
    return target / "lens.duckdb"


@pytest.fixture(scope="module")
def warehouse(shop_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the run's warehouse, shared by the tests that only read."""
    return _copy(shop_run, tmp_path_factory.mktemp("dashboard") / "out")


@pytest.fixture(scope="module")
def resolved_only(shop_files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse that went through ``customerlens resolve`` and nothing after it."""
    out = tmp_path_factory.mktemp("dashboard_resolved") / "out"
    args = ["resolve", "--out", str(out)]
    for role in ("accounts", "crm", "transactions"):
        args += [f"--{role}", str(shop_files[role])]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return out / "lens.duckdb"


@pytest.fixture
def sql(warehouse: Path) -> Iterator[Callable[..., list[tuple[Any, ...]]]]:
    con = duckdb.connect(str(warehouse))

    def run(query: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        return con.execute(query, params or []).fetchall()

    yield run
    con.close()


def _open(monkeypatch: pytest.MonkeyPatch, warehouse: Path, page: str | None = None) -> AppTest:
    """The dashboard app run once, then switched to ``page`` (a script under dashboard/)."""
    monkeypatch.setenv(WAREHOUSE_ENV, str(warehouse))
    at = AppTest.from_file(str(APP_FILE), default_timeout=60).run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _charts(at: AppTest) -> int:
    return len(at.get("vega_lite_chart"))


def _n(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


# -- overview -------------------------------------------------------------------------------
def test_overview_shows_the_warehouse_figures(monkeypatch, warehouse, sql) -> None:
    at = _open(monkeypatch, warehouse)
    shown = _metrics(at)
    (records,) = sql("SELECT count(*) FROM records")[0]
    (customers,) = sql("SELECT count(*) FROM customers")[0]
    buyers, spend, orders = sql(
        "SELECT count(*), avg(net_spend), avg(orders) FROM customer_features"
    )[0]
    (segments,) = sql("SELECT count(DISTINCT segment) FROM segments")[0]
    revenue, tracked, untracked, recovered = sql(
        "SELECT sum(revenue), sum(tracked), sum(untracked), sum(recovered) FROM revenue_gap"
    )[0]
    (at_risk,) = sql(
        "SELECT sum(p_churn * expected_value) FROM churn JOIN clv USING (customer_id)"
    )[0]
    (high,) = sql("SELECT count(*) FROM churn WHERE risk_band = 'high'")[0]
    assert shown["Records before resolution"] == _n(records)
    assert shown["Customers (after resolution)"] == _n(customers)
    assert shown["Customers with a purchase"] == _n(buyers)
    assert shown["Segments"] == _n(segments)
    assert shown["Net product revenue"] == _n(revenue)
    assert shown["Tracked"] == _n(tracked)
    assert shown["Untracked"] == _n(untracked)
    assert shown["Recovered by resolution"] == _n(recovered)
    assert shown["Average net spend"] == _n(spend, 2)
    assert shown["Average orders"] == _n(orders, 2)
    assert shown["High-risk customers"] == _n(high)
    # value at risk is rounded per customer in `actions`; the sum agrees to within a unit each
    shown_risk = float(shown["At risk, next 90 days"].replace(",", ""))
    assert abs(shown_risk - at_risk) <= buyers * 0.01
    assert 0 < recovered <= untracked < revenue
    assert _charts(at) == 2  # revenue by month, value at risk by band


# -- identity -------------------------------------------------------------------------------
def test_identity_merges_tiers_and_linked_records(monkeypatch, warehouse, sql) -> None:
    at = _open(monkeypatch, warehouse, PAGES["identity"])
    merges = at.dataframe[0].value.set_index("source")
    expected = sql(
        "SELECT source, count(*), count(DISTINCT customer_id), "
        "count(*) FILTER (WHERE tier = 'auto'), count(*) FILTER (WHERE tier = 'review'), "
        "count(*) FILTER (WHERE tier = 'single') FROM record_customer GROUP BY source"
    )
    assert set(merges.index) == {"accounts", "crm", "transactions"}
    for source, records, customers, auto, review, single in expected:
        row = merges.loc[source]
        assert (row["records"], row["customers"]) == (records, customers)
        assert row["duplicates_merged"] == records - customers
        assert (row["tier_auto"], row["tier_review"], row["tier_single"]) == (auto, review, single)
    assert _charts(at) == 1

    # the customer input is prefilled with the customer who has the most records
    biggest, records = sql(
        "SELECT customer_id, records FROM customers ORDER BY records DESC, customer_id LIMIT 1"
    )[0]
    assert at.text_input[0].value == biggest
    linked = at.dataframe[1].value
    assert len(linked) == records
    assert set(linked["record_id"]) == {
        r for (r,) in sql("SELECT record_id FROM record_customer WHERE customer_id = ?", [biggest])
    }
    at.text_input[0].set_value("CL-nobody").run()
    assert any("No customer 'CL-nobody'" in w.value for w in at.warning)


def test_review_queue_shows_pairs_with_their_evidence(monkeypatch, warehouse, sql) -> None:
    at = _open(monkeypatch, warehouse, PAGES["identity"])
    (queued,) = sql("SELECT count(*) FROM review_queue")[0]
    first = sql(
        "SELECT pair_id, unique_id_l, unique_id_r FROM review_queue "
        "ORDER BY decision_probability DESC, pair_id LIMIT 1"
    )[0]
    assert _metrics(at)["Pairs awaiting review"] == _n(queued)
    accepts = [b for b in at.button if b.key and b.key.startswith("accept-")]
    assert len(accepts) == min(5, queued)
    assert accepts[0].key == f"accept-{first[0]}"
    # side by side: one evidence table per pair, a column per record of the pair
    evidence = [t.value for t in at.table if {"field", "level", "weight"} <= set(t.value)]
    assert len(evidence) == len(accepts)
    assert {"first_name", "surname", "email", "postcode"} <= set(evidence[0]["field"])
    assert list(evidence[0].columns) == ["field", first[1], first[2], "level", "weight"]


def test_review_decisions_reach_the_labels_table(monkeypatch, shop_run, tmp_path) -> None:
    warehouse = _copy(shop_run, tmp_path / "out")
    at = _open(monkeypatch, warehouse, PAGES["identity"])
    con = duckdb.connect(str(warehouse))
    pairs = con.execute(
        "SELECT pair_id, unique_id_l, unique_id_r FROM review_queue "
        "ORDER BY decision_probability DESC, pair_id LIMIT 2"
    ).fetchall()
    (queued,) = con.execute("SELECT count(*) FROM review_queue").fetchone() or (0,)
    assert len(pairs) == 2 and con.execute("SELECT count(*) FROM labels").fetchone() == (0,)

    at.text_input(key="reviewer").set_value("tester").run()
    at.button(key=f"accept-{pairs[0][0]}").click().run()
    assert not at.exception
    assert any(f"Pair {pairs[0][0]}: stored as match" in s.value for s in at.success)
    at.button(key=f"reject-{pairs[1][0]}").click().run()
    assert not at.exception

    labels = con.execute(
        "SELECT pair_id, unique_id_l, unique_id_r, label, decided_by FROM labels "
        "ORDER BY decided_at"
    ).fetchall()
    con.close()
    assert labels == [
        (pairs[0][0], *sorted(pairs[0][1:]), "match", "tester"),
        (pairs[1][0], *sorted(pairs[1][1:]), "non_match", "tester"),
    ]
    # decided pairs leave the queue shown; the count follows
    keys = {b.key for b in at.button if b.key}
    assert not {f"accept-{pairs[0][0]}", f"reject-{pairs[1][0]}"} & keys
    assert _metrics(at)["Pairs awaiting review"] == _n(queued - 2)


# -- segments -------------------------------------------------------------------------------
def test_segments_page(monkeypatch, warehouse, sql) -> None:
    at = _open(monkeypatch, warehouse, PAGES["segments"])
    sizes = at.dataframe[0].value.set_index("segment_name")
    expected = sql(
        "SELECT segment_name, count(*), sum(net_spend) FROM segments "
        "JOIN customer_features USING (customer_id) GROUP BY ALL"
    )
    (total,) = sql("SELECT count(*) FROM segments")[0]
    assert len(sizes) == len(expected) >= 2
    for name, customers, spend in expected:
        assert sizes.loc[name, "customers"] == customers
        assert sizes.loc[name, "share"] == f"{100 * customers / total:.1f}%"
        assert sizes.loc[name, "net_spend"] == pytest.approx(spend)
    # pie, bar, two spend charts, the PCA map, the transition matrix
    assert _charts(at) == 6
    text = " ".join(m.value for m in at.markdown)
    for name, persona, action in sql("SELECT name, persona, action FROM segment_profiles"):
        assert name in text and persona in text and action in text
    transitions = at.dataframe[-1].value.set_index("segment_before")
    for before, after, customers in sql(
        "SELECT segment_before, segment_after, customers FROM segment_transitions"
    ):
        assert transitions.loc[before, after] == customers


# -- customer 360 ---------------------------------------------------------------------------
def test_customer_360_search_and_views(monkeypatch, warehouse, sql) -> None:
    at = _open(monkeypatch, warehouse, PAGES["customer"])
    # without a search: the customers with the most value at risk, highest first
    (top,) = sql("SELECT customer_id FROM actions ORDER BY rank LIMIT 1")[0]
    assert at.selectbox[0].value == top

    customer, email, first, surname, account = sql(
        "SELECT c.customer_id, c.email, c.first_name, c.surname, rc.record_id "
        "FROM customers c JOIN record_customer rc USING (customer_id) "
        "JOIN lookalikes USING (customer_id) JOIN churn USING (customer_id) "
        "WHERE rc.source = 'accounts' AND c.email IS NOT NULL ORDER BY c.customer_id LIMIT 1"
    )[0]
    for term in (customer, email.upper(), f"{first} {surname}", account):
        at.text_input[0].set_value(term).run()
        assert any(customer in option for option in at.selectbox[0].options), term
    at.text_input[0].set_value(customer).run()
    assert at.selectbox[0].value == customer
    assert at.query_params["customer"] == customer

    net_spend, p_churn, band = sql(
        "SELECT net_spend, p_churn, risk_band FROM customer_features "
        "JOIN churn USING (customer_id) WHERE customer_id = ?",
        [customer],
    )[0]
    shown = _metrics(at)
    assert shown["Net spend"] == _n(net_spend)
    assert shown["P(churn)"] == f"{100 * p_churn:.1f}%"
    text = " ".join(m.value for m in at.markdown)
    assert f"{band} churn risk" in text and "Calibrated confidence" in text
    (action,) = sql("SELECT action FROM actions WHERE customer_id = ?", [customer])[0]
    assert any(action in s.value for s in at.success)

    frames = [df.value for df in at.dataframe]
    linked = next(f for f in frames if "tier" in f.columns)
    (records,) = sql("SELECT count(*) FROM record_customer WHERE customer_id = ?", [customer])[0]
    assert len(linked) == records
    alikes = next(f for f in frames if "lookalike_id" in f.columns)
    assert list(alikes["lookalike_id"]) == [
        r for (r,) in sql(
            "SELECT lookalike_id FROM lookalikes WHERE customer_id = ? ORDER BY rank", [customer]
        )
    ]  # fmt: skip
    recs = next(f for f in frames if "product_id" in f.columns)
    (n_recs,) = sql("SELECT count(*) FROM recommendations WHERE customer_id = ?", [customer])[0]
    assert len(recs) == n_recs
    orders = next(f for f in frames if "order_id" in f.columns)
    (n_orders,) = sql(
        "SELECT count(DISTINCT order_id) FROM sales WHERE customer_id = ? AND kind = 'product'",
        [customer],
    )[0]
    assert len(orders) == n_orders


def test_customer_360_opens_the_customer_in_the_url(monkeypatch, warehouse, sql) -> None:
    (customer,) = sql("SELECT customer_id FROM actions ORDER BY rank DESC LIMIT 1")[0]
    monkeypatch.setenv(WAREHOUSE_ENV, str(warehouse))
    at = AppTest.from_file(str(APP_FILE), default_timeout=60).run()
    at.query_params["customer"] = customer
    at.switch_page(PAGES["customer"]).run()
    assert not at.exception
    assert at.selectbox[0].value == customer


# -- target list ----------------------------------------------------------------------------
@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, Callable[[], Any]]:
    """Deferred download callables registered while the app runs, by file id."""
    captured: dict[str, Callable[[], Any]] = {}
    original = MediaFileManager.add_deferred

    def add_deferred(self: MediaFileManager, data_callable: Any, *args: Any, **kw: Any) -> str:
        file_id = original(self, data_callable, *args, **kw)
        captured[file_id] = data_callable
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return captured


def test_target_list_filters_and_downloads_the_report(
    monkeypatch, warehouse, sql, downloads
) -> None:
    at = _open(monkeypatch, warehouse, PAGES["targets"])
    (buyers,) = sql("SELECT count(*) FROM customer_features")[0]
    assert _metrics(at)["Customers"] == _n(buyers)

    (segment,) = sql("SELECT segment_name FROM segments GROUP BY ALL ORDER BY count(*) LIMIT 1")[0]
    at.multiselect[0].set_value([segment])
    at.multiselect[1].set_value(["high", "medium"]).run()
    assert not at.exception
    expected = {
        r
        for (r,) in sql(
            "SELECT customer_id FROM customer_features JOIN segments USING (customer_id) "
            "JOIN churn USING (customer_id) WHERE segment_name = ? "
            "AND risk_band IN ('high', 'medium')",
            [segment],
        )
    }
    assert 0 < len(expected) < buyers
    assert _metrics(at)["Customers"] == _n(len(expected))
    shown = at.dataframe[0].value
    assert set(shown["customer_id"]) == expected
    assert list(shown["priority"]) == sorted(shown["priority"])

    button = at.download_button[0]
    assert f"{len(expected):,} customers" in button.label
    data = downloads[button.proto.deferred_file_id]()
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert {r["customer_id"] for r in rows} == expected
    assert len(rows) == len(expected)
    for column in (
        "segment_name", "rfm_segment", "clv_expected_value", "clv_value_low", "clv_value_high",
        "p_churn", "risk_band", "churn_observed_in_band", "action", "why", "value_at_risk",
        "net_spend", "orders", "recency_days", "email",
    ):  # fmt: skip
        assert column in rows[0], column
    first = rows[0]
    p_churn, value = sql(
        "SELECT p_churn, expected_value FROM churn JOIN clv USING (customer_id) "
        "WHERE customer_id = ?",
        [first["customer_id"]],
    )[0]
    assert float(first["p_churn"]) == pytest.approx(p_churn)
    assert float(first["clv_expected_value"]) == pytest.approx(value)
    assert first["segment_name"] == segment and first["risk_band"] in ("high", "medium")


def test_target_list_value_filter(monkeypatch, warehouse, sql) -> None:
    at = _open(monkeypatch, warehouse, PAGES["targets"])
    at.slider[1].set_value((80, 100)).run()
    (expected,) = sql(
        "SELECT count(*) FROM (SELECT percent_rank() OVER (ORDER BY expected_value) AS pct "
        "FROM customer_features JOIN clv USING (customer_id)) WHERE round(100 * pct, 2) >= 80"
    )[0]
    assert _metrics(at)["Customers"] == _n(expected)


# -- warehouses that are not all there ------------------------------------------------------
def test_a_resolve_only_warehouse_shows_what_exists(monkeypatch, resolved_only) -> None:
    at = _open(monkeypatch, resolved_only)
    shown = _metrics(at)
    con = duckdb.connect(str(resolved_only))
    (customers,) = con.execute("SELECT count(*) FROM customers").fetchone() or (0,)
    con.close()
    assert shown["Customers (after resolution)"] == _n(customers)
    assert "Net product revenue" not in shown
    assert any("customerlens run" in i.value for i in at.info)

    at.switch_page(PAGES["identity"]).run()
    assert not at.exception and _metrics(at)["Customers"] == _n(customers)
    assert any(b.key and b.key.startswith("accept-") for b in at.button)
    for page in ("segments", "customer", "targets"):
        at.switch_page(PAGES[page]).run()
        assert not at.exception, page
        assert not at.error, page
        assert any("customerlens run" in i.value for i in at.info), page


def test_without_a_warehouse_the_app_says_how_to_start_it(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv(WAREHOUSE_ENV, raising=False)
    at = AppTest.from_file(str(APP_FILE), default_timeout=60).run()
    assert not at.exception
    assert "customerlens dashboard --warehouse" in at.error[0].value

    monkeypatch.setenv(WAREHOUSE_ENV, str(tmp_path / "nowhere" / "lens.duckdb"))
    at = AppTest.from_file(str(APP_FILE), default_timeout=60).run()
    assert "No warehouse at" in at.error[0].value and "customerlens run" in at.error[0].value
