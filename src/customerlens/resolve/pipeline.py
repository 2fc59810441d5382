"""The resolve stage: ``records`` -> customers, with evidence.

standardise -> score pairs (Splink) -> cluster without chaining -> tiers -> stable ids ->
golden records. Writes ``record_customer``, ``customers``, ``match_pairs``, ``review_queue``,
``customer_id_history`` and ``labels`` (created empty), and records the run's metrics.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from customerlens.config import ResolveOptions
from customerlens.errors import CustomerLensError
from customerlens.resolve.backends import SplinkBackend
from customerlens.resolve.blocking_recall import estimate_blocking_recall
from customerlens.resolve.cluster import constrained_clusters
from customerlens.resolve.comparisons import MODEL_COLUMNS
from customerlens.resolve.consensus import merge_by_consensus, no_links
from customerlens.resolve.decide import conflict_sql, decision_sql
from customerlens.resolve.explain import levels_table
from customerlens.resolve.golden import golden_sql
from customerlens.resolve.hybrid import rescore
from customerlens.resolve.labels import MATCH, NON_MATCH, ensure_labels_table, latest_labels
from customerlens.resolve.model import SplinkScorer
from customerlens.resolve.stable_ids import assign_ids
from customerlens.resolve.standardise import standardise
from customerlens.tables import (
    CONSENSUS_LINKS,
    CUSTOMER_ID_HISTORY,
    CUSTOMERS,
    LABELS,
    MATCH_INDEX,
    MATCH_LEVELS,
    MATCH_MODEL,
    MATCH_PAIRS,
    RECORD_CUSTOMER,
    RECORDS,
    REVIEW_QUEUE,
)
from customerlens.warehouse import DuckDBWarehouse, RunRecord, quote_ident

TIERS = ("auto", "review", "single")


@dataclass
class ResolveReport:
    """What resolution found; ``metrics`` is also stored in ``run_metadata``."""

    records: dict[str, int] = field(default_factory=dict)
    customers: int = 0
    merged: int = 0
    review_pairs: int = 0
    tiers: dict[str, int] = field(default_factory=dict)
    no_identity: int = 0
    id_changes: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] | None = None


def resolve(
    wh: DuckDBWarehouse,
    options: ResolveOptions | None = None,
    *,
    export_dir: Path | None = None,
    on_step: Callable[[str], None] | None = None,
) -> ResolveReport:
    """Resolve the warehouse's ``records`` into customers (see the module docstring)."""
    options = options or ResolveOptions()
    step = on_step or (lambda _message: None)
    if not wh.has_table(RECORDS):
        raise CustomerLensError("The warehouse has no `records` table: run `ingest` first.")
    run = RunRecord("resolve")
    report = ResolveReport()
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        report.timings[name] = round(now - clock, 3)
        clock = now

    step("standardising records")
    standardise(wh, region=options.default_region, extra_fields=tuple(options.extra_fields))
    # only what the match model reads leaves the warehouse: at 3M records every column is ~0.1 GB
    needed = ["unique_id", *MODEL_COLUMNS, *(f"x_{name}" for name in options.extra_fields)]
    records = wh.query(
        f"SELECT {', '.join(quote_ident(c) for c in needed)} FROM records_std ORDER BY unique_id"
    )
    report.records = dict(
        wh.query("SELECT source, count(*) AS n FROM records_std GROUP BY 1 ORDER BY 1")
        .to_pandas()
        .itertuples(index=False, name=None)
    )
    report.no_identity = int(
        wh.scalar("SELECT count(*) FROM records_std WHERE identity_fields = 0")
    )
    lap("standardise")
    ids = records.column("unique_id").to_pylist()
    labels = latest_labels(wh)
    with wh.scratch_dir() as scratch:
        pairs_file = scratch / "pairs.parquet"
        with wh.lend_memory():
            _score(records, options, step, report, pairs_file, labels, wh.splink_backend(scratch))
        del records  # the scratch database has its own copy; free ours before the big steps
        _store_pairs(wh, pairs_file, options)
    lap("score")
    if len(labels):
        step("re-scoring pairs with the labels (hybrid model)")
        report.metrics["hybrid"] = rescore(wh, labels, random_state=options.random_state)
        lap("hybrid")
    step("clustering")
    report.metrics["labels"] = {str(k): int(v) for k, v in labels["label"].value_counts().items()}
    clusters, best = _cluster(wh, ids, labels, options, report)
    lap("cluster")
    step("assigning stable customer ids")
    previous = (
        wh.query_df(
            f"SELECT source || ':' || record_id AS unique_id, customer_id FROM {RECORD_CUSTOMER}"
        )
        if wh.has_table(RECORD_CUSTOMER)
        else None
    )
    assigned, history = assign_ids(clusters, previous)
    record_customer = _record_customer(wh, assigned, clusters, best, options)
    lap("stable_ids")
    step("writing tables")
    _write(wh, record_customer, history, options, run.run_id)
    if report.model is not None:
        wh.write_table(MATCH_LEVELS, levels_table(report.model))
        wh.write_table(
            MATCH_MODEL, pd.DataFrame({"run_id": [run.run_id], "model": [json.dumps(report.model)]})
        )
    if export_dir is not None:
        export_dir.mkdir(parents=True, exist_ok=True)
        wh.execute(
            f"COPY (SELECT source, record_id, customer_id, match_probability, tier "
            f"FROM {RECORD_CUSTOMER} ORDER BY source, record_id) "
            f"TO '{export_dir / 'record_customer.csv'}' (HEADER, DELIMITER ',')"
        )
    lap("write")
    _summarise(wh, report, history)
    run.row_counts = {
        t: wh.row_count(t) for t in (RECORD_CUSTOMER, CUSTOMERS, MATCH_PAIRS, REVIEW_QUEUE)
    }
    run.metrics = report.metrics
    wh.record_run(run.finish())
    # the real-time matcher's index: what the model compared, per record
    wh.create_table_as(
        MATCH_INDEX,
        f"SELECT unique_id, source, record_id, "
        f"{', '.join(quote_ident(c) for c in MODEL_COLUMNS)} FROM records_std",
    )
    wh.drop_temp("records_std")
    return report


