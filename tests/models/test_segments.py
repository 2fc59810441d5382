"""Segments: k found on blobs of known structure, the checks, names, tests and transitions."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.cluster import MiniBatchKMeans
from sklearn.exceptions import NotFittedError
from sklearn.metrics import adjusted_rand_score, silhouette_score

from customerlens.models.segment_profiles import (
    GONE,
    NEW,
    kruskal_tests,
    name_segments,
    segment_profiles,
    transition_matrix,
)
from customerlens.models.segments import (
    K_SCORE_COLUMNS,
    METHODS,
    Segmenter,
    choose_k,
    elbow_k,
    silhouettes,
)

#: medians of each blob (log-normal around them, sd 0.25 in log units); return_share is normal
BLOBS = {
    "loyal": {
        "recency_days": 10,
        "tenure_days": 900,
        "orders": 25,
        "net_spend": 4000,
        "avg_order_value": 160,
        "orders_90d": 6,
        "return_share": 0.03,
    },
    "lapsed": {
        "recency_days": 400,
        "tenure_days": 800,
        "orders": 6,
        "net_spend": 600,
        "avg_order_value": 100,
        "orders_90d": 0.3,
        "return_share": 0.05,
    },
    "new": {
        "recency_days": 12,
        "tenure_days": 25,
        "orders": 1.5,
        "net_spend": 150,
        "avg_order_value": 100,
        "orders_90d": 1.5,
        "return_share": 0.04,
    },
    "bargain": {
        "recency_days": 60,
        "tenure_days": 400,
        "orders": 6,
        "net_spend": 200,
        "avg_order_value": 30,
        "orders_90d": 1,
        "return_share": 0.35,
    },
}
SEPARATING = list(BLOBS["loyal"])
FEATURES = [*SEPARATING, "noise"]
AT_RISK_NAMES = {"High Value at Risk", "High Churn Risk", "At Risk", "Dormant"}


def make_blobs(rng: np.random.Generator, per_blob: int = 500) -> tuple[pd.DataFrame, np.ndarray]:
    """Customers from the four ``BLOBS`` plus a pure-noise column; returns (features, blob)."""
    parts = []
    for medians in BLOBS.values():
        columns = {
            feature: (
                np.clip(rng.normal(median, 0.02, per_blob), 0.0, 1.0)
                if feature == "return_share"
                else np.exp(rng.normal(np.log(median), 0.25, per_blob))
            )
            for feature, median in medians.items()
        }
        columns["noise"] = rng.normal(0.0, 1.0, per_blob)
        parts.append(pd.DataFrame(columns))
    frame = pd.concat(parts, ignore_index=True)
    frame.insert(0, "customer_id", [f"c{i:05d}" for i in range(len(frame))])
    return frame, np.repeat(np.arange(len(BLOBS)), per_blob)


@functools.cache
def _fitted(seed: int) -> tuple[pd.DataFrame, np.ndarray, Segmenter]:
    # one fit (~4 s on an idle machine) shared by the tests below; the data are what the ``rng``
    # fixture draws (a module-scoped fixture cannot use the function-scoped ``rng``)
    frame, truth = make_blobs(np.random.default_rng(seed))
    return frame, truth, Segmenter(features=FEATURES, random_state=seed).fit(frame)


@pytest.fixture
def fitted(random_state: int) -> tuple[pd.DataFrame, np.ndarray, Segmenter]:
    return _fitted(random_state)


def _blob_of_segment(truth: np.ndarray, labels: np.ndarray) -> dict[int, str]:
    names = list(BLOBS)
    return {int(s): names[np.bincount(truth[labels == s]).argmax()] for s in np.unique(labels)}


def test_finds_the_blobs(fitted: tuple[pd.DataFrame, np.ndarray, Segmenter]) -> None:
    frame, truth, seg = fitted
    assert seg.k_ == len(BLOBS)
    assert adjusted_rand_score(truth, seg.labels_) > 0.9
    assert list(seg.k_scores_.columns) == list(K_SCORE_COLUMNS)
    assert seg.k_scores_["k"].tolist() == list(range(2, 11))
    assert seg.elbow_k_ == len(BLOBS)
    assert seg.stability_[0] > 0.9 and len(seg.stability_scores_) == 10
    assert seg.gmm_k_ == len(BLOBS) and seg.bic_["k"].tolist() == list(range(2, 11))
    assert seg.agreement_["kmeans_vs_gmm"] > 0.9
    assert seg.agglomerative_ari_ > 0.9
    pairs = {f"{a}_vs_{b}" for i, a in enumerate(METHODS) for b in METHODS[i + 1 :]}
    assert set(seg.agreement_) == pairs
    assert 0.0 <= seg.noise_share_ < 0.1
    assert seg.outlier_.dtype == bool and len(seg.outlier_) == len(frame)
    assert seg.outlier_.mean() < 0.05


def test_fitted_views(fitted: tuple[pd.DataFrame, np.ndarray, Segmenter]) -> None:
    frame, _, seg = fitted
    assert seg.features_ == FEATURES
    assert set(seg.log_features_) <= set(FEATURES) and "noise" not in seg.log_features_
    importance = seg.feature_importance_
    assert list(importance.index[-1:]) == ["noise"] and importance["noise"] < 0.05
    assert importance[SEPARATING].min() > 0.5
    assert importance.is_monotonic_decreasing
    assert seg.pca_explained_.shape == (2,) and 0 < seg.pca_explained_.sum() <= 1
    assert seg.transform_2d(frame.head(7)).shape == (7, 2)
    proba = seg.predict_proba(frame.head(50))
    assert proba.shape == (50, seg.gmm_k_)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert ((seg.confidence_ > 0) & (seg.confidence_ <= 1)).all()
    assert seg.flag_outliers(frame).mean() == pytest.approx(0.01, abs=0.005)


def test_predict_new_customers(
    fitted: tuple[pd.DataFrame, np.ndarray, Segmenter], rng: np.random.Generator
) -> None:
    _, _, seg = fitted
    new, truth = make_blobs(rng, per_blob=50)
    labels = seg.predict(new[FEATURES[::-1]])  # column order does not matter
    assert set(labels) <= set(range(seg.k_))
    assert adjusted_rand_score(truth, labels) > 0.9
    with pytest.raises(ValueError, match="orders_90d"):
        seg.predict(new.drop(columns=["orders_90d"]))
    with pytest.raises(NotFittedError):
        Segmenter().predict(new)


def test_minibatch_path_with_missing_values(random_state: int, rng: np.random.Generator) -> None:
    frame, truth = make_blobs(rng, per_blob=500)
    frame.loc[rng.random(len(frame)) < 0.1, "tenure_days"] = np.nan
    frame["p_churn"] = np.nan  # a feature without any value is left out
    seg = Segmenter(
        k_range=(2, 6), random_state=random_state, minibatch_threshold=1000, n_bootstrap=2
    ).fit(frame)
    assert seg.features_ == FEATURES
    assert isinstance(seg.model_, MiniBatchKMeans)
    assert seg.k_ == len(BLOBS)
    assert adjusted_rand_score(truth, seg.labels_) > 0.9
    assert adjusted_rand_score(truth, seg.predict(frame)) > 0.9


def test_parameters_are_checked(rng: np.random.Generator) -> None:
    frame, _ = make_blobs(rng, per_blob=20)
    assert clone(Segmenter(k_range=(2, 5))).get_params()["k_range"] == (2, 5)
    with pytest.raises(ValueError, match="k_range"):
        Segmenter(k_range=(1, 4)).fit(frame)
    with pytest.raises(ValueError, match=r"\['spend_365d'\]"):
        Segmenter(features=["orders", "spend_365d"]).fit(frame)
    with pytest.raises(ValueError, match="at least 2 feature columns"):
        Segmenter(features=["orders", "empty"]).fit(frame.assign(empty=np.nan))


def test_k_rule_and_elbow() -> None:
    table = pd.DataFrame(
        {"k": [2, 3, 4], "silhouette": [0.50, 0.495, 0.30], "davies_bouldin": [0.9, 0.7, 0.5]}
    )
    assert choose_k(table) == 3  # near-tie on silhouette: lower Davies-Bouldin wins
    assert choose_k(table.assign(silhouette=[0.50, 0.48, 0.30])) == 2
    inertia = np.array([100.0, 40.0, 20.0, 18.0, 17.0, 16.0])
    assert elbow_k(np.arange(2, 8), inertia) == 4


def test_silhouettes_match_scikit_learn(rng: np.random.Generator) -> None:
    Z = rng.normal(size=(300, 4))
    labelings = [rng.integers(0, k, 300) for k in (2, 3, 6)]
    labelings.append(np.r_[0, np.ones(299, dtype=int)])  # a customer alone in a cluster
    expected = [silhouette_score(Z, labels) for labels in labelings]
    np.testing.assert_allclose(silhouettes(Z, labelings), expected, atol=1e-12)
    assert np.isnan(silhouettes(Z, [np.zeros(300)])[0])


def test_profiles(fitted: tuple[pd.DataFrame, np.ndarray, Segmenter]) -> None:
    frame, _, seg = fitted
    profiles = segment_profiles(frame, seg.labels_, FEATURES)
    assert profiles["size"].sum() == len(frame)
    assert profiles["share"].sum() == pytest.approx(1.0)
    first = frame[seg.labels_ == profiles.index[0]]
    assert profiles["net_spend_mean"].iloc[0] == pytest.approx(first["net_spend"].mean())
    assert profiles["net_spend_ratio"].iloc[0] == pytest.approx(
        first["net_spend"].mean() / frame["net_spend"].mean()
    )
    ranks = profiles["noise_rank"]
    assert ranks.between(0.4, 0.6).all()
    assert (profiles["orders_rank"] * profiles["share"]).sum() == pytest.approx(0.5)


def test_names_follow_the_rules(fitted: tuple[pd.DataFrame, np.ndarray, Segmenter]) -> None:
    frame, truth, seg = fitted
    names = name_segments(segment_profiles(frame, seg.labels_, FEATURES))
    blob_of = _blob_of_segment(truth, seg.labels_)
    by_blob = {blob_of[s]: name for s, (name, _) in names.items()}
    assert by_blob["loyal"] == "Loyal & High Value"
    assert by_blob["lapsed"] in AT_RISK_NAMES
    assert by_blob["new"] == "New Customers"
    assert by_blob["bargain"] == "Price Sensitive"
    assert len(set(by_blob.values())) == len(by_blob)
    assert all(persona.endswith("of customers.") for _, persona in names.values())


def test_names_stay_unique(fitted: tuple[pd.DataFrame, np.ndarray, Segmenter]) -> None:
    frame, _, seg = fitted
    profiles = segment_profiles(frame, seg.labels_, FEATURES)
    twin = profiles.iloc[[0]].rename(index=lambda s: 10)
    other = twin.rename(index=lambda s: 11).assign(noise_rank=0.99)
    names = name_segments(pd.concat([profiles, twin, other]))
    assert names[10][0] == names[int(profiles.index[0])][0] + " (2)"
    assert len({name for name, _ in names.values()}) == len(names)
    assert names[11][0].endswith("(higher noise)")
    assert names[int(profiles.index[0])][0].endswith("(lower noise)")


def test_kruskal_wallis(fitted: tuple[pd.DataFrame, np.ndarray, Segmenter]) -> None:
    frame, _, seg = fitted
    table = kruskal_tests(frame, seg.labels_, FEATURES)
    assert list(table.columns) == ["h", "p_value", "epsilon_squared", "n", "sampled"]
    assert (table.loc[SEPARATING, "p_value"] < 1e-12).all()
    assert (table.loc[SEPARATING, "epsilon_squared"] > 0.5).all()
    noise = table.loc["noise"]
    assert noise["p_value"] > 0.01 and noise["epsilon_squared"] < 0.01
    assert not table["sampled"].any() and (table["n"] == len(frame)).all()
    sampled = kruskal_tests(frame, seg.labels_, ["orders", "noise"], max_rows=500)
    assert sampled["sampled"].all() and (sampled["n"] == 500).all()


def test_transition_matrix() -> None:
    before = pd.Series([0, 0, 1, 1, 2], index=["a", "b", "c", "d", "e"])
    after = pd.Series([0, 1, 1, 3], index=["a", "b", "c", "f"])
    counts = transition_matrix(before, after)
    assert list(counts.index) == [0, 1, 2, NEW] and list(counts.columns) == [0, 1, 3, GONE]
    assert counts.to_numpy().sum() == 6
    assert counts.loc[0, 0] == 1 and counts.loc[0, 1] == 1 and counts.loc[1, 1] == 1
    assert counts.loc[1, GONE] == 1 and counts.loc[2, GONE] == 1 and counts.loc[NEW, 3] == 1
    shares = transition_matrix(before, after, normalize=True)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0)
    assert shares.loc[0, 0] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="duplicated"):
        transition_matrix(pd.Series([0, 1], index=["a", "a"]), after)


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(st.integers(0, 30), st.integers(0, 3)),
    st.dictionaries(st.integers(0, 30), st.integers(0, 3)),
)
def test_transition_counts_add_up(before: dict[int, int], after: dict[int, int]) -> None:
    counts = transition_matrix(pd.Series(before, dtype=float), pd.Series(after, dtype=float))
    assert counts.to_numpy().sum() == len(set(before) | set(after))
    assert counts.loc[NEW].sum() == len(set(after) - set(before))
    assert counts[GONE].sum() == len(set(before) - set(after))
    assert counts.loc[NEW, GONE] == 0
