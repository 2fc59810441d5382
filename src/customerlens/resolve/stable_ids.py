"""Customer ids that stay stable from run to run.

A new clustering is matched to the previous run's ids by overlap: the largest (new cluster,
old id) overlaps are paired first, each old id and each new cluster used once. A cluster with no
old id gets a fresh id derived from its smallest record key, so even a first run on the same
input always yields the same ids. Every change is written to ``customer_id_history``:
``kept``, ``merged`` (old id absorbed into another), ``split`` (old id's records now in several
customers), ``new``, ``retired`` (records gone).
"""

from __future__ import annotations

import hashlib

import pandas as pd

ID_PREFIX = "CL-"


def fresh_id(key: str, taken: set[str]) -> str:
    """A deterministic id from ``key``, salted if it is already taken."""
    salt = 0
    while True:
        text = key if salt == 0 else f"{key}#{salt}"
        candidate = ID_PREFIX + hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
        if candidate not in taken:
            return candidate
        salt += 1


def assign_ids(
    clusters: pd.DataFrame, previous: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Give every cluster a customer id, reusing the previous run's where the evidence allows.

    Parameters
    ----------
    clusters : DataFrame
        ``unique_id`` and ``cluster`` (any label) of every record of this run.
    previous : DataFrame or None
        ``unique_id`` and ``customer_id`` of the previous run's records.

    Returns
    -------
    ids : DataFrame
        ``unique_id``, ``customer_id``.
    history : DataFrame
        ``customer_id``, ``event``, ``related_id``, ``records``.
    """
    first_key = clusters.groupby("cluster")["unique_id"].min()
    if previous is None or previous.empty:
        previous = pd.DataFrame(
            {"unique_id": pd.Series(dtype=str), "customer_id": pd.Series(dtype=str)}
        )
    joined = clusters.merge(previous, on="unique_id", how="left")
    overlap = (
        joined.dropna(subset=["customer_id"])
        .groupby(["cluster", "customer_id"])
        .size()
        .rename("n")
        .reset_index()
        .assign(key=lambda d: d["cluster"].map(first_key))
        .sort_values(["n", "key", "customer_id"], ascending=[False, True, True])
    )
    chosen: dict[object, str] = {}
    used: set[str] = set()
    for cluster, old_id in zip(overlap["cluster"], overlap["customer_id"], strict=True):
        if cluster not in chosen and old_id not in used:
            chosen[cluster] = old_id
            used.add(old_id)
    taken = set(previous["customer_id"]) | used
    for cluster in first_key.sort_values().index:
        if cluster not in chosen:
            new = fresh_id(first_key[cluster], taken)
            chosen[cluster] = new
            taken.add(new)
    ids = pd.DataFrame(
        {"unique_id": clusters["unique_id"], "customer_id": clusters["cluster"].map(chosen)}
    )
    return ids, _history(joined.assign(new_id=ids["customer_id"].to_numpy()), previous, chosen)


def _history(
    joined: pd.DataFrame, previous: pd.DataFrame, chosen: dict[object, str]
) -> pd.DataFrame:
    rows: list[dict[str, object]] = []
    old_ids = set(previous["customer_id"])
    kept_or_moved = joined.dropna(subset=["customer_id"])
    for old_id, group in kept_or_moved.groupby("customer_id"):
        targets = group["new_id"].value_counts()
        if len(targets) > 1:
            for target, n in targets.items():
                rows.append(
                    {
                        "customer_id": old_id,
                        "event": "split",
                        "related_id": target,
                        "records": int(n),
                    }
                )
        elif targets.index[0] == old_id:
            rows.append(
                {
                    "customer_id": old_id,
                    "event": "kept",
                    "related_id": None,
                    "records": int(targets.iloc[0]),
                }
            )
        else:
            rows.append(
                {
                    "customer_id": old_id,
                    "event": "merged",
                    "related_id": targets.index[0],
                    "records": int(targets.iloc[0]),
                }
            )
    for old_id in sorted(old_ids - set(kept_or_moved["customer_id"])):
        rows.append({"customer_id": old_id, "event": "retired", "related_id": None, "records": 0})
    sizes = joined.groupby("new_id").size()
    for new_id in sorted(set(chosen.values()) - old_ids):
        rows.append(
            {
                "customer_id": new_id,
                "event": "new",
                "related_id": None,
                "records": int(sizes.get(new_id, 0)),
            }
        )
    return pd.DataFrame(rows, columns=["customer_id", "event", "related_id", "records"])
