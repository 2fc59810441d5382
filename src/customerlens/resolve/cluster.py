"""Clustering scored pairs into customers, without chaining households together.

Plain connected components at the auto-merge threshold lets one weak-but-passing link merge two
people ("M Smith" at a shared address linking Mary and John Smith). Here links are added from
the strongest down (union-find), and two clusters are merged only when no scored pair between
them is a confident non-match (probability below ``cannot_link``): Mary and John, scored 0.01
against each other, stay apart however "M Smith" links to each. Hand-written because Splink's
clustering is connected components only, and graph libraries have no constrained variant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ClusterResult:
    """Cluster label per record and the links that built the clusters.

    Attributes
    ----------
    labels : numpy array of int
        Cluster index of each record (indices into the ``ids`` given).
    best_link : numpy array of float
        Highest probability of a link that joined the record to its cluster; the record's best
        scored pair when it stayed alone (0 when it had none).
    refused : int
        Links above the threshold that were refused because of a cannot-link pair.
    """

    labels: np.ndarray
    best_link: np.ndarray
    refused: int


def constrained_clusters(
    n_records: int,
    left: np.ndarray,
    right: np.ndarray,
    probability: np.ndarray,
    *,
    threshold: float,
    cannot_link: float = 0.05,
    forbidden: tuple[np.ndarray, np.ndarray] | None = None,
    best_link: np.ndarray | None = None,
) -> ClusterResult:
    """Cluster records ``0..n_records-1`` from scored pairs (``left[k]``, ``right[k]``).

    Parameters
    ----------
    left, right : int arrays
        Record indices of each scored pair.
    probability : float array
        Match probability of each pair.
    threshold : float
        Links at or above it merge clusters.
    cannot_link : float
        A scored pair below it forbids its two records from ending in one cluster.
    forbidden : pair of int arrays, optional
        More cannot-link pairs, whatever their score (e.g. pairs a reviewer rejected).
    best_link : float array, optional
        Each record's best pair probability over *all* its pairs, when only the pairs that can
        merge or forbid are passed in; computed from the given pairs otherwise.
    """
    parent = np.arange(n_records)
    size = np.ones(n_records, dtype=np.int64)
    if best_link is None:
        best = np.zeros(n_records)
        np.maximum.at(best, left, probability)
        np.maximum.at(best, right, probability)
    else:
        best = best_link.astype(float, copy=True)
    # cannot-link sets per cluster root, only for records that have such a pair
    forbid: dict[int, set[int]] = {}
    # only records that have a link strong enough to merge can ever be merged
    low = (probability < cannot_link) & (best[left] >= threshold) & (best[right] >= threshold)
    extra_left, extra_right = forbidden if forbidden is not None else ([], [])
    pairs_left = left[low].tolist() + list(np.asarray(extra_left).tolist())
    pairs_right = right[low].tolist() + list(np.asarray(extra_right).tolist())
    for a, b in zip(pairs_left, pairs_right, strict=True):
        forbid.setdefault(a, set()).add(b)
        forbid.setdefault(b, set()).add(a)

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    order = np.argsort(-probability, kind="stable")
    strong = order[probability[order] >= threshold]
    refused = 0
    for k in strong.tolist():
        ra, rb = find(int(left[k])), find(int(right[k]))
        if ra == rb:
            continue
        fa, fb = forbid.get(ra, set()), forbid.get(rb, set())
        if fa or fb:
            # a forbidden record's root may have changed since it was recorded: resolve roots
            roots_a = {find(x) for x in fa}
            if rb in roots_a or ra in {find(x) for x in fb}:
                refused += 1
                continue
        if size[ra] < size[rb]:
            ra, rb = rb, ra
        parent[rb] = ra
        size[ra] += size[rb]
        if fb:
            forbid[ra] = fa | fb
            forbid.pop(rb, None)
    labels = np.fromiter((find(i) for i in range(n_records)), dtype=np.int64, count=n_records)
    return ClusterResult(labels=labels, best_link=best, refused=refused)
