"""The Spark engine against the embedded one, in Spark local mode, on a generated shop.

DuckDB and Spark must give the same customers (pairwise F1 between the two clusterings >= 0.999)
and, from the same customers, the same features (to floating-point tolerance).
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from customerlens.cli import app
from customerlens.config import ProjectConfig
from customerlens.errors import WarehouseError
from customerlens.features.pipeline import run_features
from customerlens.resolve.evaluate import evaluate_files
from customerlens.synth import generate_shop
from customerlens.warehouse import DuckDBWarehouse

pytest.importorskip("pyspark")
pytestmark = [
    pytest.mark.spark,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime"),
]

MASTER = "local[2]"


@pytest.fixture(scope="module")
def session() -> Iterator[Any]:
    from customerlens.engines.spark import spark_session

    spark = spark_session(MASTER)
    yield spark
    spark.stop()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return generate_shop(5_000, tmp_path_factory.mktemp("spark_shop"), seed=11).files


def _resolve(shop: dict[str, Path], out: Path, *engine: str) -> Path:
    result = CliRunner().invoke(
        app,
        [
            "resolve",
            "--accounts", str(shop["accounts"]),
            "--crm", str(shop["crm"]),
            "--transactions", str(shop["transactions"]),
            "--out", str(out),
            *engine,
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def on_duckdb(shop: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _resolve(shop, tmp_path_factory.mktemp("duck") / "out")


@pytest.fixture(scope="module")
def on_spark(shop: dict[str, Path], session: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("spark") / "out"
    return _resolve(shop, out, "--engine", "spark", "--spark-master", MASTER)


def test_both_engines_find_the_same_customers(on_duckdb: Path, on_spark: Path) -> None:
    # the DuckDB clustering as the truth the Spark one is scored against
    lines = (on_duckdb / "record_customer.csv").read_text().splitlines()
    truth = on_duckdb / "duckdb_as_truth.csv"
    truth.write_text("\n".join([lines[0].replace("customer_id", "person_id"), *lines[1:]]))
    result = evaluate_files(truth, on_spark / "record_customer.csv")
    assert result["records_missing"] == 0 and result["records_not_in_truth"] == 0
    assert result["pairwise"]["f1"] >= 0.999, result
    assert abs(result["relative_count_error"]) <= 0.002, result
    # and the clustering is a real one: thousands of records merged, not all singletons
    assert result["true_customers"] < 0.6 * result["records"]


def test_spark_results_land_in_the_embedded_warehouse(on_spark: Path) -> None:
    with DuckDBWarehouse(on_spark, read_only=True) as wh:
        records = wh.row_count("records")
        assert wh.row_count("record_customer") == records
        customers = wh.scalar("SELECT count(DISTINCT customer_id) FROM record_customer")
        assert wh.row_count("customers") == customers
        assert wh.row_count("match_pairs") > 0
        tiers = set(wh.query("SELECT DISTINCT tier FROM record_customer")["tier"].to_pylist())
        assert tiers <= {"auto", "review", "single"} and "auto" in tiers
    assert (on_spark / "spark" / "record_customer" / "_SUCCESS").exists()


def test_a_spark_trained_model_serves_real_time_matches(on_duckdb: Path, on_spark: Path) -> None:
    """The stored model is rendered in DuckDB's SQL, so ``serve`` works after a Spark run."""
    import json

    from customerlens.realtime.matcher import Matcher

    def model(out: Path) -> dict[str, Any]:
        with DuckDBWarehouse(out, read_only=True) as wh:
            return dict(json.loads(wh.query("SELECT model FROM match_model")["model"][0].as_py()))

    conditions = [
        [(level["sql_condition"], level.get("m_probability")) for level in c["comparison_levels"]]
        for c in model(on_spark)["comparisons"]
    ]
    expected = [
        [(level["sql_condition"], level.get("m_probability")) for level in c["comparison_levels"]]
        for c in model(on_duckdb)["comparisons"]
    ]
    assert [[c for c, _ in levels] for levels in conditions] == [
        [c for c, _ in levels] for levels in expected
    ]
    for got, want in zip(conditions, expected, strict=True):
        for (_, m_got), (_, m_want) in zip(got, want, strict=True):
            assert m_got == pytest.approx(m_want, abs=0.01)
    with DuckDBWarehouse(on_spark, read_only=True) as wh:
        account = wh.query(
            "SELECT r.*, rc.customer_id FROM records r JOIN record_customer rc "
            "USING (source, record_id) WHERE r.source = 'accounts' AND r.email IS NOT NULL "
            "AND r.first_name IS NOT NULL ORDER BY r.record_id LIMIT 1"
        ).to_pylist()[0]
        result = Matcher(wh).match(
            {
                "first_name": account["first_name"],
                "surname": account["surname"],
                "email": account["email"],
                "postcode": account["postcode"],
            }
        )
    assert result.customer_id == account["customer_id"]


