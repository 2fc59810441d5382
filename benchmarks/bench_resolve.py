"""Identity-resolution benchmark: customerlens beside the naive rule and plain Splink.

    python benchmarks/bench_resolve.py                       # every case
    python benchmarks/bench_resolve.py --cases febrl3 generated --people 20000

For each case: ingest, resolve with customerlens, run both baselines on the same ingested
records, and evaluate all three against the truth (pairwise and B-cubed P/R/F1, customer count
error, records lost). Results: benchmarks/results/resolve.json and resolve.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from baselines import naive, plain_splink

from customerlens.config import ResolveOptions, SourceConfig
from customerlens.ingest import ingest
from customerlens.resolve.evaluate import evaluate
from customerlens.resolve.pipeline import resolve
from customerlens.warehouse import DuckDBWarehouse

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
FEBRL = DATA / "er" / "febrl"
SPLINK = DATA / "er" / "splink"

Truth = Callable[[DuckDBWarehouse], pd.DataFrame]


def _febrl_truth(wh: DuckDBWarehouse) -> pd.DataFrame:
    return wh.query_df(
        "SELECT source, record_id, split_part(record_id, '-', 2) AS person_id FROM records"
    )


def _cluster_truth(wh: DuckDBWarehouse) -> pd.DataFrame:
    return wh.query_df(
        "SELECT 'accounts' AS source, customer_id AS record_id, cluster AS person_id FROM accounts"
    )


#: Extra fields each data set has beyond the contract's identity columns, as a user would
#: configure them in customerlens.toml ([resolve] extra_fields). Truth columns never appear here.
EXTRA_FIELDS: dict[str, dict[str, str]] = {
    "febrl": {"soc_sec_id": "exact", "suburb": "fuzzy", "state": "exact"},
    "fake_1000": {"city": "fuzzy"},
    "historical_50k": {"birth_place": "fuzzy", "occupation": "exact", "gender": "exact"},
}


def _options(case: str) -> ResolveOptions:
    key = "febrl" if case.startswith("febrl") else case
    return ResolveOptions(extra_fields=EXTRA_FIELDS.get(key, {}))


def _cases(people: int, work: Path) -> dict[str, tuple[dict[str, SourceConfig], Truth | Path]]:
    def acc(path: Path, **kw: Any) -> SourceConfig:
        return SourceConfig(path=path, **kw)

    cases: dict[str, tuple[dict[str, SourceConfig], Truth | Path]] = {
        f"febrl{i}": ({"accounts": acc(FEBRL / f"dataset{i}.csv")}, _febrl_truth) for i in (1, 2, 3)
    }
    cases["febrl4"] = (
        {"accounts": acc(FEBRL / "dataset4a.csv"), "crm": acc(FEBRL / "dataset4b.csv")},
        _febrl_truth,
    )
    cases["fake_1000"] = ({"accounts": acc(SPLINK / "fake_1000.csv")}, _cluster_truth)
    cases["historical_50k"] = (
        {
            "accounts": acc(
                SPLINK / "historical_figures_with_errors_50k.parquet",
                columns={"postcode": "postcode_fake"},
            )
        },
        _cluster_truth,
    )
    shop = work / "shop"
    cases["generated"] = (
        {r: acc(shop / f"{r}.csv") for r in ("accounts", "crm", "transactions")},
        shop / "truth.csv",
    )
    cases["ebuy"] = (
        {
            "accounts": acc(DATA / "ebuy" / "customer_database.csv"),
            "crm": acc(DATA / "ebuy" / "crm_export.csv"),
        },
        None,
    )  # type: ignore[dict-item]
    return cases


def _score(truth: pd.DataFrame, pred: pd.DataFrame) -> dict[str, Any]:
    con = duckdb.connect()
    con.register("truth", truth.astype(str))
    con.register("pred", pred.astype(str))
    try:
        return evaluate(con, "truth", "pred")
    finally:
        con.close()


def run_case(
    name: str, sources: dict[str, SourceConfig], truth: Truth | Path | None, work: Path
) -> dict[str, Any]:
    wh = DuckDBWarehouse(work / name)
    ingest(wh, sources)
    started = time.perf_counter()
    report = resolve(wh, _options(name), export_dir=work / name)
    ours_seconds = time.perf_counter() - started
    ours = wh.query_df("SELECT source, record_id, customer_id FROM record_customer")
    result: dict[str, Any] = {
        "case": name,
        "records": sum(report.records.values()),
        "customerlens": {
            "seconds": round(ours_seconds, 2),
            "timings": report.timings,
            "customers": report.customers,
            "review_pairs": report.review_pairs,
            "blocking_recall_estimate": report.metrics.get("blocking_recall_estimate"),
        },
    }
    started = time.perf_counter()
    naive_pred = naive(wh)
    result["naive"] = {"seconds": round(time.perf_counter() - started, 2)}
    started = time.perf_counter()
    splink_pred = plain_splink(wh)
    result["plain_splink"] = {"seconds": round(time.perf_counter() - started, 2)}
    if truth is None:
        result["samples"] = _samples(wh)
        for key, pred in (("naive", naive_pred), ("plain_splink", splink_pred)):
            result[key]["customers"] = int(pred["customer_id"].nunique())
        wh.close()
        return result
    truth_df = pd.read_csv(truth, dtype=str) if isinstance(truth, Path) else truth(wh)
    for key, pred in (("customerlens", ours), ("naive", naive_pred), ("plain_splink", splink_pred)):
        result[key]["metrics"] = _score(truth_df, pred)
    result["blocking_recall_true"] = _true_blocking_recall(wh, truth_df)
    wh.close()
    return result


def _true_blocking_recall(wh: DuckDBWarehouse, truth: pd.DataFrame) -> float:
    """Share of true pairs among the scored candidate pairs (any probability above the floor)."""
    with wh.temporary_view("__truth", truth.astype(str)):
        row = wh.query("""
            WITH t AS (SELECT source || ':' || record_id AS uid, person_id FROM __truth),
            true_pairs AS (SELECT count(*) AS n FROM t a JOIN t b
                           ON a.person_id = b.person_id AND a.uid < b.uid),
            found AS (SELECT count(*) AS n FROM match_pairs p
                      JOIN t a ON a.uid = p.unique_id_l JOIN t b ON b.uid = p.unique_id_r
                      WHERE a.person_id = b.person_id)
            SELECT (SELECT n FROM found) AS found, (SELECT n FROM true_pairs) AS total
        """).to_pylist()[0]
    return round(row["found"] / row["total"], 4) if row["total"] else 1.0


def _samples(wh: DuckDBWarehouse) -> dict[str, list[dict[str, Any]]]:
    merges = wh.query_df("""
        SELECT c.customer_id, c.first_name, c.surname, c.postcode, c.records,
               string_agg(r.source || ':' || r.record_id || ' ' || coalesce(r.first_name, '') ||
                          ' ' || coalesce(r.surname, '') || ' ' || coalesce(r.postcode, ''), ' | ')
                   AS linked
        FROM customers c JOIN record_customer rc USING (customer_id)
        JOIN records r USING (source, record_id)
        WHERE c.records > 1 GROUP BY 1, 2, 3, 4, 5 ORDER BY hash(c.customer_id) LIMIT 10
    """)
    review = wh.query_df("""
        SELECT q.match_probability, q.unique_id_l, q.unique_id_r,
               l.first_name || ' ' || l.surname || ' ' || coalesce(l.postcode, '') AS left_record,
               r.first_name || ' ' || r.surname || ' ' || coalesce(r.postcode, '') AS right_record
        FROM review_queue q
        JOIN records l ON l.source || ':' || l.record_id = q.unique_id_l
        JOIN records r ON r.source || ':' || r.record_id = q.unique_id_r
        ORDER BY hash(q.pair_id) LIMIT 10
    """)
    return {"merges": merges.to_dict("records"), "review": review.to_dict("records")}


def _markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "| case | records | method | pairwise P | R | F1 | B³ F1 | customers (true) | "
        "count error | lost | seconds |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for method in ("customerlens", "plain_splink", "naive"):
            m = r[method].get("metrics")
            if m is None:
                lines.append(
                    f"| {r['case']} | {r['records']:,} | {method} | | | | | "
                    f"{r[method].get('customers', ''):,} | | | "
                    f"{r[method]['seconds']} |"
                )
                continue
            lines.append(
                f"| {r['case']} | {r['records']:,} | {method} | {m['pairwise']['precision']:.4f} "
                f"| {m['pairwise']['recall']:.4f} | **{m['pairwise']['f1']:.4f}** | "
                f"{m['bcubed']['f1']:.4f} | {m['predicted_customers']:,} "
                f"({m['true_customers']:,}) | {m['relative_count_error']:+.3%} | "
                f"{m['records_missing']} | {r[method]['seconds']} |"
            )
    lines.append("")
    lines.append(
        "Blocking recall (share of true pairs scored), true vs customerlens' label-free estimate:"
    )
    for r in results:
        if "blocking_recall_true" in r:
            lines.append(
                f"- {r['case']}: {r['blocking_recall_true']:.4f} true, "
                f"{r['customerlens']['blocking_recall_estimate']} estimated"
            )
    for r in results:
        for kind, title in (("merges", "merged customers"), ("review", "review pairs")):
            rows = r.get("samples", {}).get(kind, [])
            if not rows:
                continue
            lines += ["", f"{r['case']}: ten sampled {title} (customerlens)", ""]
            keys = list(rows[0])
            lines.append("| " + " | ".join(keys) + " |")
            lines.append("|" + "---|" * len(keys))
            for row in rows:
                lines.append("| " + " | ".join(_cell(row[k]) for k in keys) + " |")
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value).replace("|", "/")


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="*", default=None)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument(
        "--render", action="store_true", help="only rewrite resolve.md from resolve.json"
    )
    args = parser.parse_args(argv)
    if args.render:
        saved = json.loads((args.results / "resolve.json").read_text())
        (args.results / "resolve.md").write_text(_markdown(saved["cases"]))
        return list(saved["cases"])
    results = []
    with tempfile.TemporaryDirectory(prefix="lens-resolve-") as tmp:
        work = Path(tmp)
        cases = _cases(args.people, work)
        chosen = args.cases or list(cases)
        if "generated" in chosen:
            from customerlens.synth import generate_shop

            generate_shop(args.people, work / "shop", seed=42)
        for name in chosen:
            sources, truth = cases[name]
            print(f"== {name}", flush=True)
            results.append(run_case(name, sources, truth, work))
            print(_markdown(results[-1:]), flush=True)
            _save(args.results, args.people, results)
    return results


def _save(folder: Path, people: int, results: list[dict[str, Any]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "people": people, "cases": results}
    (folder / "resolve.json").write_text(json.dumps(stamp, indent=2, default=str) + "\n")
    (folder / "resolve.md").write_text(_markdown(results))


if __name__ == "__main__":
    main()
