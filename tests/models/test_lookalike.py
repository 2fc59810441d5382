"""Lookalikes: feature scaling, self-exclusion, ordering, exact vs approximate, seed groups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from customerlens.models.lookalike import NEIGHBOUR_COLUMNS, FeatureScaler, LookalikeIndex


def _customers(rng: np.random.Generator, n: int = 3000, groups: int = 12) -> pd.DataFrame:
    """Customers drawn around ``groups`` centres: 6 skewed spend-like columns, 4 symmetric."""
    group = rng.integers(0, groups, n)
    centres = rng.normal(0, 1.5, (groups, 10))
    raw = centres[group] + rng.normal(0, 0.6, (n, 10))
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            **{f"spend_{j}": np.exp(raw[:, j]) for j in range(6)},
            **{f"trend_{j}": raw[:, 6 + j] for j in range(4)},
        }
    )
    frame["group"] = group  # not a feature: dropped before fitting
    return frame


def test_feature_scaler_imputes_logs_skewed_columns_and_centres(rng: np.random.Generator) -> None:
    frame = pd.DataFrame(
        {
            "spend": rng.lognormal(3, 1.2, 1000),
            "trend": rng.normal(0, 2, 1000),
            "mostly_zero": np.where(rng.random(1000) < 0.9, 0.0, 1.0),
        }
    )
    frame.loc[:9, "spend"] = np.nan
    scaler = FeatureScaler().fit(frame)
    assert list(scaler.log_columns_) == [True, False, True]
    z = scaler.transform(frame)
    assert np.isfinite(z).all()
    assert np.median(z[:, :2], axis=0) == pytest.approx([0.0, 0.0], abs=1e-9)
    assert z[:10, 0] == pytest.approx(0.0, abs=1e-9)  # missing -> median
    assert np.std(z[:, 1]) == pytest.approx(1.0, abs=0.15)  # IQR / 1.349 ~ sd on normal data
    # zero IQR: scaled by the standard deviation, so a 1 is a few units, not hundreds
    assert 1.0 < z[:, 2].max() < 5.0
    with pytest.raises(ValueError, match=r"\['trend'\]"):
        scaler.transform(frame.drop(columns="trend"))


def test_neighbours_exclude_self_and_sort_by_similarity(rng: np.random.Generator) -> None:
    frame = _customers(rng, n=1500)
    index = LookalikeIndex().fit(frame.drop(columns="group"))
    assert index.method_ == "exact"
    got = index.neighbours(k=8)
    assert list(got.columns) == list(NEIGHBOUR_COLUMNS)
    assert len(got) == 1500 * 8
    assert not (got["customer_id"] == got["lookalike_id"]).any()
    assert (
        got.groupby("customer_id")["rank"].agg(list).map(lambda r: r == list(range(1, 9)))
    ).all()
    assert (got.groupby("customer_id")["similarity"].diff().dropna() <= 1e-9).all()
    assert got["similarity"].between(-1 - 1e-6, 1 + 1e-6).all()
    # neighbours share the customer's group far more often than chance (1 in 12)
    group = frame.set_index("customer_id")["group"]
    same = group.loc[got["customer_id"]].to_numpy() == group.loc[got["lookalike_id"]].to_numpy()
    assert same.mean() > 0.8
    subset = index.neighbours(["C00007", "C00003"], k=3)
    assert list(subset["customer_id"]) == ["C00007"] * 3 + ["C00003"] * 3


def test_identical_twin_comes_first_and_self_never(rng: np.random.Generator) -> None:
    frame = _customers(rng, n=400).drop(columns="group")
    twin = frame.iloc[[5]].assign(customer_id="TWIN")
    index = LookalikeIndex().fit(pd.concat([frame, twin], ignore_index=True))
    got = index.neighbours(["TWIN", "C00005"], k=3)
    first = got[got["rank"] == 1].set_index("customer_id")
    assert first.loc["TWIN", "lookalike_id"] == "C00005"
    assert first.loc["C00005", "lookalike_id"] == "TWIN"
    assert first["similarity"].to_numpy() == pytest.approx([1.0, 1.0], abs=1e-5)
    assert not (got["customer_id"] == got["lookalike_id"]).any()


@pytest.mark.slow  # pynndescent compiles its graph builder (~30-45 s) in every new process
def test_exact_and_approximate_agree(rng: np.random.Generator, random_state: int) -> None:
    frame = _customers(rng, n=3000).drop(columns="group")
    exact = LookalikeIndex(random_state=random_state).fit(frame)
    approx = LookalikeIndex(exact_threshold=1000, random_state=random_state).fit(frame)
    assert (exact.method_, approx.method_) == ("exact", "approximate")
    a, b = exact.neighbours(k=10), approx.neighbours(k=10)
    assert not (b["customer_id"] == b["lookalike_id"]).any()
    assert (b.groupby("customer_id")["similarity"].diff().dropna() <= 1e-6).all()
    shared = a.merge(b, on=["customer_id", "lookalike_id"], suffixes=("_exact", "_approx"))
    assert len(shared) / len(a) > 0.9  # recall@10 of the approximate graph
    assert np.allclose(shared["similarity_exact"], shared["similarity_approx"], atol=1e-5)
    # lists longer than the graph degree go through the search index
    long_a = exact.neighbours(frame["customer_id"][:30], k=40)
    long_b = approx.neighbours(frame["customer_id"][:30], k=40)
    assert len(long_b) == 30 * 40
    assert len(long_a.merge(long_b, on=["customer_id", "lookalike_id"])) / len(long_a) > 0.9
    seeds = frame["customer_id"][:5]  # from different groups: the centroid lies between them
    near_a, near_b = exact.similar_to(seeds, k=50), approx.similar_to(seeds, k=50)
    assert len(set(near_a["lookalike_id"]) & set(near_b["lookalike_id"])) >= 45


def test_similar_to_ranks_customers_like_the_seeds(rng: np.random.Generator) -> None:
    frame = _customers(rng, n=2000)
    index = LookalikeIndex().fit(frame.drop(columns="group"))
    seeds = frame.loc[frame["group"] == 3, "customer_id"].iloc[:20]
    got = index.similar_to(seeds, k=50)
    assert list(got.columns) == ["rank", "lookalike_id", "similarity"]
    assert list(got["rank"]) == list(range(1, 51))
    assert not got["lookalike_id"].isin(seeds).any()
    assert got["similarity"].is_monotonic_decreasing
    group = frame.set_index("customer_id")["group"]
    assert (group.loc[got["lookalike_id"]] == 3).mean() > 0.9


def test_contract_errors(rng: np.random.Generator) -> None:
    frame = _customers(rng, n=50).drop(columns="group")
    with pytest.raises(NotFittedError):
        LookalikeIndex().neighbours(k=3)
    with pytest.raises(ValueError, match=r"\['customer_id'\]"):
        LookalikeIndex().fit(frame.drop(columns="customer_id"))
    with pytest.raises(ValueError, match="unique"):
        LookalikeIndex().fit(pd.concat([frame, frame.iloc[:1]]))
    index = LookalikeIndex()
    assert index.fit(frame) is index
    assert clone(index).get_params() == index.get_params()
    with pytest.raises(ValueError, match="not in the index"):
        index.neighbours(["nobody"], k=3)
    assert len(index.neighbours(["C00001"], k=500)) == 49  # capped at the other customers
