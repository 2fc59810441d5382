"""The consensus pass: clusters merge when what they say about a person matches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from customerlens.config import SourceConfig
from customerlens.ingest import ingest
from customerlens.realtime.matcher import standardise_record
from customerlens.resolve.consensus import (
    _consensus,
    _one_consensus,
    merge_by_consensus,
)
from customerlens.resolve.model import SplinkScorer
from customerlens.resolve.standardise import standardise
from customerlens.synth import generate_shop
from customerlens.warehouse import DuckDBWarehouse

REUBEN = {
    "first_name": "Reuben",
    "surname": "James",
    "date_of_birth": "1975-07-24",
    "email": "r.james@jackson.com",
    "postcode": "LE1 7RH",
    "address": "12 Mill Lane",
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], pd.DataFrame]:
    """A model trained by the real pipeline steps on a small generated shop, and its records
    (the background the test records are scored against: term frequencies come from them)."""
    root = tmp_path_factory.mktemp("consensus")
    generate_shop(600, root / "shop", seed=5)
    with DuckDBWarehouse(root) as wh:
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
    return scorer.model_in("duckdb"), records.to_pandas()


def _run(
    tmp_path: Path,
    shop: tuple[dict[str, Any], pd.DataFrame],
    raws: list[dict[str, Any]],
    labels: list[int],
    pairs: list[tuple[int, int, float]],
    forbidden: tuple[list[int], list[int]] | None = None,
) -> np.ndarray:
    model, background = shop
    rows = []
    for i, raw in enumerate(raws):
        record = standardise_record(raw)
        record["unique_id"] = f"~test{i:02d}"  # after every shop record in id order
        rows.append(record)
    table = pd.concat([background[[*rows[0]]], pd.DataFrame(rows)], ignore_index=True)
    ids = table["unique_id"].tolist()
    first = len(background)
    all_labels = np.r_[np.arange(first), first + np.array(labels)]
    with DuckDBWarehouse(tmp_path) as wh:
        wh.connection.register("__rows", table)
        wh.execute("CREATE TEMP TABLE records_std AS SELECT * FROM __rows")
        result = merge_by_consensus(
            wh,
            "records_std",
            ids,
            all_labels,
            first + np.array([p[0] for p in pairs]),
            first + np.array([p[1] for p in pairs]),
            np.array([p[2] for p in pairs]),
            model,
            threshold=0.9,
            conflict_cap=0.2,
            forbidden=(first + np.array(forbidden[0]), first + np.array(forbidden[1]))
            if forbidden
            else None,
        )
    assert len(result.links) == result.merges
    for explanation in result.links["explanation"]:
        assert {"field", "level", "weight"} <= set(json.loads(explanation)[0])
    moved = result.labels != all_labels
    assert (result.link[moved] >= 0.9).all()
    assert not moved[:first].any()  # nothing else was touched
    return result.labels[first:] - first


def _split_person() -> tuple[list[dict[str, Any]], list[int], list[tuple[int, int, float]]]:
    """Reuben's records in one cluster; a copy with a typo'd name and no birth date apart (its
    pairs were outvoted); pairs between them in the candidate band."""
    raws = [
        REUBEN,
        {**REUBEN, "email": None},
        {**REUBEN, "address": None},
        {**REUBEN, "first_name": "Rubnen", "date_of_birth": None, "address": "12 Mill Ln"},
    ]
    return raws, [0, 0, 0, 3], [(0, 3, 0.95), (1, 3, 0.15), (2, 3, 0.3)]


def test_a_copy_agreeing_with_the_consensus_joins(
    tmp_path: Path, shop: tuple[dict[str, Any], pd.DataFrame]
) -> None:
    raws, labels, pairs = _split_person()
    merged = _run(tmp_path, shop, raws, labels, pairs)
    assert len(set(merged.tolist())) == 1


def test_a_reviewers_no_keeps_the_clusters_apart(
    tmp_path: Path, shop: tuple[dict[str, Any], pd.DataFrame]
) -> None:
    raws, labels, pairs = _split_person()
    merged = _run(tmp_path, shop, raws, labels, pairs, forbidden=([1], [3]))
    assert merged[0] != merged[3]


def test_a_household_stays_apart(tmp_path: Path, shop: tuple[dict[str, Any], pd.DataFrame]) -> None:
    home = {"surname": "Smith", "postcode": "LE1 7RH", "address": "12 Mill Lane"}
    raws = [
        {**home, "first_name": "John", "date_of_birth": "1970-01-01"},
        {**home, "first_name": "John", "email": "jsmith@mail.com"},
        {**home, "first_name": "Mary", "date_of_birth": "1972-03-03"},
        {**home, "first_name": "Mary", "email": "mary.smith@mail.com"},
    ]
    merged = _run(tmp_path, shop, raws, [0, 0, 2, 2], [(0, 2, 0.5), (1, 3, 0.4)])
    assert merged[0] != merged[2]


def test_pairs_below_the_candidate_floor_are_not_compared(
    tmp_path: Path, shop: tuple[dict[str, Any], pd.DataFrame]
) -> None:
    raws, labels, _ = _split_person()
    merged = _run(tmp_path, shop, raws, labels, [(0, 3, 0.05)])
    assert merged[0] != merged[3]


def test_consensus_takes_the_majority_and_keeps_ties() -> None:
    frame = pd.DataFrame(
        {
            "cluster": [1, 1, 1, 2, 2],
            "first_name": ["reuben", "reuben", "rubnen", "james", "reuben"],
            "surname": ["james", None, "james", "reuben", "james"],
        }
    )
    groups = {"first_name": ("first_name",), "surname": ("surname",)}
    found = _consensus(frame, groups)
    assert [c["first_name"] for c in found[1]["first_name"]] == ["reuben"]
    assert [c["surname"] for c in found[1]["surname"]] == ["james"]
    # two records, two spellings: both stay candidates, the most complete record's first
    assert sorted(c["first_name"] for c in found[2]["first_name"]) == ["james", "reuben"]
    # the plain-Python version used after each merge agrees with the batch one
    for cluster in (1, 2):
        assert _one_consensus(frame[frame["cluster"] == cluster], groups) == found[cluster]
