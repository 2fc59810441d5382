"""Second clustering pass: merge customers whose consensus records match.

The vote clustering (``cluster.py``) weighs every scored pair between two clusters. When a
person's records are each corrupted differently (a typo'd surname here, a wrong year of birth
there), a new record disagrees with most of them on *something*, and those pairs outvote its one
good pair even though each disagreement is explained by the other record's own error (Splink's
fake_1000: 47 people split). Record linkage systems that merge records into entities and compare
entities (R-Swoosh, Benjelloun et al. 2009; the latent-entity view of Steorts et al.) compare
what the cluster *says* about the person instead. Here the consensus of a cluster holds, per
field, the value most of its records give, with the columns standardisation derived from it;
when values tie (two records, two spellings) each tied value stays a candidate (at most
``MAX_TIED``) and a comparison takes the best-agreeing pair of candidates, as R-Swoosh's merged
records keep every value. First name and surname are compared together (swapped names read
both). Two clusters merge when the trained model scores their consensus at the auto-merge
threshold (the household conflict cap applies as for any pair), most probable first; a merged
cluster's consensus is recomputed and compared again with its neighbours. Only cluster pairs
holding a scored pair of at least ``CANDIDATE_FLOOR`` are compared, and a reviewer's rejection
(or a ``cannot_link`` pair) between two clusters keeps them apart.

The consensus is scored by the Python evaluator of the trained model (``realtime/levels.py``,
checked pair by pair against Splink), so no second Splink run is needed. Figures:
docs/resolution.md, "Cluster".
"""

from __future__ import annotations

import heapq
import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from customerlens.realtime.levels import (
    CompiledModel,
    FieldResult,
    PairScore,
    Record,
    probability_from_weight,
)
from customerlens.resolve.decide import is_conflict
from customerlens.resolve.random_pairs import frequency_sql
from customerlens.warehouse import DuckDBWarehouse, quote_ident

#: Cluster pairs are compared only when one of their record pairs scored at least this: the
#: consensus is a second look at clusters a pair already calls a possible match, not a new
#: blocking (measured against 0.01 and 0.1: the same customers on fake_1000, generated 20k F1
#: 0.9720 / 0.9718 / 0.9718, historical 50k 0.8910 / 0.8917 / 0.8917, at a third of the work).
CANDIDATE_FLOOR = 0.3
#: Tied values kept per field: a cluster of many records with as many spellings has no
#: consensus, and comparing all of them would let chance agreements through.
MAX_TIED = 3

#: Per field, the column whose most frequent value is the consensus, then the columns derived
#: from it (taken from the same record, so that they stay consistent with it).
FIELD_GROUPS: dict[str, tuple[str, ...]] = {
    "first_name": ("first_name", "first_name_related", "first_related_sounds", "first_metaphone"),
    "surname": ("surname", "surname_metaphone"),
    "dob": ("dob",),
    "email": ("email", "email_user"),
    "phone": ("phone",),
    "postcode": ("postcode", "postcode_outward"),
    "address": ("address", "house_number"),
    "behaviour": ("buy_products", "buy_brands", "buy_categories"),
}
#: comparisons scored together: each reads the other's columns (swapped or crossed names)
JOINT = ("first_name", "surname")

#: columns of ``ConsensusResult.links`` (the warehouse's ``consensus_links``)
LINK_COLUMNS = ["unique_id_l", "unique_id_r", "probability", "explanation"]


def no_links() -> pd.DataFrame:
    """An empty ``consensus_links`` table, typed."""
    return pd.DataFrame(
        {
            "unique_id_l": pd.Series([], dtype=str),
            "unique_id_r": pd.Series([], dtype=str),
            "probability": pd.Series([], dtype=float),
            "explanation": pd.Series([], dtype=str),
        }
    )


#: a cluster's consensus: per field group, its candidate values (column -> value dicts)
Consensus = dict[str, list[Record]]


@dataclass(frozen=True)
class ConsensusResult:
    """New cluster labels, each record's probability of the link that placed it, merges made."""

    labels: np.ndarray
    link: np.ndarray
    merges: int
    compared: int
    #: one row per merge: a record of each side (the first by id), the consensus probability and
    #: the fields that decided it (JSON: field, level, weight in bits)
    links: pd.DataFrame = field(default_factory=lambda: no_links())


