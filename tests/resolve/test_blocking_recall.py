"""The label-free blocking-recall estimate: it follows the pairs production actually scored."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from customerlens.config import ResolveOptions, SourceConfig
from customerlens.ingest import ingest
from customerlens.resolve.blocking_recall import (
    LOOSE_WORK,
    MIN_SAMPLE,
    estimate_blocking_recall,
    sample_size_for,
)
from customerlens.resolve.comparisons import MODEL_COLUMNS
from customerlens.resolve.pipeline import resolve
from customerlens.synth import generate_shop
from customerlens.tables import MATCH_INDEX, MATCH_MODEL, MATCH_PAIRS
from customerlens.warehouse import DuckDBWarehouse


def test_sample_shrinks_only_when_the_loose_work_would_grow_past_its_budget() -> None:
    assert sample_size_for(60_000) == 2_000
    assert sample_size_for(LOOSE_WORK // 2_000) == 2_000
    assert sample_size_for(3_000_000) == LOOSE_WORK // 3_000_000 < 2_000
    assert sample_size_for(10**12) == MIN_SAMPLE
    assert sample_size_for(0) == 2_000


def test_estimate_drops_when_production_misses_matches(tmp_path: Path) -> None:
    files = generate_shop(800, tmp_path / "shop", seed=3).files
    with DuckDBWarehouse(tmp_path / "out") as wh:
        ingest(wh, {r: SourceConfig(path=p) for r, p in files.items() if r != "truth"})
        report = resolve(wh, ResolveOptions())
        records = wh.query(
            f"SELECT unique_id, {', '.join(MODEL_COLUMNS)} FROM {MATCH_INDEX} ORDER BY unique_id",
        )
        model = json.loads(wh.scalar(f"SELECT model FROM {MATCH_MODEL}"))
        pairs = wh.query(f"SELECT unique_id_l, unique_id_r FROM {MATCH_PAIRS}")
        # every other scored pair gone: as if the blocking rules had never generated them
        half = wh.query(
            f"SELECT unique_id_l, unique_id_r FROM {MATCH_PAIRS} "
            "WHERE hash(unique_id_l || unique_id_r) % 2 = 0",
        )
    assert report.metrics["blocking_recall_estimate"] >= 0.9
    pq.write_table(pairs, tmp_path / "all.parquet")
    pq.write_table(half, tmp_path / "half.parquet")
    columns = ["unique_id", *MODEL_COLUMNS]
    full, basis = estimate_blocking_recall(
        model, records, tmp_path / "all.parquet", threshold=0.9, columns=columns
    )
    missing, same_basis = estimate_blocking_recall(
        model, records, tmp_path / "half.parquet", threshold=0.9, columns=columns
    )
    assert basis == same_basis >= 100
    assert full is not None and missing is not None
    assert full >= 0.9
    assert 0.3 <= missing <= 0.7
