"""Customer segments: k-means with an automatic k, cross-checked by three other clusterings.

:class:`Segmenter` turns per-customer features (``features/customer.py``, CLV and churn outputs)
into segments:

1. **Preprocessing** (``preprocess_``): ``log1p`` on the skewed non-negative columns (no negative
   value and a skewness above 1 at fit time; a negative value met later is clipped to 0 first),
   median imputation of NaN, then ``RobustScaler`` (median / IQR), so a few very large customers
   do not set the scale.
2. **Choice of k** (``k_scores_``, ``k_``): k-means++ for every k of ``k_range`` (both ends
   included), scored by the silhouette (on a sample of at most ``sample_size`` customers),
   Davies-Bouldin, Calinski-Harabasz and inertia. **Rule**: the highest silhouette wins; every k
   within 0.01 of it is a near-tie, and among near-ties the lowest Davies-Bouldin wins (then the
   smaller k). The elbow of the inertia curve (``elbow_k_``: largest gap below the chord from the
   first to the last inertia) is reported but not used: on customer data it is rarely sharp.
3. **Checks**: a Gaussian mixture with its own k chosen by BIC (fitted on the sample), and on a
   common sample of at most 5,000 customers Ward agglomerative clustering with ``k_`` and HDBSCAN;
   the adjusted Rand index between every pair of methods is in ``agreement_``. Then bootstrap
   stability, eta-squared feature importance and a 2-D PCA.

Above ``minibatch_threshold`` customers k-means is ``MiniBatchKMeans`` (every k still sees every
customer; the silhouette, the mixture, the checks and the bootstrap use the samples). Measured
with scikit-learn 1.9 on a 2-CPU machine shared with other CPU-bound jobs, ``Segmenter()`` with
the default parameters on 1,000,000 synthetic customers x 14 features (five latent segments,
skewed, with NaN): fit 60 s with one BLAS / OpenMP thread (``OMP_NUM_THREADS=1
OPENBLAS_NUM_THREADS=1``), 341 s with the default two threads (they spin against the other jobs;
the results are identical); peak resident memory 1.0 GiB (0.5 GiB of it the input and its
generation); ``predict`` of the 1,000,000 customers 0.6 s. The silhouette of all nine k on the
20,000-customer sample takes ~5 s (:func:`silhouettes` computes the distances once, where
``silhouette_score`` takes ~5 s per k).

Outliers (``outlier_``): customers of the HDBSCAN sample are outliers when HDBSCAN calls them
noise; every other customer is one when its distance to the nearest k-means centre is above the
99th percentile of those distances (``outlier_threshold_``), which :meth:`Segmenter.flag_outliers`
also applies to new customers. Profiles, names, tests and transitions of the segments are in
``segment_profiles.py`` (re-exported here).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans, MiniBatchKMeans
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.metrics import adjusted_rand_score, calinski_harabasz_score, davies_bouldin_score
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, RobustScaler
from sklearn.utils.validation import check_is_fitted

# the profiling functions are re-exported: ``customerlens.models.segments`` is the one entry point
from customerlens.models.segment_profiles import (
    ID_COLUMN,
    feature_matrix,
    kruskal_tests,
    name_segments,
    segment_profiles,
    transition_matrix,
)

__all__ = [
    "Segmenter",
    "choose_k",
    "elbow_k",
    "eta_squared",
    "feature_matrix",
    "kruskal_tests",
    "name_segments",
    "segment_profiles",
    "silhouettes",
    "transition_matrix",
]

K_SCORE_COLUMNS = ("k", "silhouette", "davies_bouldin", "calinski_harabasz", "inertia")
#: the four methods compared in ``Segmenter.agreement_``
METHODS = ("kmeans", "gmm", "agglomerative", "hdbscan")
#: a column is log-transformed when its sample skewness is above this (and it has no negative)
SKEW_THRESHOLD = 1.0
#: silhouettes this close to the best are near-ties, broken by Davies-Bouldin
SILHOUETTE_TIE = 0.01
N_INIT = 4
MINIBATCH_N_INIT = 3
MINIBATCH_BATCH_SIZE = 4096
#: Ward needs O(n^2) memory (5,000 rows: 100 MB); HDBSCAN and the agreement use the same rows
VALIDATION_SIZE = 5_000
#: HDBSCAN's smallest cluster, as a share of its sample (at least 5 customers)
HDBSCAN_MIN_SHARE = 0.01
OUTLIER_QUANTILE = 0.99
#: in scaled units (IQR = 1): keeps mixture components off the point masses of count features
GMM_REG_COVAR = 1e-3
#: distance-matrix cells per chunk in :func:`silhouettes` (4M float64 = 32 MB)
_CHUNK_CELLS = 4_000_000


def log1p_columns(values: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Signed ``log1p`` (``sign(x) log(1 + |x|)``) of the ``columns`` (a boolean mask).

    Signed so that a skewed column with a few negatives (net spend after refunds) is tamed too:
    left raw, a wholesale buyer's spend sits hundreds of IQRs out and k-means spends its
    clusters on isolating such customers.
    """
    out = np.array(values, dtype=float, copy=True)
    part = out[:, columns]
    out[:, columns] = np.sign(part) * np.log1p(np.abs(part))
    return out