def merge_by_consensus(
    wh: DuckDBWarehouse,
    table: str,
    ids: list[str],
    labels: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    probability: np.ndarray,
    model: dict[str, Any],
    *,
    threshold: float,
    conflict_cap: float,
    person_fields: Iterable[str] = ("dob",),
    forbidden: tuple[np.ndarray, np.ndarray] | None = None,
) -> ConsensusResult:
    """Merge the clusters of ``labels`` whose consensus records the model matches.

    ``table`` holds the standardised records (``unique_id`` and the model's columns), ``ids``
    their ids in the order of ``labels``; ``left``/``right``/``probability`` the scored pairs
    (indices into ``ids``); ``forbidden`` pairs of records that must stay apart.
    """
    labels = np.asarray(labels, dtype=np.int64).copy()
    link = np.zeros(len(labels))
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    candidate = (np.asarray(probability) >= CANDIDATE_FLOOR) & (labels[left] != labels[right])
    if not candidate.any():
        return ConsensusResult(labels, link, 0, 0, no_links())
    scorer = _Scorer(wh, table, model, conflict_cap, tuple(person_fields))
    involved = np.union1d(labels[left[candidate]], labels[right[candidate]])
    rows = np.flatnonzero(np.isin(labels, involved))
    records = _records(wh, table, [ids[i] for i in rows], scorer.groups, model)
    records["cluster"] = labels[rows]
    records["row"] = rows
    members: dict[int, list[int]] = {}
    for cluster, row in zip(records["cluster"].tolist(), records["row"].tolist(), strict=True):
        members.setdefault(cluster, []).append(row)
    consensus = {c: scorer.prepare(v) for c, v in _consensus(records, scorer.groups).items()}
    position = np.full(len(labels), -1, dtype=np.int64)
    position[rows] = np.arange(len(rows))  # rows are in id order, as ``records`` is
    neighbours: dict[int, set[int]] = {}
    for a, b in zip(
        labels[left[candidate]].tolist(), labels[right[candidate]].tolist(), strict=True
    ):
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    apart: dict[int, set[int]] = {}
    if forbidden is not None:
        for a, b in zip(labels[forbidden[0]].tolist(), labels[forbidden[1]].tolist(), strict=True):
            apart.setdefault(a, set()).add(b)
            apart.setdefault(b, set()).add(a)
    compared = 0
    heap: list[tuple[float, int, int]] = []
    for a in sorted(neighbours):
        for b in sorted(neighbours[a]):
            if a < b and b not in apart.get(a, ()):
                compared += 1
                p = scorer.probability(consensus[a], consensus[b])
                if p >= threshold:
                    heap.append((-p, a, b))
    heapq.heapify(heap)
    merges = 0
    links: list[tuple[str, str, float, str]] = []
    while heap:
        negative, a, b = heapq.heappop(heap)
        if a not in members or b not in members or b not in neighbours[a]:
            continue  # merged since
        if b in apart.get(a, ()):
            continue  # a reviewer's no between them (possibly through a merge)
        keep, gone = (a, b) if len(members[a]) >= len(members[b]) else (b, a)
        merges += 1
        _, fields = scorer.score(consensus[keep], consensus[gone])
        links.append(
            (
                ids[min(members[keep])],
                ids[min(members[gone])],
                -negative,
                json.dumps(
                    [
                        {"field": f.field, "level": f.label, "weight": round(f.weight, 3)}
                        for f in fields
                    ]
                ),
            )
        )
        moved = members.pop(gone)
        placed = moved + members[keep]
        link[placed] = np.maximum(link[placed], -negative)
        labels[moved] = keep
        members[keep] = placed
        for c in apart.pop(gone, set()):
            apart[c].discard(gone)
            apart[c].add(keep)
            apart.setdefault(keep, set()).add(c)
        around = (neighbours.pop(gone) | neighbours[keep]) - {keep, gone}
        neighbours[keep] = around
        for c in around:
            neighbours[c].discard(gone)
            neighbours[c].add(keep)
        del consensus[gone]
        consensus[keep] = scorer.prepare(
            _one_consensus(records.iloc[position[sorted(members[keep])]], scorer.groups)
        )
        for c in sorted(around):
            if c in apart.get(keep, ()):
                continue
            compared += 1
            p = scorer.probability(consensus[keep], consensus[c])
            if p >= threshold:
                heapq.heappush(heap, (-p, min(keep, c), max(keep, c)))
    found = pd.DataFrame(links, columns=LINK_COLUMNS) if links else no_links()
    return ConsensusResult(labels, link, merges, compared, found)


