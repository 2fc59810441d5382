"""Unusual customers: an isolation forest on scaled customer features, with a reason per customer.

The reason names the features farthest from the typical customer (largest robust z-scores of
:class:`~customerlens.models.lookalike.FeatureScaler`), e.g. ``"high orders_90d, low
avg_order_value"``: the forest says *that* a customer is unusual, the z-scores say *where*.

The forest finds customers unusual in several features at once (wholesalers: many orders, huge
spend, short gaps), but it rarely isolates a customer who is extreme in a single feature: each
split picks one of the features at random and trees stop at depth log2(256) = 8, so with 18
features a lone extreme value is seldom reached (on UCI Online Retail customer features, a
typical customer given ``orders_90d = 300`` ranked 1,441st of 4,363). Customers with any
robust z-score beyond ``extreme_z`` are therefore flagged as well.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.ensemble import IsolationForest
from sklearn.utils.validation import check_is_fitted

from customerlens.models.lookalike import FeatureScaler, customer_ids

SCORE_COLUMNS = ("customer_id", "anomaly_score", "is_anomaly", "reason")


class AnomalyDetector(BaseEstimator):
    """Flag customers whose features are unlike everyone else's.

    Parameters
    ----------
    customer_col : str
        Id column; every other numeric column is a feature.
    contamination : float or "auto"
        Share of customers the forest flags (``IsolationForest``); "auto" uses the forest's
        own threshold (score 0.5 in the original paper's units).
    extreme_z : float or None
        Also flag a customer with any feature's absolute robust z-score at least this (None:
        the forest alone decides). Skewed features are on the log scale, so 10 is far out: on
        UCI Online Retail it adds about 1 % of customers (negative net spend, return shares
        near or above 1).
    n_estimators : int
        Trees in the forest.
    max_reasons : int
        At most this many features named per customer.
    reason_threshold : float
        Besides the most extreme feature (always named), a feature is named only when its
        absolute robust z-score reaches this.
    skew_threshold : float
        Passed to :class:`FeatureScaler`.
    random_state : int
    n_jobs : int or None

    Attributes
    ----------
    scaler_ : FeatureScaler
    features_ : list of str
        Feature columns, in order.
    forest_ : IsolationForest
    """

    def __init__(
        self,
        *,
        customer_col: str = "customer_id",
        contamination: float | Literal["auto"] = 0.01,
        extreme_z: float | None = 10.0,
        n_estimators: int = 200,
        max_reasons: int = 3,
        reason_threshold: float = 2.0,
        skew_threshold: float = 1.0,
        random_state: int = 42,
        n_jobs: int | None = None,
    ) -> None:
        self.customer_col = customer_col
        self.contamination = contamination
        self.extreme_z = extreme_z
        self.n_estimators = n_estimators
        self.max_reasons = max_reasons
        self.reason_threshold = reason_threshold
        self.skew_threshold = skew_threshold
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X: pd.DataFrame, y: object = None) -> AnomalyDetector:
        """Fit the scaling and the forest on ``X`` (``customer_col`` + numeric features)."""
        customer_ids(X, self.customer_col)
        if self.max_reasons < 1:
            raise ValueError("max_reasons must be at least 1")
        features = X.drop(columns=[self.customer_col])
        self.scaler_ = FeatureScaler(skew_threshold=self.skew_threshold).fit(features)
        self.features_ = list(self.scaler_.columns_)
        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators,
            contamination=self.contamination,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        ).fit(self.scaler_.transform(features))
        return self

    def score(self, X: pd.DataFrame) -> pd.DataFrame:
        """Anomaly score, flag and reason for each customer of ``X``.

        Returns
        -------
        DataFrame
            ``customer_id``; ``anomaly_score`` in (0, 1], higher is more unusual (the
            isolation-forest score of Liu et al. 2008); ``is_anomaly``, flagged by the forest
            or by a feature beyond ``extreme_z``; ``reason``, the 1 to
            ``max_reasons`` most extreme features as "high <feature>" / "low <feature>",
            most extreme first (z-scores of logged features are on the log scale).
        """
        check_is_fitted(self, "forest_")
        ids = customer_ids(X, self.customer_col)
        z = self.scaler_.transform(X)
        flagged = self.forest_.predict(z) == -1
        if self.extreme_z is not None:
            flagged |= (np.abs(z) >= self.extreme_z).any(axis=1)
        return pd.DataFrame(
            {
                "customer_id": ids,
                "anomaly_score": -self.forest_.score_samples(z),
                "is_anomaly": flagged,
                "reason": self._reasons(z),
            }
        )

    def _reasons(self, z: np.ndarray) -> np.ndarray:
        width = min(self.max_reasons, z.shape[1])
        top = np.argsort(-np.abs(z), axis=1, kind="stable")[:, :width]
        top_z = np.take_along_axis(z, top, axis=1)
        names = np.asarray(self.features_, dtype=object)[top]
        labels = np.where(top_z >= 0, "high ", "low ").astype(object) + names
        reasons = labels[:, 0]
        for j in range(1, width):
            named = np.abs(top_z[:, j]) >= self.reason_threshold
            reasons = np.where(named, reasons + ", " + labels[:, j], reasons)
        return reasons
