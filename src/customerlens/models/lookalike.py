"""Lookalike customers: nearest neighbours by cosine similarity of scaled customer features.

``FeatureScaler`` turns a customer-feature table into comparable numbers (median imputation,
``log1p`` of skewed columns, robust scaling); the anomaly detector uses it too.
``LookalikeIndex`` finds each customer's most similar customers, exactly (brute force) up to
``exact_threshold`` customers and approximately (``pynndescent``) above, and ranks customers
by similarity to the centroid of a seed group ("customers like these").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import RobustScaler, normalize
from sklearn.utils.validation import check_is_fitted

#: IQR and 5-95 % range of a standard normal distribution
_IQR_PER_SD = float(stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
_P90_PER_SD = float(stats.norm.ppf(0.95) - stats.norm.ppf(0.05))
NEIGHBOUR_COLUMNS = ("customer_id", "rank", "lookalike_id", "similarity")
SIMILAR_COLUMNS = ("rank", "lookalike_id", "similarity")


def require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise ``ValueError`` naming the ``columns`` that ``frame`` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lack the columns {missing}; they have {list(frame.columns)}")


def _signed_log1p(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


class FeatureScaler(TransformerMixin, BaseEstimator):
    """Median-impute, ``log1p`` skewed columns, then scale robustly.

    The result is a robust z-score per feature: (value - median) / scale, where the scale is the
    larger of IQR / 1.349 and (95th - 5th percentile) / 3.29, both the standard deviation on
    normal data. The wider range keeps zero-inflated columns (most customers 0, as with
    return share or orders in the last 30 days), whose IQR is tiny or zero, from turning every
    non-zero value into an extreme z-score (a constant column gets scale 1). Skewed columns
    are compared on the ``log1p`` scale; where a skewed column also has negative values (net
    spend after returns, trends) the log is signed, ``sign(x) * log1p(|x|)``, which is plain
    ``log1p`` on non-negative values.

    Parameters
    ----------
    columns : sequence of str, optional
        Feature columns; default every numeric (or boolean) column of the fitted frame.
    skew_threshold : float
        A non-negative column is logged when its sample skewness exceeds this, a column with
        negative values when the absolute skewness does (a heavy tail on either side).

    Attributes
    ----------
    columns_ : list of str
        Feature columns in order.
    medians_ : ndarray
        Imputation values (0 for a column with no value at all).
    log_columns_ : ndarray of bool
        Which columns are (signed-)``log1p``-transformed.
    scaler_ : RobustScaler
        Fitted on the imputed, logged values.
    """

    def __init__(self, *, columns: Sequence[str] | None = None, skew_threshold: float = 1.0):
        self.columns = columns
        self.skew_threshold = skew_threshold

    def fit(self, X: pd.DataFrame, y: object = None) -> FeatureScaler:
        """Learn medians, which columns to log and the scaling from ``X``."""
        if self.columns is None:
            columns = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
        else:
            columns = list(self.columns)
            require_columns(X, columns, "customer features")
        if not columns:
            raise ValueError(f"no numeric feature columns among {list(X.columns)}")
        self.columns_ = columns
        values = self._values(X)
        with np.errstate(all="ignore"):
            medians = np.nanmedian(values, axis=0)
        self.medians_ = np.nan_to_num(medians, nan=0.0)
        values = np.where(np.isnan(values), self.medians_, values)
        with np.errstate(all="ignore"):
            skew = np.nan_to_num(stats.skew(values, axis=0))
        negative = values.min(axis=0) < 0
        self.log_columns_ = np.where(negative, np.abs(skew), skew) > self.skew_threshold
        values[:, self.log_columns_] = _signed_log1p(values[:, self.log_columns_])
        self.scaler_ = RobustScaler(unit_variance=True).fit(values)
        q05, q25, q75, q95 = np.percentile(values, [5, 25, 75, 95], axis=0)
        # both ranges estimate the standard deviation on normal data
        scale = np.maximum((q75 - q25) / _IQR_PER_SD, (q95 - q05) / _P90_PER_SD)
        self.scaler_.scale_ = np.where(scale > 0, scale, 1.0)
        return self

    def _values(self, X: pd.DataFrame) -> np.ndarray:
        values = X[self.columns_].to_numpy(dtype=float, na_value=np.nan, copy=True)
        values[~np.isfinite(values)] = np.nan
        return values

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """Robust z-scores of ``X``'s feature columns, shape (n_rows, n_features)."""
        check_is_fitted(self, "scaler_")
        require_columns(X, self.columns_, "customer features")
        values = self._values(X)
        values = np.where(np.isnan(values), self.medians_, values)
        values[:, self.log_columns_] = _signed_log1p(values[:, self.log_columns_])
        return np.asarray(self.scaler_.transform(values))

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """The feature column names, in output order."""
        check_is_fitted(self, "scaler_")
        return np.asarray(self.columns_, dtype=object)