def test_labels_retrain_the_hybrid_model_on_spark(
    shop: dict[str, Path], on_spark: Path, tmp_path: Path
) -> None:
    """Review decisions reach the next Spark resolve: the hybrid re-scorer trains and scores."""
    import json

    import duckdb

    out = tmp_path / "again"
    shutil.copytree(on_spark, out)
    with duckdb.connect() as con:
        labelled = con.execute(f"""
            WITH truth AS (SELECT source || ':' || record_id AS uid, person_id
                           FROM read_csv('{shop["truth"]}', all_varchar = true))
            SELECT p.unique_id_l, p.unique_id_r,
                   CASE WHEN l.person_id = r.person_id THEN 'match' ELSE 'non_match' END AS label
            FROM (SELECT * FROM read_parquet('{on_spark}/spark/match_pairs/*.parquet')
                  WHERE match_probability BETWEEN 0.2 AND 0.995) p
            JOIN truth l ON l.uid = p.unique_id_l JOIN truth r ON r.uid = p.unique_id_r
            ORDER BY p.pair_id LIMIT 300
        """).df()
    assert set(labelled["label"]) == {"match", "non_match"}
    labelled.to_csv(tmp_path / "labels.csv", index=False)
    result = CliRunner().invoke(
        app,
        ["resolve", "--out", str(out), "--labels", str(tmp_path / "labels.csv"),
         "--engine", "spark", "--spark-master", MASTER],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with DuckDBWarehouse(out, read_only=True) as wh:
        metrics = json.loads(wh.last_run("resolve")["metrics"])  # type: ignore[index]
        assert wh.row_count("record_customer") == wh.row_count("records")
    assert metrics["hybrid"]["pairs_rescored"] > 0, metrics["hybrid"]
    assert metrics["labels"] == labelled["label"].value_counts().to_dict()


def _rows(wh: Any, table: str, key: str) -> dict[Any, dict[str, Any]]:
    return {r[key]: r for r in wh.query(f"SELECT * FROM {table}").to_pylist()}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) or (math.isnan(a) and math.isnan(b))
    return bool(a == b)


def test_features_are_the_same_on_both_engines(
    on_duckdb: Path, session: Any, tmp_path: Path
) -> None:
    from customerlens.engines.spark import SparkWarehouse, copy_tables

    work = tmp_path / "duck"
    shutil.copytree(on_duckdb, work)
    options = ProjectConfig().features
    with DuckDBWarehouse(work) as duck:
        run_features(duck, options)
        spark = SparkWarehouse(tmp_path / "spark", session=session)
        copy_tables(duck, spark, ["records", "transactions", "record_customer", "customers"])
        run_features(spark, options)
        for table, key in (("customer_features", "customer_id"), ("rfm", "customer_id")):
            expected, got = _rows(duck, table, key), _rows(spark, table, key)
            assert len(expected) > 1_000
            assert got.keys() == expected.keys(), table
            assert duck.columns(table) == spark.columns(table), table
            differ = [
                (k, c, expected[k][c], got[k][c])
                for k in expected
                for c in expected[k]
                if not _same(expected[k][c], got[k][c])
            ]
            assert not differ, f"{table}: {differ[:5]}"
        assert duck.row_count("sales") == spark.row_count("sales")
        spark.close()


def test_a_bad_statement_names_the_sql(session: Any, tmp_path: Path) -> None:
    from customerlens.engines.spark import SparkWarehouse

    wh = SparkWarehouse(tmp_path, session=session)
    wh.write_table("t", __import__("pyarrow").table({"a": [1, 2]}))
    assert wh.scalar("SELECT sum(a) FROM t") == 3
    with pytest.raises(WarehouseError, match="no_such_column") as caught:
        wh.query("SELECT no_such_column FROM t")
    assert "SELECT" in str(caught.value)
    with pytest.raises(WarehouseError, match="no table 'missing'"):
        wh.row_count("missing")
    wh.close()
