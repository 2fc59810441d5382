"""Purchase behaviour as evidence, and hybrid re-scoring trained on labelled pairs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from customerlens.config import SourceConfig
from customerlens.ingest import ingest
from customerlens.resolve.evaluate import evaluate
from customerlens.resolve.hybrid import MIN_LABELS_PER_CLASS, HybridRescorer
from customerlens.resolve.labels import record_decision
from customerlens.resolve.pipeline import resolve
from customerlens.resolve.standardise import standardise
from customerlens.synth import generate_shop
from customerlens.warehouse import DuckDBWarehouse

ROLES = ("accounts", "crm", "transactions")


def test_behaviour_lists(write_csv, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    accounts = write_csv(
        "accounts.csv",
        ["customer_id", "first_name", "surname", "email"],
        [["A1", "Ann", "Lee", "ann@x.com"], ["A2", "Bob", "Ray", "bob@x.com"]],
    )
    lines = [
        # A1 buys p1 three times, p2 once, and returns p3 (not taste)
        ["2024-01-01 10:00:00", "S1", "p1", "home.kitchen", "Acme", "2.00", "1", "A1", "", ""],
        ["2024-01-02 10:00:00", "S2", "p1", "home.kitchen", "Acme", "2.00", "2", "A1", "", ""],
        ["2024-01-03 10:00:00", "S3", "p1", "home.kitchen", "Acme", "2.00", "1", "A1", "", ""],
        ["2024-01-03 10:00:00", "S3", "p2", "toys.lego", "", "8.00", "1", "A1", "", ""],
        ["2024-01-04 10:00:00", "S4", "p3", "garden.hose", "Hoze", "9.00", "-1", "A1", "", ""],
        # a guest session of one line; A2 buys nothing
        ["2024-02-01 10:00:00", "G1", "p2", "toys.lego", "Brix", "8.00", "1", "", "Ann", "Lee"],
    ]
    transactions = write_csv(
        "transactions.csv",
        [
            "event_time",
            "session_id",
            "product_id",
            "category_code",
            "brand",
            "price",
            "quantity",
            "customer_id",
            "guest_first_name",
            "guest_surname",
        ],
        lines,
    )
    with DuckDBWarehouse(tmp_path / "wh") as wh:
        ingest(
            wh,
            {
                "accounts": SourceConfig(path=accounts),
                "transactions": SourceConfig(path=transactions),
            },
        )
        standardise(wh)
        got = wh.query_df(
            "SELECT unique_id, buy_products, buy_brands, buy_categories, buy_price "
            "FROM records_std ORDER BY unique_id"
        ).set_index("unique_id")
    assert list(got.loc["accounts:A1", "buy_products"]) == ["p1", "p2"]  # most bought first
    assert list(got.loc["accounts:A1", "buy_brands"]) == ["home|acme"]  # no brand: no token
    assert list(got.loc["accounts:A1", "buy_categories"]) == ["home", "toys"]
    assert got.loc["accounts:A1", "buy_price"] == pytest.approx(2.0)
    assert list(got.loc["transactions:G1", "buy_brands"]) == ["toys|brix"]
    assert got.loc["accounts:A2", "buy_products"] is None or pd.isna(
        got.loc["accounts:A2", "buy_price"]
    )


def test_rescorer_contract(random_state: int) -> None:
    rng = np.random.default_rng(random_state)
    X = pd.DataFrame({"a": rng.normal(size=400), "empty": np.nan})
    y = (X["a"] + rng.normal(scale=0.5, size=400) > 0).astype(int).to_numpy()
    with pytest.raises(NotFittedError):
        HybridRescorer().predict_proba(X)
    with pytest.raises(ValueError, match="each class"):
        HybridRescorer().fit(X.head(MIN_LABELS_PER_CLASS), np.ones(MIN_LABELS_PER_CLASS))
    model = HybridRescorer(random_state=random_state).fit(X, y)
    assert model.features_ == ["a"]  # the all-missing column is left out
    p = model.predict_proba(X)[:, 1]
    assert ((p >= 0) & (p <= 1)).all()
    assert np.corrcoef(p, X["a"])[0, 1] > 0.5  # it learned the signal
    with pytest.raises(ValueError, match="lack the columns"):
        model.predict_proba(X[["empty"]])


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    root = tmp_path_factory.mktemp("hybrid")
    generate_shop(1_500, root / "shop", seed=11)
    truth = pd.read_csv(root / "shop" / "truth.csv", dtype=str)
    truth["half"] = truth["person_id"].map(
        lambda p: int(hashlib.blake2b(p.encode(), digest_size=8).hexdigest(), 16) % 2
    )
    with DuckDBWarehouse(root / "wh") as wh:
        ingest(wh, {r: SourceConfig(path=root / "shop" / f"{r}.csv") for r in ROLES})
        resolve(wh)
    return root / "wh", truth


def _half_b_f1(wh: DuckDBWarehouse, truth: pd.DataFrame) -> float:
    b = truth[truth["half"] == 1][["source", "record_id", "person_id"]]
    with wh.temporary_view("__truth_b", b):
        result = evaluate(
            wh.connection,
            "__truth_b",
            "(SELECT r.source, r.record_id, r.customer_id FROM record_customer r "
            "JOIN __truth_b USING (source, record_id))",
        )
    return float(result["pairwise"]["f1"])


def test_hybrid_learns_from_labels_of_other_people(
    shop: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    """Labels on half the people re-score the uncertain pairs; the other half is judged."""
    resolved, truth = shop
    copy = tmp_path / "lens.duckdb"
    copy.write_bytes((resolved / "lens.duckdb").read_bytes())
    t = truth.assign(uid=truth["source"] + ":" + truth["record_id"])
    with DuckDBWarehouse(copy) as wh:
        before_f1 = _half_b_f1(wh, truth)
        with wh.temporary_view("__t", t[["uid", "person_id", "half"]]):
            pool = wh.query_df("""
                SELECT p.unique_id_l, p.unique_id_r, a.person_id = b.person_id AS same,
                       p.match_probability
                FROM match_pairs p JOIN __t a ON a.uid = p.unique_id_l
                JOIN __t b ON b.uid = p.unique_id_r
                WHERE a.half = 0 AND b.half = 0 AND p.match_probability BETWEEN 0.02 AND 0.98
                ORDER BY 1, 2
            """)
        chosen = pool.sample(min(300, len(pool)), random_state=3)
        for row in chosen.itertuples(index=False):
            record_decision(wh, row.unique_id_l, row.unique_id_r, "match" if row.same else "reject")
        # a labelled pair that no blocking rule finds is scored too (and trains the model)
        far = wh.query_df(
            "SELECT min(unique_id) AS a, max(unique_id) AS b FROM "
            "(SELECT source || ':' || record_id AS unique_id FROM records)"
        )
        record_decision(wh, far.a[0], far.b[0], "reject")
        report = resolve(wh)
        hybrid = report.metrics["hybrid"]
        pairs = wh.query_df(
            "SELECT match_probability, hybrid_probability, decision_probability, match_key "
            "FROM match_pairs"
        )
        far_pair = wh.query_df(
            "SELECT match_key FROM match_pairs WHERE unique_id_l = ? AND unique_id_r = ?",
            [far.a[0], far.b[0]],
        )
        after_f1 = _half_b_f1(wh, truth)
    assert hybrid["labelled_pairs_scored"] == len(chosen) + 1
    oof = hybrid["out_of_fold"]
    # in the uncertain band the supervised model ranks and calibrates better than Splink
    assert oof["hybrid_auc"] > oof["splink_auc"]
    assert oof["hybrid_brier"] < oof["splink_brier"]
    low, high = hybrid["rescored_range"]
    rescored = pairs["hybrid_probability"].notna()
    assert rescored.sum() == hybrid["pairs_rescored"] > 0
    assert pairs.loc[rescored, "match_probability"].between(low, high).all()
    assert pairs.loc[rescored, "hybrid_probability"].between(0, 1).all()
    assert (
        pairs.loc[rescored, "decision_probability"] == pairs.loc[rescored, "hybrid_probability"]
    ).all()
    assert len(far_pair) == 1 and far_pair.match_key.isna().all()
    # on people no label touched, quality does not drop
    assert after_f1 >= before_f1 - 0.005


def test_too_few_labels_skip_the_hybrid(shop: tuple[Path, pd.DataFrame], tmp_path: Path) -> None:
    resolved, _truth = shop
    copy = tmp_path / "lens.duckdb"
    copy.write_bytes((resolved / "lens.duckdb").read_bytes())
    with DuckDBWarehouse(copy) as wh:
        pair = wh.query_df("SELECT unique_id_l, unique_id_r FROM match_pairs LIMIT 1")
        record_decision(wh, pair.unique_id_l[0], pair.unique_id_r[0], "accept")
        report = resolve(wh)
        assert "hybrid_probability" not in wh.columns("match_pairs")
    assert "skipped" in report.metrics["hybrid"]
