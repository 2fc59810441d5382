"""Hybrid re-scoring: a calibrated gradient-boosted classifier trained on human decisions.

Splink's Fellegi-Sunter model scores fields as independent evidence, learned without labels.
Once reviewers have decided pairs (the ``labels`` table: review decisions and ``--labels``
files), a supervised model can learn what it cannot: interactions (an initial-only first name
with a different email is a relative, not a typo) and how much shared purchase behaviour says.
Its features per pair are the comparison vector (level and weight per field, the match weight,
the household-conflict flag) and the behavioural similarity of the two records' purchases
(overlap of products, brands and categories, price level, the gap in time between them).

The classifier only re-scores pairs whose Splink probability lies inside the range its labelled
pairs covered: reviewers label the uncertain band, and a tree model says nothing reliable far
outside the data it saw. Its quality is reported honestly: out-of-fold AUC and Brier score on
the labelled pairs, beside Splink's own probability on the same pairs.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from customerlens.tables import MATCH_PAIRS
from customerlens.warehouse import DuckDBWarehouse

log = logging.getLogger(__name__)


def _jaccard(left: str, right: str) -> str:
    """SQL: Jaccard similarity of two lists (NULL when either is NULL), portable to Spark."""
    return (
        f"CASE WHEN {left} IS NULL OR {right} IS NULL THEN NULL ELSE "
        f"array_length(array_intersect({left}, {right})) / "
        f"greatest(array_length(array_distinct(array_concat({left}, {right}))), 1) END"
    )


#: behavioural similarity of a pair, as SQL over records ``l`` and ``r`` (see behaviour.py)
BEHAVIOUR_FEATURES = {
    "products_jaccard": _jaccard("l.buy_products", "r.buy_products"),
    "brands_jaccard": _jaccard("l.buy_brands", "r.buy_brands"),
    "categories_jaccard": _jaccard("l.buy_categories", "r.buy_categories"),
    "price_log_ratio": "abs(ln(greatest(l.buy_price, 0.01)) - ln(greatest(r.buy_price, 0.01)))",
    "gap_days": "greatest(date_diff('day', l.buy_last, r.buy_first), "
    "date_diff('day', r.buy_last, l.buy_first), 0)",
}
#: fewest labelled pairs (of each class) worth training on
MIN_LABELS_PER_CLASS = 10
#: pairs scored per batch when re-scoring (bounds memory at scale)
BATCH_ROWS = 500_000


class HybridRescorer(BaseEstimator, ClassifierMixin):
    """Calibrated gradient boosting on pair features (numeric columns, NaN for missing).

    Attributes
    ----------
    features_ : list of str
        Feature columns, in the order fitted.
    model_ : CalibratedClassifierCV
        The fitted, calibrated classifier.
    classes_ : ndarray
        ``[0, 1]``.
    """

    def __init__(self, *, random_state: int = 42, max_iter: int = 100) -> None:
        self.random_state = random_state
        self.max_iter = max_iter

    def _estimator(self, n: int) -> CalibratedClassifierCV:
        booster = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=0.1,
            max_leaf_nodes=15,
            min_samples_leaf=max(5, n // 200),
            l2_regularization=1.0,
            random_state=self.random_state,
        )
        # isotonic needs a few hundred pairs per fold; sigmoid is safer below that
        method = "isotonic" if n >= 1000 else "sigmoid"
        return CalibratedClassifierCV(booster, method=method, cv=3)

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> HybridRescorer:
        y = np.asarray(y, dtype=int)
        if min(np.bincount(y, minlength=2)) < MIN_LABELS_PER_CLASS:
            raise ValueError(f"need at least {MIN_LABELS_PER_CLASS} labelled pairs of each class")
        # a feature with no value in the labelled pairs (no purchases in this data) carries
        # nothing and breaks the booster's binning
        self.features_ = [c for c in X.columns if X[c].notna().any()]
        X = X[self.features_]
        self.model_ = self._estimator(len(y)).fit(X.to_numpy(dtype=float), y)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "model_"):
            raise NotFittedError("HybridRescorer.predict_proba called before fit.")
        missing = [c for c in self.features_ if c not in X.columns]
        if missing:
            raise ValueError(f"pair features lack the columns {missing} the model was fitted on")
        return self.model_.predict_proba(X[self.features_].to_numpy(dtype=float))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def pair_features_sql(wh: DuckDBWarehouse, pairs: str, records: str) -> tuple[str, list[str]]:
    """SQL selecting ``pair_id``, ``match_probability`` and the features of ``pairs``."""
    columns = wh.columns(pairs)
    comparison = [c for c in columns if c.startswith(("gamma_", "mw_"))]
    numeric = [f"CAST({c} AS DOUBLE) AS {c}" for c in comparison]
    numeric += ["match_weight", "CAST(conflict AS DOUBLE) AS conflict"]
    behaviour = [f"CAST({sql} AS DOUBLE) AS {name}" for name, sql in BEHAVIOUR_FEATURES.items()]
    features = [*comparison, "match_weight", "conflict", *BEHAVIOUR_FEATURES]
    sql = f"""
        SELECT p.pair_id, p.match_probability,
               {", ".join(f"p.{c}" if " AS " not in c else c for c in numeric)},
               {", ".join(behaviour)}
        FROM {pairs} p
        JOIN {records} l ON l.unique_id = p.unique_id_l
        JOIN {records} r ON r.unique_id = p.unique_id_r
    """
    return sql, features


def rescore(
    wh: DuckDBWarehouse,
    labels: pd.DataFrame,
    *,
    records: str = "records_std",
    random_state: int = 42,
) -> dict[str, Any]:
    """Train on the labelled pairs in ``match_pairs`` and re-score the pairs inside their range.

    Adds ``hybrid_probability`` to ``match_pairs`` (NULL where not re-scored) and replaces the
    decision probability with it. Returns metrics for the run report (``skipped`` with the
    reason when there are too few labels).
    """
    decided = labels.assign(y=(labels["label"] == "match").astype(int))[
        ["unique_id_l", "unique_id_r", "y"]
    ]
    sql, features = pair_features_sql(wh, MATCH_PAIRS, records)
    with wh.temporary_view("__decided", decided):
        train = wh.query_df(f"""
            SELECT f.*, d.y FROM ({sql}) f
            JOIN {MATCH_PAIRS} p USING (pair_id)
            JOIN __decided d ON d.unique_id_l = p.unique_id_l AND d.unique_id_r = p.unique_id_r
            ORDER BY f.pair_id
        """)  # ordered: the calibration folds, hence the model, depend on row order
    counts = train["y"].value_counts().to_dict() if len(train) else {}
    metrics: dict[str, Any] = {
        "labelled_pairs": len(labels),
        "labelled_pairs_scored": len(train),
        "matches": int(counts.get(1, 0)),
        "non_matches": int(counts.get(0, 0)),
    }
    if min(counts.get(0, 0), counts.get(1, 0)) < MIN_LABELS_PER_CLASS:
        metrics["skipped"] = (
            f"needs {MIN_LABELS_PER_CLASS}+ scored pairs of each class among the labels"
        )
        return metrics
    X, y = train[features], train["y"].to_numpy()
    metrics.update(_out_of_fold(X, y, train["match_probability"].to_numpy(), random_state))
    oof = metrics["out_of_fold"]
    if oof["hybrid_auc"] <= oof["splink_auc"]:
        # the labels teach nothing Splink did not know, and a model fitted to a sample of labels
        # that is not like the pairs it would re-score extrapolates: Splink's clerical labels
        # of fake_1000 (83% matches) made it score 714 different people's pairs (Splink: 0.03)
        # at 1.0. The labels still bind their own pairs (accept / reject) when clustering.
        metrics["skipped"] = (
            f"the hybrid ranks held-out labelled pairs no better than Splink "
            f"(AUC {oof['hybrid_auc']} vs {oof['splink_auc']}); Splink's probabilities are kept"
        )
        return metrics
    model = HybridRescorer(random_state=random_state).fit(X, y)
    low, high = float(train["match_probability"].min()), float(train["match_probability"].max())
    metrics["rescored_range"] = [low, high]
    metrics["pairs_rescored"] = _apply(wh, model, sql, low, high)
    return metrics


def _out_of_fold(
    X: pd.DataFrame, y: np.ndarray, splink: np.ndarray, random_state: int
) -> dict[str, Any]:
    """AUC and Brier of the hybrid (out of fold) and of Splink's probability on the same pairs."""
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=random_state)
    oof = cross_val_predict(
        HybridRescorer(random_state=random_state), X, y, cv=folds, method="predict_proba"
    )[:, 1]
    return {
        "out_of_fold": {
            "hybrid_auc": round(float(roc_auc_score(y, oof)), 4),
            "hybrid_brier": round(float(brier_score_loss(y, oof)), 4),
            "splink_auc": round(float(roc_auc_score(y, splink)), 4),
            "splink_brier": round(float(brier_score_loss(y, splink)), 4),
        }
    }