def _records(
    wh: DuckDBWarehouse,
    table: str,
    ids: list[str],
    groups: dict[str, tuple[str, ...]],
    model: dict[str, Any],
) -> pd.DataFrame:
    """The records of ``ids`` with their group columns; ``tf_<column>`` is the value's relative
    frequency among the records of ``table``, net of its person's own records, as the scorer
    gives Splink (``random_pairs.frequency_sql``)."""
    columns = [c for group in groups.values() for c in group]
    plain = [c for c in columns if not c.startswith("tf_")]
    select = [f"s.{quote_ident(c)}" for c in ["unique_id", *plain]]
    joins = []
    for i, column in enumerate(c[3:] for c in columns if c.startswith("tf_")):
        c = quote_ident(column)
        joins.append(
            f"LEFT JOIN (SELECT {c} AS v, count(*)::DOUBLE / sum(count(*)) OVER () AS f "
            f"FROM {table} WHERE {c} IS NOT NULL GROUP BY 1) t{i} ON t{i}.v = s.{c}"
        )
        select.append(f"{frequency_sql(column, f't{i}.f', model)} AS {quote_ident('tf_' + column)}")
    with wh.temporary_view("__consensus_ids", pa.table({"unique_id": pa.array(ids, pa.string())})):
        return wh.query_df(
            f"SELECT {', '.join(select)} FROM {table} s "
            f"JOIN __consensus_ids USING (unique_id) {' '.join(joins)} ORDER BY s.unique_id"
        )


