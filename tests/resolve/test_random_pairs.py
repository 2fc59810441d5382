"""u-probabilities and term frequencies net of the matches among random pairs."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from customerlens.config import ResolveOptions, SourceConfig
from customerlens.ingest import ingest
from customerlens.resolve.evaluate import evaluate
from customerlens.resolve.pipeline import resolve
from customerlens.resolve.random_pairs import (
    MIN_FREQUENCY_SHARE,
    MIN_SHARE,
    agreement_m,
    frequency_sql,
    net_rate,
    without_matches,
)
from customerlens.warehouse import DuckDBWarehouse


def _level(label: str, m: float, u: float, tf: str | None = None) -> dict[str, object]:
    level: dict[str, object] = {"label_for_charts": label, "m_probability": m, "u_probability": u}
    if tf:
        level["tf_adjustment_column"] = tf
    return level


MODEL = {
    "probability_two_random_records_match": 0.004,
    "comparisons": [
        {
            "output_column_name": "email",
            "comparison_levels": [
                {"label_for_charts": "null", "is_null_level": True},
                _level("exact", 0.6, 0.0025, "email"),
                _level("same user", 0.2, 0.0012, "email_user"),
                _level("else", 0.2, 0.9963),
            ],
        },
        {
            "output_column_name": "dob",
            "comparison_levels": [
                {"label_for_charts": "null", "is_null_level": True},
                _level("exact", 0.4, 0.00175),
                _level("else", 0.6, 0.99825),
            ],
        },
    ],
}


def test_net_rate_removes_the_matches_share() -> None:
    # seen = prior * m + (1 - prior) * u  =>  u = (seen - prior * m) / (1 - prior)
    u = 0.0001
    seen = 0.004 * 0.4 + 0.996 * u
    assert net_rate(seen, 0.4, 0.004) == pytest.approx(u)
    # a level the matches explain entirely keeps MIN_SHARE of what was seen, never <= 0
    assert net_rate(0.001, 0.9, 0.004) == pytest.approx(0.001 * MIN_SHARE)
    # with no matches among random pairs nothing changes
    assert net_rate(0.3, 0.5, 0.0) == pytest.approx(0.3)


def test_without_matches_lowers_agreements_and_keeps_the_input() -> None:
    net = without_matches(MODEL)
    before = {
        (c["output_column_name"], lv["label_for_charts"]): lv.get("u_probability")
        for c in MODEL["comparisons"]
        for lv in c["comparison_levels"]
    }
    after = {
        (c["output_column_name"], lv["label_for_charts"]): lv.get("u_probability")
        for c in net["comparisons"]
        for lv in c["comparison_levels"]
    }
    assert MODEL["comparisons"][1]["comparison_levels"][1]["u_probability"] == 0.00175
    assert after[("dob", "exact")] == pytest.approx((0.00175 - 0.004 * 0.4) / 0.996)
    assert after[("dob", "exact")] < before[("dob", "exact")] / 10  # mostly the person's copies
    assert after[("dob", "null")] is None  # null levels carry no u
    # an "else" level barely moves (common among non-matches), and the u still sum to 1
    assert after[("dob", "else")] == pytest.approx(before[("dob", "else")], rel=1e-2)
    assert after[("dob", "exact")] + after[("dob", "else")] == pytest.approx(1.0)
    assert net["probability_two_random_records_match"] == 0.004


def test_agreement_m_counts_the_stricter_levels_above() -> None:
    found = agreement_m(MODEL)
    assert found == {"email": pytest.approx(0.6), "email_user": pytest.approx(0.8)}


def test_frequency_sql_is_net_rate_in_duckdb() -> None:
    values = pd.DataFrame({"email": ["a@x", "a@x", "a@x", "b@x"] + [f"{i}@y" for i in range(996)]})
    share = "count(*)::DOUBLE / sum(count(*)) OVER ()"
    with duckdb.connect() as con:
        con.register("v", values)
        rows = dict(
            con.execute(
                f"SELECT email, {frequency_sql('email', share, MODEL)} FROM v GROUP BY 1"
            ).fetchall()
        )
    assert rows["a@x"] == pytest.approx(net_rate(0.003, 0.6, 0.004, MIN_FREQUENCY_SHARE))
    assert rows["a@x"] < 0.003
    # its matches explain it: the floor
    assert rows["b@x"] == pytest.approx(0.001 * MIN_FREQUENCY_SHARE)
    # a column with no term-frequency level is left as seen
    with duckdb.connect() as con:
        assert con.execute(f"SELECT {frequency_sql('phone', '0.25', MODEL)}").fetchall()[0][
            0
        ] == pytest.approx(0.25 / 0.996)


def test_fake_1000_probabilities_are_not_underconfident(shared_data: Path, tmp_path: Path) -> None:
    """On Splink's fake_1000 (four records a person: the matches among random pairs are most of
    the agreements they show) the net u and frequencies keep auto-merged pairs right and lift
    the clustering's recall; with the sampled ones pairs scored 0.5-0.75 were 87% one person."""
    with DuckDBWarehouse(tmp_path) as wh:
        ingest(wh, {"accounts": SourceConfig(path=shared_data / "er/splink/fake_1000.csv")})
        resolve(wh, ResolveOptions(extra_fields={"city": "fuzzy"}))
        truth = wh.query_df(
            "SELECT 'accounts' AS source, customer_id AS record_id, cluster AS person_id "
            "FROM accounts"
        )
        pairs = wh.query_df(
            "SELECT unique_id_l, unique_id_r, decision_probability FROM match_pairs"
        )
        ours = wh.query_df("SELECT source, record_id, customer_id FROM record_customer")
    person = dict(zip("accounts:" + truth["record_id"], truth["person_id"], strict=True))
    pairs["same"] = [
        person[a] == person[b] for a, b in zip(pairs.unique_id_l, pairs.unique_id_r, strict=True)
    ]
    probability = pairs["decision_probability"]
    assert pairs.loc[probability >= 0.9, "same"].mean() >= 0.99
    # near calibrated where the tiers turn: 0.77 true at a mean of 0.74 (sampled u: 0.86 at 0.75)
    middle = pairs[probability.between(0.5, 0.9, inclusive="left")]
    assert middle["same"].mean() <= middle["decision_probability"].mean() + 0.08
    with duckdb.connect() as con:
        con.register("truth", truth)
        con.register("pred", ours)
        result = evaluate(con, "truth", "pred")
    assert result["pairwise"]["precision"] >= 0.99
    assert result["pairwise"]["f1"] >= 0.98