def _apply(wh: DuckDBWarehouse, model: HybridRescorer, sql: str, low: float, high: float) -> int:
    """Score the pairs in [low, high] in batches; update ``match_pairs``."""
    reader = wh.query_batches(
        f"SELECT * FROM ({sql}) WHERE match_probability BETWEEN {low} AND {high}", BATCH_ROWS
    )
    parts = []
    for batch in reader:
        frame = batch.to_pandas()
        if len(frame):
            parts.append(
                pd.DataFrame(
                    {
                        "pair_id": frame["pair_id"].to_numpy(),
                        "hybrid_probability": model.predict_proba(frame)[:, 1],
                    }
                )
            )
    scored = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({"pair_id": pd.Series([], dtype=str), "hybrid_probability": []})
    )
    with wh.temporary_view("__hybrid", scored):
        columns = [c for c in wh.columns(MATCH_PAIRS) if c not in ("decision_probability",)]
        wh.create_table_as(
            MATCH_PAIRS,
            f"""
            SELECT {", ".join(f"p.{c}" for c in columns)}, h.hybrid_probability,
                   coalesce(h.hybrid_probability, p.decision_probability) AS decision_probability
            FROM {MATCH_PAIRS} p LEFT JOIN __hybrid h USING (pair_id)
            """,
        )
    return len(scored)