def _value(value: Any) -> Any:
    """A cell as the evaluator reads it: lists as lists, missing as None."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def _key(value: Any) -> Any:
    value = _value(value)
    if isinstance(value, list):
        return json.dumps(value) if value else None
    return value


def _consensus(records: pd.DataFrame, groups: dict[str, tuple[str, ...]]) -> dict[int, Consensus]:
    """Per cluster, per field group, the most frequent values (``MAX_TIED`` at most, ties
    ordered by the most complete record, then by id)."""
    found: dict[int, Consensus] = {c: {} for c in records["cluster"].unique().tolist()}
    if not isinstance(records.index, pd.RangeIndex) or records.index.start != 0:
        records = records.reset_index(drop=True)
    mains = [g[0] for g in groups.values()]
    filled = records[mains].notna().sum(axis=1).to_numpy()
    rank = np.empty(len(records), dtype=np.int64)
    rank[np.lexsort((np.arange(len(records)), -filled))] = np.arange(len(records))
    position = np.argsort(rank)  # rank -> row
    for name, columns in groups.items():
        main = records[columns[0]].map(_key)
        valid = main.notna().to_numpy()
        if not valid.any():
            continue
        frame = pd.DataFrame(
            {"cluster": records["cluster"][valid], "key": main[valid], "rank": rank[valid]}
        )
        counted = (
            frame.groupby(["cluster", "key"], sort=False)
            .agg(n=("rank", "size"), rank=("rank", "min"))
            .reset_index()
        )
        top = counted.groupby("cluster")["n"].transform("max")
        tied = (
            counted[counted["n"] == top]
            .sort_values(["cluster", "rank"])
            .groupby("cluster")
            .head(MAX_TIED)
        )
        chosen = position[tied["rank"].to_numpy()]
        # only the chosen rows become Python objects (at 1M people a whole column would be
        # a million strings at once)
        values = {c: records[c].take(chosen).to_numpy(dtype=object).tolist() for c in columns}
        for i, cluster in enumerate(tied["cluster"].tolist()):
            found[cluster].setdefault(name, []).append({c: _value(values[c][i]) for c in columns})
    return found


def _one_consensus(records: pd.DataFrame, groups: dict[str, tuple[str, ...]]) -> Consensus:
    """:func:`_consensus` of one cluster's records, in plain Python (after each merge: the
    pandas version costs ~0.1 s a call, this one a millisecond)."""
    rows = [{str(c): _value(v) for c, v in row.items()} for row in records.to_dict("records")]
    mains = [g[0] for g in groups.values()]
    filled = [sum(r.get(m) is not None for m in mains) for r in rows]
    ranked = [rows[i] for i in sorted(range(len(rows)), key=lambda i: (-filled[i], i))]
    found: Consensus = {}
    for name, columns in groups.items():
        counts: dict[Any, int] = {}
        first: dict[Any, dict[str, Any]] = {}
        for row in ranked:
            key = _key(row.get(columns[0]))
            if key is not None:
                counts[key] = counts.get(key, 0) + 1
                first.setdefault(key, row)
        if counts:
            top = max(counts.values())
            tied = [k for k in first if counts[k] == top][:MAX_TIED]  # in rank order
            found[name] = [{c: first[k].get(c) for c in columns} for k in tied]
    return found


#: a consensus ready to score: the combinations of its name candidates, then its field groups
Prepared = tuple[list[Record], Consensus]


class _Scorer:
    """The trained model's probability for two consensus records, with the conflict cap."""

    def __init__(
        self,
        wh: DuckDBWarehouse,
        table: str,
        model: dict[str, Any],
        cap: float,
        person_fields: tuple[str, ...],
    ) -> None:
        self.model = CompiledModel(model)
        self.cap = cap
        self.person_fields = person_fields
        present = set(wh.columns_any(table))
        names = [c.name for c in self.model.comparisons]
        # the field groups this model compares: standard ones, then extra fields (x_...)
        self.groups = {
            name: tuple(c for c in FIELD_GROUPS.get(name, (name,)) if c in present)
            for name in names
        }
        self.groups = {k: v for k, v in self.groups.items() if v}
        self.joint = [c for c in self.model.comparisons if c.name in JOINT]
        self.single = [c for c in self.model.comparisons if c.name not in JOINT]
        # term-frequency columns travel with their field group (tf_<column>, see _records)
        self.tf_columns = [c for c in self.model.tf_columns if c in present]
        for name, columns in self.groups.items():
            self.groups[name] = columns + tuple(f"tf_{c}" for c in columns if c in self.tf_columns)

    @staticmethod
    def _frequency(column: str, record: Record) -> float | None:
        return record.get(f"tf_{column}")

    def _options(self, consensus: Consensus, names: list[str]) -> list[Record]:
        """Every combination of the candidates of ``names`` (one record each)."""
        choices = [consensus.get(n, [{}]) for n in names]
        return [
            {k: v for part in combo for k, v in part.items()}
            for combo in itertools.product(*choices)
        ]

    def prepare(self, consensus: Consensus) -> Prepared:
        """The name candidates combined; the other groups as they are (the name groups are not
        kept twice: at 1M people there are ~500,000 consensus records in memory)."""
        names = [c.name for c in self.joint]
        rest = {k: v for k, v in consensus.items() if k not in names}
        return self._options(consensus, names), rest

    def probability(self, prepared_a: Prepared, prepared_b: Prepared) -> float:
        return self.score(prepared_a, prepared_b)[0]

    def score(self, prepared_a: Prepared, prepared_b: Prepared) -> tuple[float, list[FieldResult]]:
        """The decision probability of two consensus records and how each field came out (its
        best-agreeing candidates)."""
        (joint_a, a), (joint_b, b) = prepared_a, prepared_b
        fields: list[FieldResult] = []
        best: tuple[float, list[FieldResult]] | None = None
        for left in joint_a:
            for right in joint_b:
                found = [self.model.compare(c, left, right, self._frequency) for c in self.joint]
                kept = [f for f in found if f is not None]
                w = sum(f.weight for f in kept)
                if best is None or w > best[0]:
                    best = (w, kept)
        if best is not None:
            fields += best[1]
        for comparison in self.single:
            top: FieldResult | None = None
            for left in a.get(comparison.name, [{}]):
                for right in b.get(comparison.name, [{}]):
                    f = self.model.compare(comparison, left, right, self._frequency)
                    if f is not None and (top is None or f.weight > top.weight):
                        top = f
            if top is not None:
                fields.append(top)
        total = self.model.prior_weight
        for f in fields:
            total += f.weight
        pair = PairScore(total, probability_from_weight(total), fields)
        probability = pair.match_probability
        person = sum(pair.weight(f) for f in self.person_fields)
        if any(c.name == "first_name" for c in self.joint) and is_conflict(
            pair.gamma("first_name"), person, pair.gamma("email")
        ):
            probability = min(probability, self.cap)
        return probability, fields
