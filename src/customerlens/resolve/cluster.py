"""Clustering scored pairs into customers by weighing all the evidence between two clusters.

Plain connected components at the auto-merge threshold lets one weak-but-passing link merge two
people ("M Smith" at a shared address linking Mary and John Smith, or a chain of namesakes at
scale). Here every scored pair is a vote: its log-odds ``log(p / (1 - p))``, positive for a likely
match, negative for a likely non-match. Two clusters merge when the votes of all the pairs between
them sum to a match: the sum is positive and one pair alone reaches the auto-merge threshold, or
the sum itself reaches the threshold's log-odds (several moderate pairs agreeing). Mary and John,
scored 0.01 against each other (-4.6), stay apart however "M Smith" links to each (+2.5); a
guest session scored 0.97 against an account and 0.3 against the person's old CRM entry joins.
Merges go most certain link first, until no two clusters pass: the greedy additive edge contraction
of correlation clustering (Keuper et al. 2015), ordered by the strongest pair between the two
clusters rather than by their summed votes. A sum grows with the clusters' sizes, so that order
lets the largest group of a person's near-identical records form first, and its many weak pairs
against a typo'd copy then outvote that copy's one certain pair (Splink's fake_1000, records
872-878); the strongest pair first follows the clearest evidence, as the strongest-link
clustering before it did, and the votes still decide whether a merge passes. Measured on the
same scored pairs, it helped every data set a little (docs/resolution.md, "Cluster"). Pairs never
scored (blocking did not compare them) do not vote.

Hand-written because Splink's clustering is connected components only and the graph libraries
here (scipy, networkx) have no correlation clustering; scipy finds the components that bound it.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

#: A pair's vote is its log-odds clipped here: p = 0.99995 already says "same person"; beyond it
#: a rounding-level 1 - 1e-12 must not outvote several pairs that say "different people".
MAX_VOTE = 10.0
#: The vote of a certain link (a reviewer's accept) or a certain non-link (a reviewer's reject,
#: a pair below ``cannot_link``): larger than any sum of ordinary votes.
CERTAIN = 1e9


@dataclass(frozen=True)
class ClusterResult:
    """Cluster label per record and the links that built the clusters.

    Attributes
    ----------
    labels : numpy array of int
        Cluster index of each record (indices into the ``ids`` given).
    best_link : numpy array of float
        Each record's best scored pair probability (0 when it had none).
    refused : int
        Links at or above the threshold whose records ended in different clusters: the other
        pairs between their clusters outvoted them.
    """

    labels: np.ndarray
    best_link: np.ndarray
    refused: int


def votes(probability: np.ndarray) -> np.ndarray:
    """Log-odds of each pair's probability, clipped to +-``MAX_VOTE``."""
    p = np.clip(np.asarray(probability, dtype=float), 1e-12, 1 - 1e-12)
    return np.clip(np.log(p / (1 - p)), -MAX_VOTE, MAX_VOTE)


def constrained_clusters(
    n_records: int,
    left: np.ndarray,
    right: np.ndarray,
    probability: np.ndarray,
    *,
    threshold: float,
    cannot_link: float = 0.0,
    must_link: tuple[np.ndarray, np.ndarray] | None = None,
    forbidden: tuple[np.ndarray, np.ndarray] | None = None,
) -> ClusterResult:
    """Cluster records ``0..n_records-1`` from scored pairs (``left[k]``, ``right[k]``).

    Parameters
    ----------
    left, right : int arrays
        Record indices of each scored pair.
    probability : float array
        Match probability of each pair.
    threshold : float
        A pair at or above it can merge its two clusters on its own, unless the other pairs
        between them outvote it; the sum of the votes between two clusters at or above its
        log-odds merges them too.
    cannot_link : float
        A scored pair below it forbids its two records from ending in one cluster (0: none does;
        low pairs only vote against).
    must_link : pair of int arrays, optional
        Pairs that must end in one cluster (e.g. pairs a reviewer accepted): probability 1.
    forbidden : pair of int arrays, optional
        Pairs that must not end in one cluster (e.g. pairs a reviewer rejected): probability 0.
    """
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    probability = np.asarray(probability, dtype=float)
    vote = votes(probability)
    vote[probability < cannot_link] = -CERTAIN
    for pairs, weight in ((must_link, CERTAIN), (forbidden, -CERTAIN)):
        if pairs is not None and len(pairs[0]):
            left = np.concatenate([left, np.asarray(pairs[0], dtype=np.int64)])
            right = np.concatenate([right, np.asarray(pairs[1], dtype=np.int64)])
            probability = np.concatenate([probability, np.full(len(pairs[0]), weight > 0, float)])
            vote = np.concatenate([vote, np.full(len(pairs[0]), weight)])
    best = np.zeros(n_records)
    np.maximum.at(best, left, probability)
    np.maximum.at(best, right, probability)
    keep = left != right
    left, right, probability, vote = left[keep], right[keep], probability[keep], vote[keep]
    labels = _merge(n_records, left, right, probability, vote, threshold)
    strong = probability >= threshold
    refused = int((labels[left[strong]] != labels[right[strong]]).sum())
    return ClusterResult(labels=labels, best_link=best, refused=refused)