def _score(
    records: pa.Table,
    options: ResolveOptions,
    step: Callable[[str], None],
    report: ResolveReport,
    pairs_file: Path,
    labels: pd.DataFrame,
    backend: SplinkBackend,
) -> None:
    """Train the model and write the scored pairs (and every labelled pair) to ``pairs_file``."""
    if records.num_rows < 2 or report.no_identity == records.num_rows:
        # nothing to compare: every record is a customer of its own, flagged by its tier
        report.metrics["model"] = {"fields": [], "skipped": "no identifying field has a value"}
        pq.write_table(_no_pairs(), pairs_file)
        return
    scorer = SplinkScorer(
        random_state=options.random_state,
        max_u_pairs=options.max_u_pairs,
        extra_fields=dict(options.extra_fields),
        backend=backend,
    )
    step("training the match model")
    scorer.fit(records)
    step("scoring candidate pairs")
    report.metrics["pairs_scored"] = scorer.predict_to_parquet(
        records, pairs_file, threshold=options.pair_floor, also=labels
    )
    step("estimating blocking recall")
    recall, basis = estimate_blocking_recall(
        scorer.model_,
        records,
        pairs_file,
        threshold=options.auto_threshold,
        columns=scorer.columns_,
        seed=options.random_state,
        backend=backend,
    )
    report.metrics["blocking_recall_estimate"] = None if recall is None else round(recall, 4)
    report.metrics["blocking_recall_basis_pairs"] = basis
    # stored for real-time matching and audits, which read DuckDB SQL whatever engine trained it
    report.model = scorer.model_in("duckdb")
    report.metrics["model"] = {
        "training_records": scorer.training_records_,
        "rules_dropped": scorer.rules_dropped_,
        "compared_all_pairs": scorer.compared_all_,
        "fields": scorer.present_,
        "em_sessions": scorer.em_sessions_,
        "timings": {k: round(v, 3) for k, v in scorer.timings_.items()},
        "prior": scorer.model_.get("probability_two_random_records_match"),
        "prior_rules_recall": round(scorer.prior_recall_, 4),
    }


