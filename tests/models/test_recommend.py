"""Recommendations: the interaction matrix, ranking metrics, filtering, fallbacks, UCI holdout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from threadpoolctl import threadpool_limits

from customerlens.models.recommend import (
    METHODS,
    METRIC_COLUMNS,
    RECOMMENDATION_COLUMNS,
    Recommender,
    evaluate_time_holdout,
    interactions,
    ranking_metrics,
    with_names,
)

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
RETAIL = SHARED_DATA / "online_retail" / "online_retail.parquet"
CUTOFF = pd.Timestamp("2011-11-01")
UCI_COLUMNS = {"customer_col": "CustomerID", "item_col": "StockCode", "weight_col": "Quantity"}


@pytest.fixture(scope="module")
def retail() -> pd.DataFrame:
    """UCI Online Retail product lines (stock codes starting with 5 digits; not POST, fees...)."""
    if not RETAIL.is_file():
        pytest.skip(
            f"{RETAIL} is absent: UCI Online Retail is read in place from ../shared/data "
            "beside the repository (see its README.md)"
        )
    lines = pd.read_parquet(RETAIL)
    return lines[lines["StockCode"].str.match(r"^\d{5}")]


@pytest.fixture(scope="module")
def retail_train(retail: pd.DataFrame) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    return interactions(retail[retail["InvoiceDate"] < CUTOFF], **UCI_COLUMNS)


def _lines() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["b", "a", "a", "a", None, "b", "c"],
            "product_id": ["p2", "p1", "p1", "p2", "p1", "p3", "p3"],
            "quantity": [1, 2, 3, -2, 5, 0, -1],
        }
    )


def test_interactions_sum_purchases_and_ignore_returns_and_guests() -> None:
    matrix, customers, items = interactions(_lines())
    assert list(customers) == ["a", "b"]  # c only returned something
    assert list(items) == ["p1", "p2"]  # p3 was never bought
    assert matrix.toarray().tolist() == [[5.0, 0.0], [0.0, 1.0]]
    counted, _, _ = interactions(_lines(), weight_col=None)
    assert counted.toarray().tolist() == [[2.0, 1.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0]]


def test_interactions_name_missing_columns() -> None:
    with pytest.raises(ValueError, match=r"\['qty'\]"):
        interactions(_lines(), weight_col="qty")


def test_ranking_metrics_by_hand() -> None:
    recommended = np.array([[0, 1, 2], [3, -1, -1]])
    relevant = sp.csr_matrix(np.array([[0, 1, 0, 0, 1], [1, 0, 0, 0, 0]]))
    got = ranking_metrics(recommended, relevant)
    # user 0: one hit at rank 2 of 2 relevant; user 1: no hit
    assert got["precision"].tolist() == pytest.approx([1 / 3, 0.0])
    assert got["ap"].tolist() == pytest.approx([0.5 / 2, 0.0])
    ideal = 1 + 1 / np.log2(3)
    assert got["ndcg"].tolist() == pytest.approx([(1 / np.log2(3)) / ideal, 0.0])
    with pytest.raises(ValueError, match="at least one item"):
        ranking_metrics(recommended, sp.csr_matrix((2, 5)))


def test_map_and_ndcg_match_implicits_evaluation(rng: np.random.Generator) -> None:
    from implicit.evaluation import ranking_metrics_at_k

    # users who like one of 4 blocks of items, so there is structure to find
    taste = rng.integers(0, 4, 300)
    likes = (rng.random((300, 120)) < 0.02) | (
        (np.arange(120) // 30 == taste[:, None]) & (rng.random((300, 120)) < 0.3)
    )
    held_out = likes & (rng.random(likes.shape) < 0.25)
    train = sp.csr_matrix((likes & ~held_out).astype(np.float32))
    test = sp.csr_matrix(held_out.astype(np.float32))
    model = Recommender(method="als", factors=8, n_jobs=1).fit(
        train, np.arange(300), np.arange(120)
    )
    users = np.flatnonzero(held_out.any(axis=1))
    recs = model.recommend(users, n=10)
    recommended = recs["product_id"].to_numpy().reshape(len(users), 10)
    ours = ranking_metrics(recommended, test[users]).mean()
    with threadpool_limits(1, "blas"):
        theirs = ranking_metrics_at_k(
            model.model_, model.user_items_, test, K=10, show_progress=False
        )
    assert ours["ap"] == pytest.approx(theirs["map"], rel=1e-9)
    assert ours["ndcg"] == pytest.approx(theirs["ndcg"], rel=1e-9)
    assert ours["ap"] > 0.05  # better than chance: the blocks are found


def test_uci_holdout_metrics(retail: pd.DataFrame, random_state: int) -> None:
    template = Recommender(random_state=random_state, n_jobs=1)
    holdout = evaluate_time_holdout(
        retail, time_col="InvoiceDate", cutoff=CUTOFF, recommender=template, **UCI_COLUMNS
    )
    assert list(holdout.columns[: len(METRIC_COLUMNS)]) == list(METRIC_COLUMNS)
    assert list(holdout["method"]) == list(METHODS)
    metrics = holdout[["precision_at_n", "map_at_n", "ndcg_at_n"]].to_numpy()
    assert ((metrics >= 0) & (metrics <= 1)).all()
    assert holdout["customers"].nunique() == 1 and holdout["customers"].iloc[0] > 1000
    by_method = holdout.set_index("method")
    popularity = by_method.loc["popularity"]
    # measured: ALS 0.080, item-item 0.070, popularity 0.035 (precision@10)
    for method in ("als", "item_item"):
        assert by_method.loc[method, "precision_at_n"] > 1.5 * popularity["precision_at_n"]
        assert by_method.loc[method, "ndcg_at_n"] > popularity["ndcg_at_n"]


@pytest.mark.parametrize("method", METHODS)
def test_recommendations_never_repeat_purchases(
    method: str, retail_train: tuple[sp.csr_matrix, np.ndarray, np.ndarray], random_state: int
) -> None:
    matrix, customers, items = retail_train
    model = Recommender(method=method, random_state=random_state, n_jobs=1)
    model.fit(matrix, customers, items)
    heavy = customers[np.argsort(-np.diff(matrix.indptr))[:200]]
    recs = model.recommend(heavy)
    assert list(recs.columns) == list(RECOMMENDATION_COLUMNS)
    assert (
        recs.groupby("customer_id")["rank"].agg(list).map(lambda r: r == list(range(1, 11))).all()
    )
    assert not recs.duplicated(["customer_id", "product_id"]).any()
    bought = pd.DataFrame(
        {"customer_id": customers[matrix.tocoo().row], "product_id": items[matrix.tocoo().col]}
    )
    repeated = recs.merge(bought, on=["customer_id", "product_id"])
    assert repeated.empty
    if method != "popularity":
        assert (recs["source"] == method).mean() > 0.9
        # scores descend within each customer's model-made list
        own = recs[recs["source"] == method]
        assert (own.groupby("customer_id")["score"].diff().dropna() <= 1e-6).all()
    unfiltered = model.recommend(heavy, filter_already_bought=False)
    assert not unfiltered.merge(bought, on=["customer_id", "product_id"]).empty


def test_unknown_customers_get_the_popular_items(
    retail_train: tuple[sp.csr_matrix, np.ndarray, np.ndarray], random_state: int
) -> None:
    matrix, customers, items = retail_train
    model = Recommender(random_state=random_state, n_jobs=1).fit(matrix, customers, items)
    recs = model.recommend([-1.0, customers[0], -2.0], n=5)
    unknown = recs[recs["customer_id"] < 0]
    top5 = items[np.argsort(-model.popularity_, kind="stable")[:5]]
    assert (unknown["source"] == "popularity").all()
    for _, one in unknown.groupby("customer_id"):
        assert list(one["product_id"]) == list(top5)
        assert list(one["score"]) == list(-np.sort(-model.popularity_)[:5])  # buyers
        assert list(one["rank"]) == [1, 2, 3, 4, 5]
    assert (recs.loc[recs["customer_id"] == customers[0], "source"] == "als").all()


def test_short_item_item_lists_are_topped_up_with_popular_items() -> None:
    # customer 3 bought only item 5, which nobody else bought: no neighbour has anything to say
    rows = [0, 0, 1, 1, 2, 2, 3]
    cols = [0, 1, 1, 2, 2, 3, 5]
    matrix = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(4, 6))
    model = Recommender(method="item_item", n_jobs=1).fit(matrix, [10, 11, 12, 13], list("abcdef"))
    recs = model.recommend([13], n=4)
    assert list(recs["rank"]) == [1, 2, 3, 4]
    assert set(recs["product_id"]) <= set("abcde")
    assert recs["source"].eq("popularity").any()
    # six items exist and two are bought: asking for ten gives the four others
    assert len(model.recommend([10], n=10)) == 4


def test_with_names_joins_product_names(
    retail: pd.DataFrame, retail_train: tuple[sp.csr_matrix, np.ndarray, np.ndarray]
) -> None:
    matrix, customers, items = retail_train
    model = Recommender(method="popularity").fit(matrix, customers, items)
    recs = model.recommend(customers[:3], n=3)
    products = retail[["StockCode", "Description"]].rename(
        columns={"StockCode": "product_id", "Description": "product_name"}
    )
    named = with_names(recs, products)
    assert list(named.columns) == [*RECOMMENDATION_COLUMNS, "product_name"]
    assert len(named) == len(recs) and named["product_name"].notna().all()
    assert named.loc[named["product_id"] == "85123A", "product_name"].str.contains("HEART").all()
    with pytest.raises(ValueError, match="product_name"):
        with_names(recs, products.drop(columns="product_name"))


def test_contract_errors(rng: np.random.Generator) -> None:
    matrix = sp.csr_matrix((rng.random((5, 4)) < 0.5).astype(float))
    with pytest.raises(NotFittedError):
        Recommender().recommend([1])
    with pytest.raises(ValueError, match="method must be one of"):
        Recommender(method="svd").fit(matrix, np.arange(5), np.arange(4))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shape"):
        Recommender().fit(matrix, np.arange(4), np.arange(4))
    with pytest.raises(ValueError, match="unique"):
        Recommender().fit(matrix, [1, 1, 2, 3, 4], np.arange(4))
    model = Recommender(method="popularity", n=3)
    assert clone(model).get_params() == model.get_params()
    assert model.fit(matrix, np.arange(5), np.arange(4)) is model


def test_generated_shop_holdout(tmp_path: Path) -> None:
    from customerlens.synth import generate_shop

    generate_shop(2000, tmp_path, seed=7)
    lines = pd.read_csv(tmp_path / "transactions.csv", parse_dates=["event_time"])
    cutoff = lines["event_time"].quantile(0.8)
    result = evaluate_time_holdout(lines, time_col="event_time", cutoff=cutoff)
    assert result["customers"].iloc[0] > 0
    metrics = result[["precision_at_n", "map_at_n", "ndcg_at_n"]].to_numpy()
    assert ((metrics >= 0) & (metrics <= 1)).all()
