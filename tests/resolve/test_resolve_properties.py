"""Invariants of resolution, checked with hypothesis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customerlens.config import SourceConfig
from customerlens.ingest import ingest
from customerlens.realtime.matcher import standardise_record
from customerlens.resolve.cluster import constrained_clusters, votes
from customerlens.resolve.explain import levels_table
from customerlens.resolve.model import SplinkScorer, rules_recall
from customerlens.resolve.stable_ids import assign_ids
from customerlens.resolve.standardise import first_name_key, standardise, surname_key
from customerlens.synth import generate_shop
from customerlens.warehouse import DuckDBWarehouse

edges = st.lists(
    st.tuples(st.integers(0, 29), st.integers(0, 29), st.floats(0.0, 1.0)), max_size=80
)


def _components(n: int, pairs: list[tuple[int, int]]) -> list[frozenset[int]]:
    adjacency: dict[int, set[int]] = {i: set() for i in range(n)}
    for a, b in pairs:
        adjacency[a].add(b)
        adjacency[b].add(a)
    seen: set[int] = set()
    out = []
    for start in range(n):
        if start in seen:
            continue
        stack, group = [start], set()
        while stack:
            node = stack.pop()
            if node not in group:
                group.add(node)
                stack.extend(adjacency[node] - group)
        seen |= group
        out.append(frozenset(group))
    return out


def _partition(labels: np.ndarray) -> set[frozenset[int]]:
    groups: dict[int, set[int]] = {}
    for i, label in enumerate(labels.tolist()):
        groups.setdefault(label, set()).add(i)
    return {frozenset(g) for g in groups.values()}


def _arrays(raw: list[tuple[int, int, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    kept = [(a, b, p) for a, b, p in raw if a != b]
    left = np.array([e[0] for e in kept], dtype=np.int64)
    right = np.array([e[1] for e in kept], dtype=np.int64)
    return left, right, np.array([e[2] for e in kept])


def _votes_between(
    labels: np.ndarray, left: np.ndarray, right: np.ndarray, prob: np.ndarray
) -> dict[tuple[int, int], tuple[float, float]]:
    """(summed vote, best probability) of every pair of distinct clusters with scored pairs."""
    out: dict[tuple[int, int], tuple[float, float]] = {}
    for a, b, p, v in zip(left, right, prob, votes(prob), strict=True):
        ca, cb = sorted((int(labels[a]), int(labels[b])))
        if ca != cb:
            total, best = out.get((ca, cb), (0.0, 0.0))
            out[(ca, cb)] = (total + float(v), max(best, float(p)))
    return out


@settings(max_examples=150, deadline=None)
@given(edges)
def test_strong_links_alone_give_connected_components(raw: list[tuple[int, int, float]]) -> None:
    left, right, prob = _arrays(raw)
    strong = prob >= 0.9
    result = constrained_clusters(30, left[strong], right[strong], prob[strong], threshold=0.9)
    assert len(result.labels) == 30  # every record in exactly one cluster
    pairs = list(zip(left[strong].tolist(), right[strong].tolist(), strict=True))
    expected = _components(30, pairs)
    assert _partition(result.labels) == set(expected)
    assert result.refused == 0


@settings(max_examples=150, deadline=None)
@given(edges)
def test_no_two_clusters_are_left_that_the_votes_would_merge(
    raw: list[tuple[int, int, float]],
) -> None:
    left, right, prob = _arrays(raw)
    result = constrained_clusters(30, left, right, prob, threshold=0.9)
    assert ((result.best_link >= 0) & (result.best_link <= 1)).all()
    link = np.log(0.9 / 0.1)
    for total, best in _votes_between(result.labels, left, right, prob).values():
        assert not ((best >= 0.9 and total > 1e-9) or total >= link + 1e-9)
    # a cluster never reaches beyond the records its pairs voting "match" connect
    positive = [(a, b) for a, b, p in zip(left, right, prob, strict=True) if p > 0.5]
    components = _components(30, positive)
    for group in _partition(result.labels):
        assert any(group <= c for c in components)


@settings(max_examples=150, deadline=None)
@given(edges)
def test_no_cluster_holds_a_cannot_link_pair(raw: list[tuple[int, int, float]]) -> None:
    left, right, prob = _arrays(raw)
    result = constrained_clusters(
        30, left, right, prob, threshold=0.9, cannot_link=0.2, forbidden=(left[:3], right[:3])
    )
    for k, (a, b, p) in enumerate(zip(left, right, prob, strict=True)):
        if p < 0.2 or k < 3:
            assert result.labels[a] != result.labels[b]


def test_weak_pairs_outvote_one_strong_link_and_moderate_ones_add_up() -> None:
    left = np.array([0, 0, 2, 2, 2, 5, 7, 7], dtype=np.int64)
    right = np.array([1, 3, 3, 4, 1, 6, 5, 6], dtype=np.int64)
    prob = np.array([0.95, 0.01, 0.99, 0.8, 0.01, 0.95, 0.8, 0.8])
    labels = constrained_clusters(8, left, right, prob, threshold=0.9).labels
    assert labels[2] == labels[3] and labels[2] != labels[4]  # 0.8 alone does not merge
    # {0, 1} (0.95: +2.9) meets {2, 3} through 0-3 and 1-2 (0.01: -4.6 each): kept apart
    assert labels[0] == labels[1] and labels[0] != labels[2]
    # 7 has no pair at 0.9, but its two 0.8 pairs with {5, 6} add up to +2.8 > +2.2
    assert labels[5] == labels[6] == labels[7]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("O'Neill", "oneill"), ("d\u2019Arcy", "darcy"), ("Dr. Mary-Ann", "mary"), ("  ", None)],
)
def test_first_name_keys_fold_apostrophes_like_surnames(raw: str, expected: str | None) -> None:
    # swapped names ("O'Neill Sarah") only meet the surname key "oneill" if both fold alike
    assert first_name_key(raw) == expected
    if expected and "-" not in raw:
        assert first_name_key(raw) == surname_key(raw)


def test_the_most_certain_link_merges_first() -> None:
    # one person's seven records in Splink's fake_1000 (records 872-878), with their scored pairs:
    # 0-1 and 2-3 are typo'd or swapped-name copies; 3 has no email. Merging the largest vote
    # sum first builds {0, 1, 4, 5, 6} before 2 joins, and then the six weak pairs of {2, 3}
    # against it outvote 0-2 (0.9997); merging the most certain pair first joins 2 to 0 early
    pairs = {
        (0, 1): 0.9999, (0, 2): 0.9997, (0, 3): 0.9571, (0, 4): 0.9892, (0, 5): 0.9992,
        (0, 6): 0.9975, (1, 3): 0.0382, (1, 4): 0.9998, (1, 5): 1.0, (1, 6): 0.9999,
        (2, 3): 0.9903, (2, 5): 0.1014, (2, 6): 0.0790, (3, 4): 0.0804, (3, 5): 0.3532,
        (3, 6): 0.2934, (4, 5): 0.9998, (4, 6): 0.9856, (5, 6): 0.9990,
    }  # fmt: skip
    left, right = (np.array(side, dtype=np.int64) for side in zip(*pairs, strict=True))
    labels = constrained_clusters(7, left, right, np.array(list(pairs.values())), threshold=0.9)
    assert len(set(labels.labels.tolist())) == 1


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 7), min_size=1, max_size=40), st.randoms())
def test_ids_depend_on_membership_only(labels: list[int], rnd: object) -> None:
    ids = [f"accounts:{i}" for i in range(len(labels))]
    first, _ = assign_ids(pd.DataFrame({"unique_id": ids, "cluster": labels}), None)
    relabel = {k: 100 + v for k, v in zip(set(labels), range(len(set(labels))), strict=False)}
    second, history = assign_ids(
        pd.DataFrame({"unique_id": ids, "cluster": [relabel[x] for x in labels]}), first
    )
    assert (first["customer_id"].to_numpy() == second["customer_id"].to_numpy()).all()
    assert set(history["event"]) == {"kept"}
    assert first["customer_id"].nunique() == len(set(labels))


@pytest.fixture(scope="module")
def scorer_and_records(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[SplinkScorer, pd.DataFrame]:
    root = tmp_path_factory.mktemp("sym")
    generate_shop(600, root / "shop", seed=11)
    wh = DuckDBWarehouse(root)
    ingest(
        wh,
        {
            r: SourceConfig(path=root / "shop" / f"{r}.csv")
            for r in ("accounts", "crm", "transactions")
        },
    )
    standardise(wh)
    records = wh.query("SELECT * FROM records_std ORDER BY unique_id")
    scorer = SplinkScorer(max_u_pairs=2e5).fit(records)
    frame = records.select(scorer.columns_).to_pandas()
    wh.close()
    return scorer, frame


def _as_record(row: pd.Series) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in row.items():
        if isinstance(value, np.ndarray):
            out[str(key)] = [str(v) for v in value]
        elif isinstance(value, float) and np.isnan(value):
            out[str(key)] = None
        else:
            out[str(key)] = None if value is pd.NA or value is None else value
    return out


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.integers(0, 10_000), st.integers(0, 10_000))
def test_scores_are_symmetric_probabilities(
    scorer_and_records: tuple[SplinkScorer, pd.DataFrame], i: int, j: int
) -> None:
    scorer, frame = scorer_and_records
    a = _as_record(frame.iloc[i % len(frame)])
    b = _as_record(frame.iloc[j % len(frame)])
    a["unique_id"], b["unique_id"] = "left", "right"
    linker = scorer._fitted_linker
    forward = linker.inference.score_pairs([a], [b]).as_pandas_dataframe()
    backward = linker.inference.score_pairs([b], [a]).as_pandas_dataframe()
    p_forward = float(forward["match_probability"].iloc[0])
    p_backward = float(backward["match_probability"].iloc[0])
    assert 0.0 <= p_forward <= 1.0
    assert p_forward == pytest.approx(p_backward, abs=1e-9)


def test_records_are_unique_per_source(tmp_path: Path) -> None:
    # the unique_id Splink relies on is source:record_id; ingest guarantees record ids unique
    accounts = tmp_path / "a.csv"
    accounts.write_text("customer_id,first_name,surname\nA1,Ann,Lee\nA2,Bob,Lee\n")
    crm = tmp_path / "c.csv"
    crm.write_text("crm_id,full_name\nA1,Ann Lee\n")  # same id text in another source
    with DuckDBWarehouse(tmp_path) as wh:
        ingest(wh, {"accounts": SourceConfig(path=accounts), "crm": SourceConfig(path=crm)})
        standardise(wh)
        ids = wh.query("SELECT unique_id FROM records_std").column("unique_id").to_pylist()
    assert len(ids) == len(set(ids)) == 3


def test_small_data_scores_every_pair(
    scorer_and_records: tuple[SplinkScorer, pd.DataFrame], tmp_path: Path
) -> None:
    scorer, frame = scorer_and_records
    records = pa.Table.from_pandas(frame.iloc[:300], preserve_index=False)
    every = 300 * 299 // 2
    assert scorer.predict_to_parquet(records, tmp_path / "all.parquet", threshold=0.0) == every
    assert scorer.compared_all_
    default, scorer.compare_all_below = scorer.compare_all_below, 0
    try:
        found = scorer.predict_to_parquet(records, tmp_path / "blocked.parquet", threshold=0.0)
    finally:
        scorer.compare_all_below = default
    assert not scorer.compared_all_
    assert 0 < found < every  # blocking rules find some pairs, not all


@pytest.mark.parametrize(
    ("left", "right", "level"),
    [
        ({"email": "jo.lee84@mail.com"}, {"email": "jo.lee84@mail.com"}, "Exact match on email"),
        ({"email": "jo.lee84@mail.com"}, {"email": "joe.lee84@mial.com"}, "a typo apart"),
        # a different number in the user part is another person's address, not a typo
        ({"email": "jo.lee84@mail.com"}, {"email": "jo.lee85@mail.com"}, "All other"),
        ({"dob": "1984-03-01"}, {"dob": "1984-03-25"}, "1 month"),
        ({"dob": "1984-03-01"}, {"dob": "1985-01-20"}, "1 year"),
        ({"dob": "1984-03-01"}, {"dob": "1988-03-21"}, "10 year"),
        ({"dob": "1984-03-01"}, {"dob": "1998-03-21"}, "All other"),
        # the nicknames package lists Kate for Katherine only: Catherine sounds the same
        ({"first_name": "kate"}, {"first_name": "catherine"}, "nickname"),
        ({"first_name": "steve"}, {"first_name": "stephen"}, "nickname"),
        # a two-letter sound ("JN" of Jenny) is too coarse: Jennifer is not John
        ({"first_name": "jennifer"}, {"first_name": "john"}, "All other"),
        # a name typed into the other field, the rest of the name missing
        (
            {"first_name": None, "surname": "thomson"},
            {"first_name": "thompson", "surname": "holly"},
            "one's first name",
        ),
        # with both first names there, the crossing is not the surname's evidence
        (
            {"first_name": "holly", "surname": "thomson"},
            {"first_name": "thomson", "surname": "hale"},
            "All other",
        ),
    ],
)
def test_near_miss_levels(
    scorer_and_records: tuple[SplinkScorer, pd.DataFrame],
    left: dict[str, str],
    right: dict[str, str],
    level: str,
) -> None:
    scorer, frame = scorer_and_records
    a = _as_record(frame.iloc[0])
    b = _as_record(frame.iloc[1])
    a["unique_id"], b["unique_id"] = "left", "right"
    for record, values in ((a, left), (b, right)):
        # the given field and the columns standardisation derives from it (email_user...)
        record.update(values)
        prefixes = {f.split("_")[0] for f in values}
        record.update(
            {
                k: v
                for k, v in standardise_record(values).items()
                if k in record and k not in values and k.split("_")[0] in prefixes
            }
        )
    field = next(f for f in ("surname", "email", "first_name", "dob") if f in left)
    scored = scorer._fitted_linker.inference.score_pairs([a], [b]).as_pandas_dataframe()
    gamma = int(scored[f"gamma_{field}"].iloc[0])
    table = levels_table(scorer.model_)
    labels = table[table["field"] == field].set_index("gamma")["label"]
    assert level in labels[gamma]


def test_prior_rules_recall_follows_the_trained_model() -> None:
    def comparison(name: str, m_exact: float) -> dict[str, object]:
        levels = [
            {"label_for_charts": f"Exact match on {name}", "m_probability": m_exact},
            {"label_for_charts": "All other comparisons", "m_probability": 1 - m_exact},
        ]
        return {"output_column_name": name, "comparison_levels": levels}

    model = {
        "comparisons": [
            comparison("email", 0.5),
            comparison("first_name", 0.8),
            comparison("surname", 0.9),
        ]
    }
    nulls = {"email": 0.5, "first_name": 0.0, "surname": 0.0}
    # half the records have an email: a match has both filled a quarter of the time
    assert rules_recall(model, nulls, (("email",),)) == pytest.approx(0.25 * 0.5)
    # either rule: 1 - (1 - 0.125) * (1 - 0.72)
    both = rules_recall(model, nulls, (("email",), ("first_name", "surname")))
    assert both == pytest.approx(0.755)