def _passes(total: Any, strong: Any, link: float) -> Any:
    """The merge rule, for one cluster pair or arrays of them: the votes between the two sum to
    a match (positive with a pair at the threshold, or at the threshold's log-odds)."""
    return (strong & (total > 0)) | (total >= link)


def _merge(
    n: int,
    left: np.ndarray,
    right: np.ndarray,
    probability: np.ndarray,
    vote: np.ndarray,
    threshold: float,
) -> np.ndarray:
    """Cluster label per record: greedy additive edge contraction inside each component."""
    labels = np.arange(n, dtype=np.int64)
    positive = vote > 0
    if not positive.any():
        return labels
    # only pairs voting "match" can join records: their components bound every cluster, and a
    # pair between two components can never matter (it only ever votes inside one cluster pair)
    graph = coo_matrix(
        (np.ones(int(positive.sum())), (left[positive], right[positive])), shape=(n, n)
    )
    _, component = connected_components(graph, directed=False)
    inside = component[left] == component[right]
    left, right, probability, vote = left[inside], right[inside], probability[inside], vote[inside]
    order = np.lexsort((right, left, component[left]))  # one fixed order: same input, same ids
    left, right, probability, vote = left[order], right[order], probability[order], vote[order]
    groups = component[left]
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    ends = np.r_[starts[1:], len(groups)]
    link = math.log(threshold / (1 - threshold)) if 0 < threshold < 1 else MAX_VOTE
    strong = probability >= threshold
    single = (ends - starts) == 1
    # a component with one pair merges when that pair alone passes: decided without the loop
    one = starts[single]
    passes = _passes(vote[one], strong[one], link)
    labels[right[one[passes]]] = left[one[passes]]
    for start, end in zip(starts[~single].tolist(), ends[~single].tolist(), strict=True):
        _contract(
            labels,
            left[start:end].tolist(),
            right[start:end].tolist(),
            vote[start:end].tolist(),
            strong[start:end].tolist(),
            link,
        )
    return labels


def _contract(
    labels: np.ndarray,
    left: list[int],
    right: list[int],
    vote: list[float],
    strong: list[bool],
    link: float,
) -> None:
    """Merge the clusters of one component, most certain link first; writes ``labels``."""
    # between[x][y]: (summed vote, any pair at the threshold, strongest vote) of clusters x and
    # y, both ways
    between: dict[int, dict[int, tuple[float, bool, float]]] = {}

    def add(x: int, y: int, v: float, s: bool, best: float) -> tuple[float, bool, float]:
        total, any_strong, top = between.setdefault(x, {}).get(y, (0.0, False, -math.inf))
        between[x][y] = between.setdefault(y, {})[x] = (total + v, any_strong or s, max(top, best))
        return between[x][y]

    def priority(votes: tuple[float, bool, float]) -> tuple[float, float]:
        return (-votes[2], -votes[0])  # the strongest pair first, then the larger sum

    for a, b, v, s in zip(left, right, vote, strong, strict=True):
        add(a, b, v, s, v)
    heap = [
        (*priority(t), a, b)
        for a, row in between.items()
        for b, t in row.items()
        if a < b and _passes(t[0], t[1], link)
    ]
    heapq.heapify(heap)
    parent: dict[int, int] = {}
    while heap:
        top, total, a, b = heapq.heappop(heap)
        if a in parent or b in parent or b not in between[a]:
            continue  # stale: a cluster merged since
        if priority(between[a][b]) != (top, total):
            continue  # stale: the votes between them changed (and were pushed again)
        keep, gone = (a, b) if len(between[a]) >= len(between[b]) else (b, a)
        parent[gone] = keep
        del between[keep][gone]
        for c, (v, s, best) in between.pop(gone).items():
            if c == keep:
                continue
            del between[c][gone]
            t = add(keep, c, v, s, best)
            if _passes(t[0], t[1], link):
                heapq.heappush(heap, (*priority(t), min(keep, c), max(keep, c)))
    for node in list(parent):
        root = node
        while root in parent:
            root = parent[root]
        labels[node] = root