def _store_pairs(wh: DuckDBWarehouse, pairs_file: Path, options: ResolveOptions) -> None:
    """``match_pairs`` from the scored pairs, with the household conflict and the decision."""
    source = f"read_parquet('{pairs_file}')"
    columns = list(wh.query(f"SELECT * FROM {source} LIMIT 0").column_names)
    conflict = conflict_sql(columns, _person_fields(options))
    wh.create_table_as(
        MATCH_PAIRS,
        f"SELECT substr(md5(unique_id_l || '|' || unique_id_r), 1, 16) AS pair_id, *, "
        f"{conflict} AS conflict, {decision_sql(conflict, options.conflict_cap)} "
        f"AS decision_probability FROM {source}",
    )


def _person_fields(options: ResolveOptions) -> list[str]:
    """Comparisons whose agreement is person-specific (the household veto's exemption): the date
    of birth and the exact extra identifiers."""
    return ["dob", *(f"x_{f}" for f, kind in options.extra_fields.items() if kind == "exact")]


def _no_pairs() -> pa.Table:
    return pa.table(
        {
            "unique_id_l": pa.array([], pa.string()),
            "unique_id_r": pa.array([], pa.string()),
            "match_weight": pa.array([], pa.float64()),
            "match_probability": pa.array([], pa.float64()),
            "match_key": pa.array([], pa.string()),
        }
    )