def customer_ids(X: pd.DataFrame, customer_col: str) -> np.ndarray:
    """The ``customer_col`` values of ``X``, checked to be present and unique."""
    require_columns(X, [customer_col], "customer features")
    ids = X[customer_col].to_numpy()
    if not pd.Index(ids).is_unique:
        raise ValueError(f"{customer_col} must be unique: one row per customer")
    return ids


class LookalikeIndex(BaseEstimator):
    """The most similar customers (cosine similarity of scaled features) for each customer.

    Parameters
    ----------
    customer_col : str
        Id column of the feature table; every other numeric column is a feature.
    exact_threshold : int
        Up to this many customers, neighbours are exact (brute force, ``NearestNeighbors``);
        above, approximate (``pynndescent.NNDescent`` graph, recall typically > 0.9).
    graph_neighbours : int
        Neighbours per customer in the approximate graph; lists up to ``graph_neighbours - 1``
        long come straight from it, longer ones need a (slower) search.
    skew_threshold : float
        Passed to :class:`FeatureScaler`.
    random_state : int
    n_jobs : int or None
        Threads for the neighbour search.

    Attributes
    ----------
    customers_ : ndarray
        Customer ids, in row order.
    scaler_ : FeatureScaler
    embedding_ : ndarray of shape (n_customers, n_features), float32
        Scaled features with rows of unit length (zero rows stay zero: similarity 0).
    method_ : {"exact", "approximate"}
    index_ : NearestNeighbors or pynndescent.NNDescent
    """

    def __init__(
        self,
        *,
        customer_col: str = "customer_id",
        exact_threshold: int = 50_000,
        graph_neighbours: int = 30,
        skew_threshold: float = 1.0,
        random_state: int = 42,
        n_jobs: int | None = None,
    ) -> None:
        self.customer_col = customer_col
        self.exact_threshold = exact_threshold
        self.graph_neighbours = graph_neighbours
        self.skew_threshold = skew_threshold
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X: pd.DataFrame, y: object = None) -> LookalikeIndex:
        """Index the customers of ``X`` (``customer_col`` + numeric feature columns)."""
        ids = customer_ids(X, self.customer_col)
        if len(ids) < 2:
            raise ValueError("lookalikes need at least two customers")
        features = X.drop(columns=[self.customer_col])
        self.scaler_ = FeatureScaler(skew_threshold=self.skew_threshold).fit(features)
        embedding = normalize(self.scaler_.transform(features)).astype(np.float32)
        self.customers_, self.embedding_ = ids, embedding
        self._rows = pd.Index(ids)
        self.method_: Literal["exact", "approximate"]
        if len(ids) <= self.exact_threshold:
            self.method_ = "exact"
            self.index_ = NearestNeighbors(metric="cosine", algorithm="brute", n_jobs=self.n_jobs)
            self.index_.fit(embedding)
        else:
            from pynndescent import NNDescent

            self.method_ = "approximate"
            self.index_ = NNDescent(
                embedding,
                metric="cosine",
                n_neighbors=min(self.graph_neighbours, len(ids) - 1),
                random_state=self.random_state,
                n_jobs=self.n_jobs,
            )
        return self

    def _rows_of(self, ids: ArrayLike) -> np.ndarray:
        wanted = np.atleast_1d(np.asarray(ids))
        rows = self._rows.get_indexer(wanted)
        if (rows < 0).any():
            unknown = wanted[rows < 0]
            raise ValueError(
                f"{len(unknown)} customers are not in the index, e.g. {list(unknown[:5])}"
            )
        return rows

    def _search(
        self, queries: np.ndarray, k: int, rows: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Indices and cosine distances of the ``k`` nearest indexed customers, nearest first.

        ``rows`` are the queries' own rows when they are indexed customers (lets the
        approximate path read its neighbour graph instead of searching).
        """
        if self.method_ == "exact":
            distances, indices = self.index_.kneighbors(queries, n_neighbors=k)
            return indices, distances
        graph_indices, graph_distances = self.index_.neighbor_graph
        if rows is not None and k <= graph_indices.shape[1]:
            return graph_indices[rows, :k], graph_distances[rows, :k]
        indices, distances = self.index_.query(queries, k=k)
        return indices, distances

    def neighbours(self, customer_ids: ArrayLike | None = None, k: int = 10) -> pd.DataFrame:
        """The ``k`` most similar other customers of each customer.

        Parameters
        ----------
        customer_ids : array-like, optional
            Indexed customers to look up (default: all). Unknown ids raise ``ValueError``.
        k : int
            Neighbours per customer (at most the number of other customers).

        Returns
        -------
        DataFrame
            ``customer_id, rank (1..k), lookalike_id, similarity``; never the customer itself,
            similarity (cosine, in [-1, 1]) descending within each customer.
        """
        check_is_fitted(self, "index_")
        rows = (
            np.arange(len(self.customers_)) if customer_ids is None else self._rows_of(customer_ids)
        )
        k = min(int(k), len(self.customers_) - 1)
        if k < 1:
            raise ValueError("k must be at least 1")
        indices, distances = self._search(self.embedding_[rows], k + 1, rows)
        # drop the customer itself, or the farthest candidate when the search missed it
        drop = indices == rows[:, None]
        drop[~drop.any(axis=1), -1] = True
        drop &= np.cumsum(drop, axis=1) == 1  # one per row, even if a row lists itself twice
        keep = ~drop
        indices = indices[keep].reshape(len(rows), k)
        similarity = 1.0 - distances[keep].reshape(len(rows), k).astype(float)
        order = np.argsort(-similarity, axis=1, kind="stable")
        indices = np.take_along_axis(indices, order, axis=1)
        similarity = np.take_along_axis(similarity, order, axis=1)
        found = indices >= 0  # the approximate graph marks missing neighbours with -1
        return pd.DataFrame(
            {
                "customer_id": np.repeat(self.customers_[rows], k)[found.ravel()],
                "rank": np.cumsum(found, axis=1)[found],
                "lookalike_id": self.customers_[indices[found]],
                "similarity": similarity[found],
            }
        )

    def similar_to(self, seed_customer_ids: ArrayLike, k: int = 100) -> pd.DataFrame:
        """The ``k`` customers most similar to the centroid of a seed group, seeds excluded.

        The centroid is the mean of the seeds' unit-length embeddings, so every seed weighs
        the same; the result answers "customers like these" for audience building.

        Returns
        -------
        DataFrame
            ``rank (1..k), lookalike_id, similarity`` (cosine to the centroid), descending.
        """
        check_is_fitted(self, "index_")
        seeds = np.unique(self._rows_of(seed_customer_ids))
        k = min(int(k), len(self.customers_) - len(seeds))
        if k < 1:
            raise ValueError("k must be at least 1 and the seeds must leave customers to rank")
        centroid = normalize(self.embedding_[seeds].mean(axis=0, keepdims=True))
        width = k + len(seeds)
        if self.method_ == "approximate":
            # a centroid often lies between groups, where a graph search started from one
            # region misses neighbours in another; a wider search recovers them (measured on
            # 3,000 customers: 44 of the exact top 50 at width 55, 49 at width 200)
            width = min(4 * width, len(self.customers_))
        indices, distances = self._search(centroid.astype(np.float32), width, None)
        indices, distances = indices[0], distances[0].astype(float)
        keep = (indices >= 0) & ~np.isin(indices, seeds)
        indices, similarity = indices[keep], 1.0 - distances[keep]
        order = np.argsort(-similarity, kind="stable")[:k]
        return pd.DataFrame(
            {
                "rank": np.arange(1, len(order) + 1),
                "lookalike_id": self.customers_[indices[order]],
                "similarity": similarity[order],
            }
        )
