"""Hybrid re-scoring benchmark: what reviewers' labels add, measured on people they never saw.

    python benchmarks/bench_hybrid.py                  # generated 20k shop + fake_1000
    python benchmarks/bench_hybrid.py --budgets 1000 --seeds 1

People (true clusters) are split in two halves by a hash of their id. Labels are drawn only
from pairs whose two records belong to half A; quality is measured only on the records of
half B, beside the run without labels on the same records. So the labels cannot help by
binding the very pairs that are scored (must-link / cannot-link): any gain is the hybrid model
generalising.

- generated shop: a simulated reviewer labels ``budget`` pairs drawn at random from the
  uncertain band (match probability 0.02-0.98) of half A, with the truth as answer;
- fake_1000: Splink's own clerical labels (``fake_1000_labels.csv``, score >= 0.5 = match)
  of half A's pairs.

Results: benchmarks/results/hybrid.json and hybrid.md (medians over seeds).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
from bench_resolve import EXTRA_FIELDS, RESULTS, SPLINK, _score

from customerlens.config import ResolveOptions, SourceConfig
from customerlens.ingest import ingest
from customerlens.resolve.labels import import_labels_file
from customerlens.resolve.pipeline import resolve
from customerlens.warehouse import DuckDBWarehouse


def _half(person: str) -> int:
    return int(hashlib.blake2b(person.encode(), digest_size=8).hexdigest(), 16) % 2


def _pred(wh: DuckDBWarehouse) -> pd.DataFrame:
    return wh.query_df("SELECT source, record_id, customer_id FROM record_customer")


def _on_half_b(truth: pd.DataFrame, pred: pd.DataFrame) -> dict[str, Any]:
    b = truth[truth["half"] == 1]
    keys = set(zip(b["source"], b["record_id"], strict=True))
    keep = [k in keys for k in zip(pred["source"], pred["record_id"], strict=True)]
    return _score(b[["source", "record_id", "person_id"]], pred[keep])


def _sim_labels(wh: DuckDBWarehouse, truth: pd.DataFrame, budget: int, seed: int) -> pd.DataFrame:
    """A reviewer answering ``budget`` uncertain pairs of half A from the truth."""
    t = truth.assign(uid=truth["source"] + ":" + truth["record_id"])
    with wh.temporary_view("__truth", t[["uid", "person_id", "half"]]):
        pool = wh.query_df("""
            SELECT p.unique_id_l, p.unique_id_r, a.person_id = b.person_id AS same
            FROM match_pairs p
            JOIN __truth a ON a.uid = p.unique_id_l JOIN __truth b ON b.uid = p.unique_id_r
            WHERE a.half = 0 AND b.half = 0 AND p.match_probability BETWEEN 0.02 AND 0.98
            ORDER BY 1, 2
        """)
    chosen = pool.sample(min(budget, len(pool)), random_state=seed)
    return chosen.assign(label=chosen["same"].map({True: "match", False: "non_match"}))


def _clerical_labels(truth: pd.DataFrame) -> pd.DataFrame:
    raw = pd.read_csv(SPLINK / "fake_1000_labels.csv", dtype=str)
    half = dict(zip(truth["record_id"], truth["half"], strict=True))
    a = raw[(raw["unique_id_l"].map(half) == 0) & (raw["unique_id_r"].map(half) == 0)]
    return pd.DataFrame(
        {
            "unique_id_l": "accounts:" + a["unique_id_l"],
            "unique_id_r": "accounts:" + a["unique_id_r"],
            "label": (a["clerical_match_score"].astype(float) >= 0.5).map(
                {True: "match", False: "non_match"}
            ),
        }
    )


def run(
    name: str,
    sources: dict[str, SourceConfig],
    truth_of: Any,
    budgets: list[int],
    seeds: list[int],
    work: Path,
    options: ResolveOptions,
) -> dict[str, Any]:
    base = work / name
    wh = DuckDBWarehouse(base)
    ingest(wh, sources)
    resolve(wh, options)
    truth = truth_of(wh)
    truth["half"] = truth["person_id"].map(_half)
    result: dict[str, Any] = {"case": name, "without_labels": _on_half_b(truth, _pred(wh))}
    runs = []
    for budget in budgets:
        for seed in seeds:
            labels = _sim_labels(wh, truth, budget, seed) if budget else _clerical_labels(truth)
            wh.close()
            copy = work / f"{name}-{budget}-{seed}"
            shutil.copytree(base, copy)
            labels_file = copy / "labels.csv"
            labels[["unique_id_l", "unique_id_r", "label"]].to_csv(labels_file, index=False)
            other = DuckDBWarehouse(copy)
            import_labels_file(other, labels_file)
            started = time.perf_counter()
            report = resolve(other, options)
            runs.append(
                {
                    "budget": budget or len(labels),
                    "seed": seed,
                    "seconds": round(time.perf_counter() - started, 2),
                    "hybrid": report.metrics.get("hybrid"),
                    "metrics": _on_half_b(truth, _pred(other)),
                }
            )
            other.close()
            shutil.rmtree(copy)
            wh = DuckDBWarehouse(base)
            print(name, runs[-1]["budget"], seed, runs[-1]["metrics"]["pairwise"], flush=True)
            if not budget:
                break
    wh.close()
    result["with_labels"] = runs
    return result


def _median(runs: list[dict[str, Any]], *path: str) -> float:
    values = []
    for r in runs:
        v: Any = r
        for key in path:
            v = v[key]
        values.append(float(v))
    return statistics.median(values)


def _markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "# Hybrid re-scoring: labels from half the people, quality on the other half",
        "",
        "Generated by `benchmarks/bench_hybrid.py` (see its docstring for the protocol). Medians "
        "over label seeds; AUC / Brier are out-of-fold on the labelled pairs, beside Splink's "
        "probability on the same pairs.",
        "",
        "| case | labels | pairwise F1 (P / R) | B³ F1 | count error | out-of-fold AUC hybrid "
        "/ Splink | Brier hybrid / Splink |",
        "|---|---:|---|---:|---:|---|---|",
    ]
    for res in results:
        m = res["without_labels"]
        lines.append(
            f"| {res['case']} | none | {m['pairwise']['f1']:.4f} ({m['pairwise']['precision']:.3f}"
            f" / {m['pairwise']['recall']:.3f}) | {m['bcubed']['f1']:.4f} | "
            f"{m['relative_count_error']:+.2%} | | |"
        )
        for budget in sorted({r["budget"] for r in res["with_labels"]}):
            runs = [r for r in res["with_labels"] if r["budget"] == budget]
            scored = [r for r in runs if r["hybrid"] and "out_of_fold" in r["hybrid"]]
            auc = (
                f"{_median(scored, 'hybrid', 'out_of_fold', 'hybrid_auc'):.3f} / "
                f"{_median(scored, 'hybrid', 'out_of_fold', 'splink_auc'):.3f}"
                if scored
                else "skipped"
            )
            brier = (
                f"{_median(scored, 'hybrid', 'out_of_fold', 'hybrid_brier'):.3f} / "
                f"{_median(scored, 'hybrid', 'out_of_fold', 'splink_brier'):.3f}"
                if scored
                else ""
            )
            lines.append(
                f"| {res['case']} | {budget:,} (×{len(runs)}) | "
                f"{_median(runs, 'metrics', 'pairwise', 'f1'):.4f} "
                f"({_median(runs, 'metrics', 'pairwise', 'precision'):.3f} / "
                f"{_median(runs, 'metrics', 'pairwise', 'recall'):.3f}) | "
                f"{_median(runs, 'metrics', 'bcubed', 'f1'):.4f} | "
                f"{_median(runs, 'metrics', 'relative_count_error'):+.2%} | {auc} | {brier} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--budgets", type=int, nargs="*", default=[250, 1000, 4000])
    parser.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3])
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    from customerlens.synth import generate_shop

    results = []
    with tempfile.TemporaryDirectory(prefix="lens-hybrid-") as tmp:
        work = Path(tmp)
        shop = work / "shop"
        generate_shop(args.people, shop, seed=42)
        truth = pd.read_csv(shop / "truth.csv", dtype=str)
        results.append(
            run(
                "generated",
                {
                    r: SourceConfig(path=shop / f"{r}.csv")
                    for r in ("accounts", "crm", "transactions")
                },
                lambda _wh: truth.copy(),
                args.budgets,
                args.seeds,
                work,
                ResolveOptions(),
            )
        )
        results.append(
            run(
                "fake_1000",
                {"accounts": SourceConfig(path=SPLINK / "fake_1000.csv")},
                lambda wh: wh.query_df(
                    "SELECT 'accounts' AS source, customer_id AS record_id, "
                    "CAST(cluster AS VARCHAR) AS person_id FROM accounts"
                ),
                [0],
                [0],
                work,
                ResolveOptions(extra_fields=EXTRA_FIELDS["fake_1000"]),
            )
        )
    args.results.mkdir(parents=True, exist_ok=True)
    stamp = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "people": args.people, "cases": results}
    (args.results / "hybrid.json").write_text(json.dumps(stamp, indent=2, default=str) + "\n")
    (args.results / "hybrid.md").write_text(_markdown(results))
    print(_markdown(results))


if __name__ == "__main__":
    main()
