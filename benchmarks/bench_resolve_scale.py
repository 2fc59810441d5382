"""Resolution at scale: a generated shop of N people, end to end, time per stage and peak memory.

    python benchmarks/bench_resolve_scale.py --people 1000000
    python benchmarks/bench_resolve_scale.py --people 100000 --shop /tmp/shop100k   # reuse files

Runs generate (unless --shop holds one), ingest and resolve in a child process so its peak RSS is
its own, then evaluates against truth.csv. Results: benchmarks/results/resolve_scale_<N>.json/md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from customerlens.config import ResolveOptions, SourceConfig
from customerlens.ingest import ingest
from customerlens.resolve.pipeline import resolve
from customerlens.warehouse import DuckDBWarehouse
shop, out = Path(sys.argv[1]), Path(sys.argv[2])
options = ResolveOptions(**json.loads(sys.argv[3]))
timings = {}
started = time.perf_counter()
with DuckDBWarehouse(out) as wh:
    ingest(wh, {r: SourceConfig(path=shop / f"{r}.csv")
                for r in ("accounts", "crm", "transactions")})
    timings["ingest"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    t0 = time.perf_counter()
    def step(message):
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{time.perf_counter() - t0:8.1f}s  peak {rss:8.0f} MB  {message}",
              file=sys.stderr, flush=True)
    report = resolve(wh, options, export_dir=out, on_step=step)
    timings["resolve"] = round(time.perf_counter() - started, 1)
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"timings": timings, "resolve_stages": report.timings,
                  "model": report.metrics.get("model"), "records": report.records,
                  "customers": report.customers, "peak_mb": round(peak_mb),
                  "blocking_recall_estimate": report.metrics.get("blocking_recall_estimate"),
                  "blocking_recall_basis_pairs":
                      report.metrics.get("blocking_recall_basis_pairs")}))
"""


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--shop", type=Path, default=None)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument(
        "--options", default="{}", help="ResolveOptions as JSON, e.g. '{\"cannot_link\": 0.05}'"
    )
    parser.add_argument("--name", default=None, help="results file name (default by size)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lens-scale-") as tmp:
        work = Path(tmp)
        shop = args.shop or work / "shop"
        generated = None
        if not (shop / "truth.csv").exists():
            from customerlens.synth import generate_shop

            started = time.perf_counter()
            generate_shop(args.people, shop, seed=42)
            generated = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        name = args.name or f"resolve_scale_{args.people}"
        log = args.results / f"{name}.log"
        args.results.mkdir(parents=True, exist_ok=True)
        with log.open("w") as stderr:
            done = subprocess.run(
                [sys.executable, "-c", _CHILD, str(shop), str(work / "out"), args.options],
                check=True,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["wall_seconds"] = round(time.perf_counter() - started, 1)
        result["generate_seconds"] = generated
        from customerlens.resolve.evaluate import evaluate_files

        result["quality"] = evaluate_files(shop / "truth.csv", work / "out" / "record_customer.csv")
    result["people"] = args.people
    result["when"] = time.strftime("%Y-%m-%d %H:%M:%S")
    args.results.mkdir(parents=True, exist_ok=True)
    result["options"] = json.loads(args.options)
    (args.results / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    q = result["quality"]
    lines = [
        f"Resolution at scale, {result['when']}: {args.people:,} generated people, "
        f"{sum(result['records'].values()):,} records, 2 cores.",
        "",
        f"- wall time ingest + resolve: {result['wall_seconds']:,} s "
        f"(ingest {result['timings']['ingest']} s, resolve {result['timings']['resolve']} s); "
        f"peak memory {result['peak_mb']:,} MB",
        f"- resolve stages (s): {result['resolve_stages']}",
        f"- model steps (s): {(result.get('model') or {}).get('timings')}",
        f"- pairwise P/R/F1 {q['pairwise']['precision']:.4f} / {q['pairwise']['recall']:.4f} / "
        f"{q['pairwise']['f1']:.4f}; B-cubed F1 {q['bcubed']['f1']:.4f}; customers "
        f"{q['predicted_customers']:,} for {q['true_customers']:,} people; "
        f"{q['records_missing']} records lost",
        f"- blocking recall, label-free estimate: {result.get('blocking_recall_estimate')} "
        f"(from {result.get('blocking_recall_basis_pairs')} confident loose matches)",
    ]
    (args.results / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return result


if __name__ == "__main__":
    main()