def _cluster(
    wh: DuckDBWarehouse,
    ids: list[str],
    labels: pd.DataFrame,
    options: ResolveOptions,
    report: ResolveReport,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Cluster from every kept pair (each votes for or against the merge of its clusters), then
    merge clusters whose consensus records match (``consensus.py``)."""
    index = pd.Index(ids)
    with wh.temporary_view(
        "__ids",
        pa.table(
            {"unique_id": pa.array(ids, pa.string()), "idx": pa.array(range(len(ids)), pa.int64())}
        ),
    ):
        edges = wh.query(f"""
            SELECT l.idx AS a, r.idx AS b, p.decision_probability AS p
            FROM {MATCH_PAIRS} p
            JOIN __ids l ON l.unique_id = p.unique_id_l
            JOIN __ids r ON r.unique_id = p.unique_id_r
        """)  # no ORDER BY: clustering sorts the pairs itself (same input, same ids)
    left = edges.column("a").to_numpy()
    right = edges.column("b").to_numpy()
    probability = edges.column("p").to_numpy()
    label_left = index.get_indexer(pd.Index(labels["unique_id_l"]))
    label_right = index.get_indexer(pd.Index(labels["unique_id_r"]))
    known = (label_left >= 0) & (label_right >= 0)
    accepted = known & (labels["label"] == MATCH).to_numpy()
    rejected = known & (labels["label"] == NON_MATCH).to_numpy()
    result = constrained_clusters(
        len(ids),
        left,
        right,
        probability,
        threshold=options.auto_threshold,
        cannot_link=options.cannot_link,
        must_link=(label_left[accepted], label_right[accepted]),  # a reviewer's yes is certain
        forbidden=(label_left[rejected], label_right[rejected]),  # and so is a no
    )
    cluster_labels, best = result.labels, result.best_link
    if report.model is not None and options.consensus:
        apart = probability < options.cannot_link
        merged = merge_by_consensus(
            wh,
            "records_std",
            ids,
            cluster_labels,
            left,
            right,
            probability,
            report.model,
            threshold=options.auto_threshold,
            conflict_cap=options.conflict_cap,
            person_fields=_person_fields(options),
            forbidden=(
                np.concatenate([label_left[rejected], left[apart]]),
                np.concatenate([label_right[rejected], right[apart]]),
            ),
        )
        cluster_labels, best = merged.labels, np.maximum(best, merged.link)
        report.metrics["consensus"] = {"merges": merged.merges, "compared": merged.compared}
        links = merged.links
    else:
        links = no_links()
    wh.write_table(CONSENSUS_LINKS, links)
    clusters = pd.DataFrame({"unique_id": pd.Series(ids, dtype=str), "cluster": cluster_labels})
    return clusters, best


def _record_customer(
    wh: DuckDBWarehouse,
    assigned: pd.DataFrame,
    clusters: pd.DataFrame,
    best: np.ndarray,
    options: ResolveOptions,
) -> pd.DataFrame:
    meta = wh.query_df(
        "SELECT source, record_id, identity_fields FROM records_std ORDER BY unique_id"
    )
    sizes = clusters.groupby("cluster")["cluster"].transform("size").to_numpy()
    tier = np.where(
        sizes > 1, "auto", np.where(best >= options.review_threshold, "review", "single")
    )
    return pd.DataFrame(
        {
            # typed, so that an empty result still has text columns
            "source": pd.Series(meta["source"].to_numpy(), dtype=str),
            "record_id": pd.Series(meta["record_id"].to_numpy(), dtype=str),
            "customer_id": pd.Series(assigned["customer_id"].to_numpy(), dtype=str),
            "match_probability": np.round(best, 6),
            "tier": tier,
            "identity_fields": meta["identity_fields"].to_numpy(),
        }
    )


def _write(
    wh: DuckDBWarehouse,
    record_customer: pd.DataFrame,
    history: pd.DataFrame,
    options: ResolveOptions,
    run_id: str,
) -> None:
    ensure_labels_table(wh)
    wh.write_table(RECORD_CUSTOMER, record_customer)
    pair_columns = ", ".join(quote_ident(c) for c in wh.columns(MATCH_PAIRS))
    customers = (
        "PARTITION BY least(l.customer_id, r.customer_id), greatest(l.customer_id, r.customer_id)"
    )
    wh.create_table_as(
        REVIEW_QUEUE,
        f"""
        SELECT {pair_columns}, customer_id_l, customer_id_r, record_pairs FROM (
            SELECT p.*, l.customer_id AS customer_id_l, r.customer_id AS customer_id_r,
                   count(*) OVER ({customers}) AS record_pairs,
                   -- one question per pair of customers: their strongest record pair stands
                   -- for all (a decision on it binds the two customers, see labels.py)
                   row_number() OVER ({customers}
                                      ORDER BY p.decision_probability DESC, p.pair_id) AS pick
            FROM {MATCH_PAIRS} p
            JOIN {RECORD_CUSTOMER} l ON l.source || ':' || l.record_id = p.unique_id_l
            JOIN {RECORD_CUSTOMER} r ON r.source || ':' || r.record_id = p.unique_id_r
            WHERE p.decision_probability >= {options.review_threshold}
              AND l.customer_id <> r.customer_id
              AND NOT EXISTS (SELECT 1 FROM {LABELS} d WHERE d.unique_id_l = p.unique_id_l
                              AND d.unique_id_r = p.unique_id_r)
        )
        WHERE pick = 1
        ORDER BY decision_probability DESC, pair_id
    """,
    )
    wh.create_table_as(CUSTOMERS, golden_sql(RECORD_CUSTOMER))
    stamped = history.assign(run_id=run_id)
    if wh.has_table(CUSTOMER_ID_HISTORY):
        old = wh.query_df(f"SELECT * FROM {CUSTOMER_ID_HISTORY}")
        stamped = pd.concat([old, stamped], ignore_index=True)
    wh.write_table(CUSTOMER_ID_HISTORY, stamped)
    ensure_labels_table(wh)


def _summarise(wh: DuckDBWarehouse, report: ResolveReport, history: pd.DataFrame) -> None:
    report.customers = int(wh.scalar(f"SELECT count(DISTINCT customer_id) FROM {RECORD_CUSTOMER}"))
    total = sum(report.records.values())
    report.merged = total - report.customers
    report.review_pairs = wh.row_count(REVIEW_QUEUE)
    tiers = dict(
        wh.query(f"SELECT tier, count(*) AS n FROM {RECORD_CUSTOMER} GROUP BY 1")
        .to_pandas()
        .itertuples(index=False, name=None)
    )
    report.tiers = {t: int(tiers.get(t, 0)) for t in TIERS}
    report.id_changes = {str(k): int(v) for k, v in history["event"].value_counts().items()}
    report.metrics.update(
        {
            "records": report.records,
            "customers": report.customers,
            "merged": report.merged,
            "review_pairs": report.review_pairs,
            "tiers": report.tiers,
            "records_without_identity": report.no_identity,
            "id_changes": report.id_changes,
            "timings": report.timings,
        }
    )