def skewed_columns(values: np.ndarray) -> np.ndarray:
    """Mask of the columns whose skewness is above ``SKEW_THRESHOLD`` (either tail)."""
    with np.errstate(all="ignore"):
        centred = values - np.nanmean(values, axis=0)
        m2 = np.nanmean(centred**2, axis=0)
        m3 = np.nanmean(centred**3, axis=0)
        skew = np.where(m2 > 0, m3 / m2**1.5, 0.0)
    return np.abs(skew) > SKEW_THRESHOLD


def make_preprocess(log_mask: np.ndarray) -> Pipeline:
    """log1p of the masked columns, median imputation, robust scaling (an unfitted Pipeline)."""
    return Pipeline(
        [
            (
                "log1p",
                FunctionTransformer(
                    log1p_columns, kw_args={"columns": log_mask}, feature_names_out="one-to-one"
                ),
            ),
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            # 5-95% range, not the IQR: a mostly-zero feature (return share) has an IQR of 0
            # and would stay unscaled, its few non-zero customers then dominating the clusters
            ("scale", RobustScaler(quantile_range=(5.0, 95.0))),
        ]
    )


def silhouettes(Z: np.ndarray, labelings: Sequence[np.ndarray]) -> list[float]:
    """Mean silhouette of each labelling of the rows of ``Z`` (NaN with fewer than 2 labels).

    Equal to :func:`sklearn.metrics.silhouette_score` for each labelling, but the pairwise
    distances, which dominate the cost, are computed once for all the labellings (the k
    compared). Customers alone in their cluster score 0, as in scikit-learn.
    """
    n = len(Z)
    codes = [np.unique(labels, return_inverse=True)[1] for labels in labelings]
    widths = [int(code.max()) + 1 for code in codes]
    offsets = np.cumsum([0, *widths])
    # one indicator matrix for all labellings: each chunk of distances is read once
    indicator = np.hstack([np.eye(width)[code] for code, width in zip(codes, widths, strict=True)])
    sizes = indicator.sum(axis=0)
    scores = np.zeros((len(codes), n))
    squares = np.einsum("ij,ij->i", Z, Z)
    step = max(1, _CHUNK_CELLS // max(n, 1))
    for start in range(0, n, step):
        stop = min(n, start + step)
        rows = np.arange(stop - start)
        d2 = squares[start:stop, None] + squares[None, :] - 2.0 * (Z[start:stop] @ Z.T)
        dist = np.sqrt(np.maximum(d2, 0.0))
        dist[rows, start + rows] = 0.0
        mean_to_all = (dist @ indicator) / sizes
        for i, code in enumerate(codes):
            mean_to = mean_to_all[:, offsets[i] : offsets[i + 1]]
            own = code[start:stop]
            own_size = sizes[offsets[i] + own]
            a = mean_to[rows, own] * own_size / np.maximum(own_size - 1, 1)
            mean_to[rows, own] = np.inf
            b = mean_to.min(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                s = np.nan_to_num((b - a) / np.maximum(a, b))
            scores[i, start:stop] = np.where(own_size > 1, s, 0.0)
    return [
        float(score.mean()) if width >= 2 else float("nan")
        for score, width in zip(scores, widths, strict=True)
    ]


def choose_k(k_scores: pd.DataFrame, tie: float = SILHOUETTE_TIE) -> int:
    """Best silhouette; near-ties (within ``tie``) go to the lowest Davies-Bouldin, then small k."""
    scored = k_scores.dropna(subset=["silhouette"])
    if scored.empty:
        raise ValueError("no k could be scored: every clustering put the sample in one cluster")
    near = scored[scored["silhouette"] >= scored["silhouette"].max() - tie]
    return int(near.sort_values(["davies_bouldin", "k"])["k"].iloc[0])


def elbow_k(ks: np.ndarray, inertia: np.ndarray) -> int:
    """The knee of a decreasing inertia curve: the k furthest below the first-to-last chord."""
    ks = np.asarray(ks, dtype=float)
    inertia = np.asarray(inertia, dtype=float)
    if len(ks) < 3 or inertia[0] <= inertia[-1]:
        return int(ks[0])
    x = (ks - ks[0]) / (ks[-1] - ks[0])
    y = (inertia - inertia[-1]) / (inertia[0] - inertia[-1])
    return int(ks[np.argmax(1.0 - x - y)])


def eta_squared(Z: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per column, the share of its variance between the clusters (0 for a constant column)."""
    _, code, counts = np.unique(labels, return_inverse=True, return_counts=True)
    grand = Z.mean(axis=0)
    total = ((Z - grand) ** 2).sum(axis=0)
    between = np.array(
        [
            (counts * (np.bincount(code, weights=Z[:, j]) / counts - grand[j]) ** 2).sum()
            for j in range(Z.shape[1])
        ]
    )
    return np.divide(between, total, out=np.zeros_like(total), where=total > 0)


class Segmenter(ClusterMixin, BaseEstimator):
    """Customer segments by k-means with an automatic k, checked by GMM, Ward and HDBSCAN.

    Parameters
    ----------
    features : sequence of str, optional
        Feature columns; by default every numeric column but ``customer_id``. Columns with no
        value at all are left out.
    k_range : (int, int)
        Smallest and largest k tried, both included (k is at most the customers minus one).
    random_state : int, optional
        Seeds the samples, k-means, the mixture, the bootstrap and the PCA.
    sample_size : int
        Customers in the sample used for the silhouette, the mixture and the bootstrap.
    minibatch_threshold : int
        Above this many customers k-means is ``MiniBatchKMeans``.
    n_bootstrap : int
        Bootstrap resamples for ``stability_`` (0 skips it).

    Attributes
    ----------
    features_ : list of str
        Feature columns used, in order (``feature_names_in_`` as an array).
    log_features_ : list of str
        Features log1p-transformed before scaling.
    preprocess_ : Pipeline
        log1p (the ``log_features_``), median ``SimpleImputer``, ``RobustScaler``.
    k_scores_ : DataFrame
        One row per k tried: k, silhouette, davies_bouldin, calinski_harabasz, inertia.
    k_ : int
        The chosen k (see the module docstring for the rule).
    elbow_k_ : int
        The knee of the inertia curve, for reference.
    model_ : KMeans or MiniBatchKMeans
        The k-means model with ``k_`` clusters.
    labels_ : ndarray of int
        Segment of every training customer, in row order.
    sample_index_ : ndarray of int
        Rows (positions) of the sample used for the silhouette, the mixture and the bootstrap.
    gmm_ : GaussianMixture
        Full-covariance mixture with ``gmm_k_`` components, fitted on the sample.
    gmm_k_ : int
        Number of components with the lowest BIC.
    bic_ : DataFrame
        k and bic (on the sample) for every k tried.
    confidence_ : ndarray of float
        Highest mixture membership probability of every training customer.
    agglomerative_ari_ : float
        Adjusted Rand index of Ward clustering (``k_`` clusters) vs k-means on the check sample.
    noise_share_ : float
        Share of the check sample HDBSCAN calls noise.
    outlier_ : ndarray of bool
        Outlier flag of every training customer (see the module docstring).
    outlier_threshold_ : float
        Distance to the nearest centre above which a customer outside the check sample is an
        outlier.
    agreement_ : dict of str to float
        Adjusted Rand index between each pair of ``METHODS`` on the check sample, keyed
        ``"kmeans_vs_gmm"`` and so on (HDBSCAN noise counts as one more cluster).
    stability_ : (float, float)
        Mean and standard deviation over the bootstrap resamples of the sample of the adjusted
        Rand index between k-means refitted with ``k_`` and ``labels_`` on the resampled rows.
    stability_scores_ : ndarray of float
        The adjusted Rand index of each bootstrap resample.
    feature_importance_ : Series
        Eta-squared (between-segment share of variance) of each scaled feature, descending.
    pca_ : PCA
        Two-component PCA of the scaled features.
    pca_explained_ : ndarray of float
        Explained variance ratio of the two components.
    """

    def __init__(
        self,
        *,
        features: Sequence[str] | None = None,
        k_range: tuple[int, int] = (2, 10),
        random_state: int | None = 42,
        sample_size: int = 20_000,
        minibatch_threshold: int = 200_000,
        n_bootstrap: int = 10,
    ) -> None:
        self.features = features
        self.k_range = k_range
        self.random_state = random_state
        self.sample_size = sample_size
        self.minibatch_threshold = minibatch_threshold
        self.n_bootstrap = n_bootstrap

    def fit(self, X: pd.DataFrame, y: Any = None) -> Segmenter:
        """Preprocess, choose k, segment, then fit the checks; returns ``self``."""
        k_min, k_max = self._check_params()
        Z = self._fit_preprocess(X)
        n = len(Z)
        ks = list(range(k_min, min(k_max, min(n, self.sample_size) - 1) + 1))
        if not ks:
            raise ValueError(f"segmenting into {k_min} or more segments needs more than {n} rows")
        rng = np.random.default_rng(self.random_state)
        order = rng.permutation(n)
        self.sample_index_ = np.sort(order[: self.sample_size])
        self._fit_kmeans(Z, ks)
        self._fit_mixture(Z, ks)
        self._fit_checks(Z, order[: min(VALIDATION_SIZE, self.sample_size)])
        self._fit_stability(Z, rng)
        self._fit_views(Z)
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Segment of each customer of ``X`` (the nearest k-means centre after preprocessing)."""
        Z = self._scaled(X)
        return np.asarray(self.model_.predict(Z))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Mixture membership probabilities, (n, ``gmm_k_``); the row maximum is the confidence.

        The components are the mixture's own (``gmm_k_`` of them), not the k-means segments.
        """
        Z = self._scaled(X)
        return np.asarray(self.gmm_.predict_proba(Z))

    def transform_2d(self, X: pd.DataFrame) -> np.ndarray:
        """Coordinates of the customers on the two principal components, shape (n, 2)."""
        Z = self._scaled(X)
        return np.asarray(self.pca_.transform(Z))

    def flag_outliers(self, X: pd.DataFrame) -> np.ndarray:
        """True where the distance to the nearest centre is above ``outlier_threshold_``."""
        Z = self._scaled(X)
        distance = self.model_.transform(Z).min(axis=1)
        return np.asarray(distance > self.outlier_threshold_)

    def _scaled(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "model_")
        return np.asarray(self.preprocess_.transform(feature_matrix(X, self.features_)))

    def _check_params(self) -> tuple[int, int]:
        k_min, k_max = (int(k) for k in self.k_range)
        if not 2 <= k_min <= k_max:
            raise ValueError(
                f"k_range must be (low, high) with 2 <= low <= high; got {self.k_range}"
            )
        if self.sample_size < 100:
            raise ValueError(f"sample_size must be at least 100; got {self.sample_size}")
        if self.n_bootstrap < 0:
            raise ValueError(f"n_bootstrap must be 0 or more; got {self.n_bootstrap}")
        return k_min, k_max

    def _feature_columns(self, X: pd.DataFrame) -> list[str]:
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"Segmenter.fit needs a pandas DataFrame; got {type(X).__name__}")
        if self.features is None:
            numeric = X.select_dtypes(include="number").columns
            requested = [str(c) for c in numeric if c != ID_COLUMN]
        else:
            requested = list(self.features)
            feature_matrix(X.head(0), requested)  # fails naming the missing columns
        used = [c for c in requested if X[c].notna().any()]
        if len(used) < 2:
            raise ValueError(
                f"segmenting needs at least 2 feature columns with values; got {used} "
                f"out of {requested}"
            )
        return used

    def _fit_preprocess(self, X: pd.DataFrame) -> np.ndarray:
        self.features_ = self._feature_columns(X)
        self.feature_names_in_ = np.asarray(self.features_, dtype=object)
        self.n_features_in_ = len(self.features_)
        values = feature_matrix(X, self.features_)
        log_mask = skewed_columns(values)
        self.log_features_ = [f for f, log in zip(self.features_, log_mask, strict=True) if log]
        self.preprocess_ = make_preprocess(log_mask).fit(values)
        return np.asarray(self.preprocess_.transform(values))

    def _kmeans(self, k: int, minibatch: bool) -> KMeans | MiniBatchKMeans:
        if minibatch:
            return MiniBatchKMeans(
                n_clusters=k,
                init="k-means++",
                n_init=MINIBATCH_N_INIT,
                batch_size=MINIBATCH_BATCH_SIZE,
                random_state=self.random_state,
            )
        return KMeans(n_clusters=k, init="k-means++", n_init=N_INIT, random_state=self.random_state)

    def _fit_kmeans(self, Z: np.ndarray, ks: list[int]) -> None:
        minibatch = len(Z) > self.minibatch_threshold
        models = {k: self._kmeans(k, minibatch).fit(Z) for k in ks}
        sample = self.sample_index_
        silhouette = silhouettes(Z[sample], [models[k].labels_[sample] for k in ks])
        self.k_scores_ = pd.DataFrame(
            [
                (
                    k,
                    score,
                    davies_bouldin_score(Z, models[k].labels_),
                    calinski_harabasz_score(Z, models[k].labels_),
                    float(models[k].inertia_),
                )
                for k, score in zip(ks, silhouette, strict=True)
            ],
            columns=list(K_SCORE_COLUMNS),
        )
        self.k_ = choose_k(self.k_scores_)
        self.elbow_k_ = elbow_k(
            self.k_scores_["k"].to_numpy(), self.k_scores_["inertia"].to_numpy()
        )
        self.model_ = models[self.k_]
        self.labels_ = np.asarray(self.model_.labels_)

    def _fit_mixture(self, Z: np.ndarray, ks: list[int]) -> None:
        sample = Z[self.sample_index_]
        mixtures = {
            k: GaussianMixture(
                n_components=k,
                covariance_type="full",
                reg_covar=GMM_REG_COVAR,
                init_params="k-means++",
                random_state=self.random_state,
            ).fit(sample)
            for k in ks
        }
        self.bic_ = pd.DataFrame({"k": ks, "bic": [mixtures[k].bic(sample) for k in ks]})
        self.gmm_k_ = ks[int(np.argmin(self.bic_["bic"].to_numpy()))]
        self.gmm_ = mixtures[self.gmm_k_]
        self.confidence_ = self.gmm_.predict_proba(Z).max(axis=1)

    def _fit_checks(self, Z: np.ndarray, check: np.ndarray) -> None:
        rows = Z[check]
        min_size = max(5, int(HDBSCAN_MIN_SHARE * len(rows)))
        labels = {
            "kmeans": self.labels_[check],
            "gmm": self.gmm_.predict(rows),
            "agglomerative": AgglomerativeClustering(
                n_clusters=self.k_, linkage="ward"
            ).fit_predict(rows),
            "hdbscan": HDBSCAN(min_cluster_size=min_size, copy=True).fit_predict(rows),
        }
        self.agreement_ = {
            f"{a}_vs_{b}": float(adjusted_rand_score(labels[a], labels[b]))
            for i, a in enumerate(METHODS)
            for b in METHODS[i + 1 :]
        }
        self.agglomerative_ari_ = self.agreement_["kmeans_vs_agglomerative"]
        noise = labels["hdbscan"] == -1
        self.noise_share_ = float(noise.mean())
        distance = self.model_.transform(Z).min(axis=1)
        self.outlier_threshold_ = float(np.quantile(distance, OUTLIER_QUANTILE))
        self.outlier_ = distance > self.outlier_threshold_
        self.outlier_[check] = noise

    def _fit_stability(self, Z: np.ndarray, rng: np.random.Generator) -> None:
        sample = Z[self.sample_index_]
        reference = self.labels_[self.sample_index_]
        m = len(sample)
        scores = []
        for seed in rng.integers(0, 2**31 - 1, size=self.n_bootstrap).tolist():
            draw = rng.integers(0, m, size=m)
            model = KMeans(n_clusters=self.k_, init="k-means++", n_init=N_INIT, random_state=seed)
            model.fit(sample[draw])
            seen = np.unique(draw)
            scores.append(float(adjusted_rand_score(reference[seen], model.predict(sample[seen]))))
        self.stability_scores_ = np.asarray(scores, dtype=float)
        if scores:
            self.stability_ = (float(np.mean(scores)), float(np.std(scores)))
        else:
            self.stability_ = (float("nan"), float("nan"))

    def _fit_views(self, Z: np.ndarray) -> None:
        self.feature_importance_ = pd.Series(
            eta_squared(Z, self.labels_), index=self.features_, name="eta_squared"
        ).sort_values(ascending=False)
        rows = Z[self.sample_index_] if len(Z) > self.minibatch_threshold else Z
        self.pca_ = PCA(n_components=2, random_state=self.random_state).fit(rows)
        self.pca_explained_ = self.pca_.explained_variance_ratio_
