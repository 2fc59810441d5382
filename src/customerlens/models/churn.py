"""Churn: P(no purchase in the horizon after a cutoff), trained and judged out of time.

``ChurnModel`` is a calibrated gradient-boosted classifier on the per-customer features of
``features/customer.py``. The stage (``features/pipeline.py``) trains it at an earlier cutoff
(features up to T - H, label from (T - H, T]) and evaluates it at the later one (features up to
T, label from (T, T + H]), so no evaluated outcome was ever seen in training; it is reported
beside a recency-only baseline and the CLV model's P(no purchase), with a reliability table.
``ValueModel`` does the same for the spend in the horizon (a gradient-boosted regressor).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import NotFittedError
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from customerlens.features.customer import FEATURE_COLUMNS

#: the CLV model's predictions at the same cutoff, used as features (stacking)
CLV_FEATURES = ("clv_p_no_purchase", "clv_expected_purchases", "clv_expected_value")
MODEL_FEATURES = (*FEATURE_COLUMNS, *CLV_FEATURES)
#: fewest customers of each outcome worth training on
MIN_PER_CLASS = 20


#: the most customers a model trains on: beyond a few hundred thousand rows gradient boosting
#: on these ~20 features gains nothing measurable and costs minutes (1M customers x 3 windows)
MAX_TRAIN_ROWS = 250_000


def _sample(
    X: pd.DataFrame, y: np.ndarray, limit: int, seed: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """A uniform random sample of at most ``limit`` rows (all rows when fewer)."""
    if len(X) <= limit:
        return X, y
    rows = np.sort(np.random.default_rng(seed).choice(len(X), limit, replace=False))
    return X.iloc[rows], y[rows]


def _matrix(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"customer features lack the columns {missing} the model was fitted on")
    return frame[columns].to_numpy(dtype=float)


class _FeatureModel(BaseEstimator):
    """What the churn and value models share: parameters, the training sample, the columns."""

    def __init__(
        self, *, random_state: int = 42, max_iter: int = 200, max_rows: int = MAX_TRAIN_ROWS
    ) -> None:
        self.random_state = random_state
        self.max_iter = max_iter
        self.max_rows = max_rows

    def _prepare(self, X: pd.DataFrame, y: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
        """Sample the training rows and fix ``features_`` (columns with any value)."""
        X, y = _sample(X, y, self.max_rows, self.random_state)
        self.features_ = [c for c in MODEL_FEATURES if c in X.columns and X[c].notna().any()]
        return X, y


class ChurnModel(ClassifierMixin, _FeatureModel):
    """Calibrated P(churn) from customer features.

    Attributes
    ----------
    features_ : list of str
        Feature columns, in the order fitted (those with any value in the training data).
    model_ : CalibratedClassifierCV
        Gradient boosting, calibrated (isotonic from 1,000 customers, sigmoid below).
    classes_ : ndarray
        ``[False, True]`` (True = churned).
    """

    def fit(self, X: pd.DataFrame, y: ArrayLike) -> ChurnModel:
        X, y = self._prepare(X, np.asarray(y, dtype=bool))
        counts = np.bincount(y.astype(int), minlength=2)
        if counts.min() < MIN_PER_CLASS:
            raise ValueError(
                f"churn needs at least {MIN_PER_CLASS} customers who bought again and "
                f"{MIN_PER_CLASS} who did not after the training cutoff; got {counts[0]} "
                f"and {counts[1]}. Use a longer history, another cutoff or a shorter horizon."
            )
        booster = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=0.05,
            max_leaf_nodes=31,
            l2_regularization=1.0,
            random_state=self.random_state,
        )
        method = "isotonic" if len(y) >= 1000 else "sigmoid"
        self.model_ = CalibratedClassifierCV(booster, method=method, cv=3)
        self.model_.fit(_matrix(X, self.features_), y)
        self.classes_ = np.array([False, True])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "model_"):
            raise NotFittedError("ChurnModel.predict_proba called before fit.")
        return self.model_.predict_proba(_matrix(X, self.features_))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return self.predict_proba(X)[:, 1] >= 0.5


class ValueModel(RegressorMixin, _FeatureModel):
    """Expected net spend in the horizon from customer features (gradient boosting).

    Attributes
    ----------
    features_ : list of str
    model_ : HistGradientBoostingRegressor
    """

    def fit(self, X: pd.DataFrame, y: ArrayLike) -> ValueModel:
        X, y = self._prepare(X, np.asarray(y, dtype=float))
        # Poisson deviance: predicts the *mean* spend (totals add up, unlike the median an
        # absolute loss gives, which is 0 for most customers) and suits a skewed, zero-heavy,
        # non-negative target; net refunds in the window count as no spend
        self.model_ = HistGradientBoostingRegressor(
            loss="poisson",
            max_iter=self.max_iter,
            learning_rate=0.05,
            random_state=self.random_state,
        ).fit(_matrix(X, self.features_), np.clip(y, 0.0, None))
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "model_"):
            raise NotFittedError("ValueModel.predict called before fit.")
        return np.maximum(self.model_.predict(_matrix(X, self.features_)), 0.0)


def reliability_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    """Predicted vs observed churn rate in ``bins`` equal-width probability bins."""
    y = np.asarray(y, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            rows.append(
                {
                    "bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
                    "customers": int(mask.sum()),
                    "predicted": round(float(p[mask].mean()), 4),
                    "observed": round(float(y[mask].mean()), 4),
                }
            )
    return rows


def classification_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """AUC, PR-AUC (average precision) and Brier score; NaN-free or a clear error."""
    y = np.asarray(y, dtype=bool)
    if y.all() or not y.any():
        raise ValueError("the evaluation window has only one outcome; AUC is undefined there")
    return {
        "auc": round(float(roc_auc_score(y, p)), 4),
        "pr_auc": round(float(average_precision_score(y, p)), 4),
        "brier": round(float(brier_score_loss(y, p)), 4),
    }
