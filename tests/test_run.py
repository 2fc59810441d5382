"""`customerlens run` end to end: real files, the real CLI, metrics.json and the tables."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from customerlens.cli import app

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
RETAIL = SHARED / "online_retail" / "online_retail.parquet"
CDNOW = SHARED / "cdnow" / "CDNOW_master.txt"
runner = CliRunner()


def _need(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"shared data set missing: {path}")


@pytest.fixture(scope="module")
def retail_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _need(RETAIL)
    out = tmp_path_factory.mktemp("retail_run")
    result = runner.invoke(app, ["run", "--transactions", str(RETAIL), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "churn" in result.output and "untracked revenue" in result.output
    return out


@pytest.mark.slow
def test_run_on_online_retail(retail_run: Path) -> None:
    metrics = json.loads((retail_run / "metrics.json").read_text())
    raw = pd.read_parquet(RETAIL, columns=["CustomerID", "Quantity", "UnitPrice", "InvoiceDate"])
    # the contract's keys and types
    assert isinstance(metrics["customers"], int)
    for key in ("total", "tracked", "untracked", "untracked_share", "recovered_by_resolution"):
        assert isinstance(metrics["revenue"][key], float)
    assert metrics["revenue"]["tracked"] + metrics["revenue"]["untracked"] == pytest.approx(
        metrics["revenue"]["total"], abs=0.05
    )
    assert set(metrics["clv"]["params"]) == {"r", "alpha", "a", "b"}
    assert metrics["clv"]["holdout"]["actual"] > 0 and metrics["clv"]["holdout"]["predicted"] > 0
    churn = metrics["churn"]
    for key in ("auc", "pr_auc", "brier", "baseline_recency_auc", "clv_model_auc"):
        assert 0.0 <= churn[key] <= 1.0
    # better than chance, and not suspiciously perfect (a perfect AUC would be a leak)
    assert 0.6 < churn["auc"] < 0.95
    assert churn["train_cutoffs"][0] < churn["cutoff"]
    # every customer with a shop id and a product purchase is a customer here
    assert metrics["customers"] <= raw["CustomerID"].nunique()
    assert metrics["customers"] > 0.99 * raw["CustomerID"].nunique()
    with duckdb.connect(str(retail_run / "lens.duckdb"), read_only=True) as con:
        tables = {r[0] for r in con.sql("SHOW TABLES").fetchall()}
        assert {"customer_features", "revenue_gap", "rfm", "clv", "churn"} <= tables
        bad = con.sql(
            "SELECT count(*) FROM churn WHERE p_churn < 0 OR p_churn > 1 OR p_churn IS NULL"
        ).fetchall()[0][0]
        assert bad == 0
        clv = con.sql("SELECT * FROM clv").df()
        months = con.sql("SELECT count(*) FROM revenue_gap").fetchall()[0][0]
    assert clv["p_no_purchase"].between(0, 1).all()
    assert (clv["expected_purchases_low"] <= clv["expected_purchases"] + 1e-9).all()
    assert (clv["expected_purchases"] <= clv["expected_purchases_high"] + 1e-9).all()
    assert months == raw["InvoiceDate"].dt.to_period("M").nunique()


@pytest.mark.slow
def test_run_segments_and_actions_on_online_retail(retail_run: Path) -> None:
    metrics = json.loads((retail_run / "metrics.json").read_text())
    seg = metrics["segments"]
    assert [row["k"] for row in seg["k_scores"]] == list(range(2, 11))
    assert 2 <= seg["k"] <= 10 and sum(seg["names"].values()) == seg["customers"]
    assert len(seg["kruskal_wallis"]) == len(seg["features"])
    recs = {m["method"]: m for m in metrics["recommendations"]["methods"]}
    # collaborative filtering beats the popularity baseline on the time-based holdout
    assert recs["als"]["precision_at_n"] > recs["popularity"]["precision_at_n"]
    with duckdb.connect(str(retail_run / "lens.duckdb"), read_only=True) as con:
        one = con.sql("SELECT count(*) = count(DISTINCT customer_id) FROM segments").fetchall()[0][
            0
        ]
        assert one
        # recommendations never repeat what the customer already bought
        bought = con.sql(
            "SELECT count(*) FROM recommendations r JOIN sales s "
            "ON s.customer_id = r.customer_id AND s.product_id = r.product_id "
            "WHERE s.kind = 'product' AND s.quantity > 0"
        ).fetchall()[0][0]
        assert bought == 0
        ranks = con.sql("SELECT value_at_risk FROM actions ORDER BY rank").df()
        assert ranks["value_at_risk"].is_monotonic_decreasing
        assert con.sql("SELECT count(*) FROM actions WHERE action IS NULL").fetchall()[0][0] == 0
        self_like = con.sql(
            "SELECT count(*) FROM lookalikes WHERE customer_id = lookalike_id"
        ).fetchall()[0][0]
        assert self_like == 0
    assert (retail_run / "actions.csv").exists()
    result = runner.invoke(app, ["lookalike", "12347", "--out", str(retail_run)])
    assert result.exit_code == 0, result.output
    assert "Customers like 12347" in result.output
    result = runner.invoke(app, ["lookalike", "nobody", "--out", str(retail_run)])
    assert result.exit_code != 0 and "No customer 'nobody'" in result.output


@pytest.mark.slow
def test_run_on_cdnow_weekly(tmp_path: Path) -> None:
    _need(CDNOW)
    result = runner.invoke(
        app,
        [
            "run",
            "--transactions",
            str(CDNOW),
            "--out",
            str(tmp_path),
            "--time-unit",
            "week",
            "--horizon-days",
            "182",
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["customers"] == 23_570
    assert metrics["clv"]["time_unit"] == "week"
    assert metrics["clv"]["horizon_units"] == pytest.approx(26.0)
    # the dollar value is a line total: revenue is the sum of it, nothing multiplied
    total = pd.read_csv(CDNOW, sep=r"\s+")
    assert metrics["revenue"]["total"] == pytest.approx(total.iloc[:, -1].sum(), rel=1e-9)
    # no product ids: recommendations are skipped with the reason, not faked
    assert "no products" in metrics["recommendations"]["skipped"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cutoff", "2030-01-01"], "outside the data"),
        (["--cutoff", "2011-11-30"], "runs past the data"),
        (["--horizon-days", "300"], "too short"),
        (["--cutoff", "30/11/2011"], "not a date"),
        (["--time-unit", "month"], "bad option"),
    ],
)
def test_run_bad_options(tmp_path: Path, args: list[str], message: str) -> None:
    _need(RETAIL)
    result = runner.invoke(
        app, ["run", "--transactions", str(RETAIL), "--out", str(tmp_path), *args]
    )
    assert result.exit_code != 0
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output
