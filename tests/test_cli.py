"""The command line end to end: generate -> resolve -> evaluate -> review."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from customerlens.cli import app

runner = CliRunner()


def test_an_unknown_engine_is_refused_before_any_work(tmp_path: Path) -> None:
    shop = tmp_path / "missing.csv"
    for command in (["resolve"], ["run", "--transactions", str(shop)]):
        result = runner.invoke(app, [*command, "--out", str(tmp_path / "out"), "--engine", "sparc"])
        assert result.exit_code != 0
        assert "Unknown engine 'sparc'" in result.output and "duckdb, spark" in result.output
    assert not (tmp_path / "out").exists()


def test_generate_resolve_evaluate_review(tmp_path: Path) -> None:
    shop, out = tmp_path / "shop", tmp_path / "out"
    result = runner.invoke(app, ["generate", "--people", "400", "--seed", "3", "--out", str(shop)])
    assert result.exit_code == 0, result.output
    assert "Generated 400 people" in result.output
    result = runner.invoke(
        app,
        [
            "resolve",
            "--accounts",
            str(shop / "accounts.csv"),
            "--crm",
            str(shop / "crm.csv"),
            "--transactions",
            str(shop / "transactions.csv"),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    for text in (
        "customers found",
        "duplicates merged",
        "pairs sent to review",
        "blocking recall",
        "record_customer.csv",
    ):
        assert text in result.output.replace("\n", "")
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--truth",
            str(shop / "truth.csv"),
            "--pred",
            str(out / "record_customer.csv"),
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)
    assert metrics["records_missing"] == 0
    assert 0.5 < metrics["pairwise"]["f1"] <= 1.0

    result = runner.invoke(app, ["review", "--out", str(out), "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert "pairs of customers await review" in result.output
    con = duckdb.connect(str(out / "lens.duckdb"), read_only=True)
    pair_id = con.execute("SELECT pair_id FROM match_pairs LIMIT 1").fetchall()[0][0]
    con.close()
    result = runner.invoke(app, ["review", "--out", str(out), "--decide", f"{pair_id}=accept"])
    assert result.exit_code == 0, result.output
    assert f"{pair_id}: match" in result.output
    con = duckdb.connect(str(out / "lens.duckdb"), read_only=True)
    assert con.execute("SELECT label FROM labels").fetchall() == [("match",)]
    con.close()


def test_review_unknown_pair_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["review", "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert "run `customerlens resolve` first" in result.output
    assert "Traceback" not in result.output


def test_evaluate_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["evaluate", "--truth", str(tmp_path / "t.csv"), "--pred", str(tmp_path / "p.csv")]
    )
    assert result.exit_code != 0
    assert "does not exist" in result.output
