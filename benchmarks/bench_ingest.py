"""Ingestion benchmark: time and peak memory, beside a plain-DuckDB baseline from the same run.

    python benchmarks/bench_ingest.py                 # Online Retail + 1,000,000 generated people
    python benchmarks/bench_ingest.py --people 20000  # a smaller shop
    python benchmarks/bench_ingest.py --repeat 5

Each measurement runs in a fresh subprocess, so its peak RSS is its own. Times are medians of
``--repeat`` runs; the baseline is DuckDB loading the same files with no parsing, checks or
canonical mapping (``CREATE TABLE AS SELECT * FROM read_csv/read_parquet``), so the ratio shows
what customerlens' validation costs on top of raw I/O on this machine, at this moment.
Results go to ``benchmarks/results/ingest.json`` and ``benchmarks/results/ingest.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
kind, out, *files = sys.argv[1:]
started = time.perf_counter()
if kind == "customerlens":
    from customerlens.config import SourceConfig
    from customerlens.ingest import ingest
    from customerlens.warehouse import DuckDBWarehouse
    with DuckDBWarehouse(out) as wh:
        report = ingest(wh, {f.split("=")[0]: SourceConfig(path=Path(f.split("=", 1)[1]))
                             for f in files})
    rows = report.rows_read
elif kind == "baseline":
    import duckdb
    con = duckdb.connect(str(Path(out) / "baseline.duckdb"))
    rows = 0
    for spec in files:
        role, path = spec.split("=", 1)
        reader = "read_parquet" if path.endswith(".parquet") else "read_csv"
        con.execute(f"CREATE OR REPLACE TABLE {role} AS SELECT * FROM {reader}('{path}')")
        rows += con.execute(f"SELECT count(*) FROM {role}").fetchall()[0][0]
    con.close()
elif kind == "generate":
    from customerlens.synth import generate_shop
    summary = generate_shop(int(files[0]), Path(out), seed=42)
    rows = summary.people
seconds = time.perf_counter() - started
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "rows": rows}))
"""


def _measure(kind: str, out: Path, files: list[str]) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, kind, str(out), *files],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _median_runs(kind: str, work: Path, files: list[str], repeat: int) -> dict[str, Any]:
    runs = []
    for i in range(repeat):
        target = work / f"{kind}-{i}"
        runs.append(_measure(kind, target, files))
    return {
        "seconds_median": round(statistics.median(r["seconds"] for r in runs), 3),
        "seconds_runs": [round(r["seconds"], 3) for r in runs],
        "peak_mb_median": round(statistics.median(r["peak_mb"] for r in runs), 1),
        "rows": runs[0]["rows"],
    }


def bench_case(name: str, files: list[str], work: Path, repeat: int) -> dict[str, Any]:
    ours = _median_runs("customerlens", work / name, files, repeat)
    base = _median_runs("baseline", work / name, files, repeat)
    return {
        "case": name,
        "customerlens": ours,
        "baseline_duckdb_plain_load": base,
        "time_ratio": round(ours["seconds_median"] / max(base["seconds_median"], 1e-9), 2),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--skip-retail", action="store_true")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": _cpus(),
        },
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "cases": [],
    }
    with tempfile.TemporaryDirectory(prefix="lens-bench-") as tmp:
        work = Path(tmp)
        retail = DATA / "online_retail" / "online_retail.parquet"
        if not args.skip_retail and retail.exists():
            results["cases"].append(
                bench_case("online_retail", [f"transactions={retail}"], work, args.repeat)
            )
        shop = work / "shop"
        gen = _measure("generate", shop, [str(args.people)])
        results["generate"] = {
            "people": args.people,
            "seconds": round(gen["seconds"], 2),
            "peak_mb": round(gen["peak_mb"], 1),
        }
        files = [f"{role}={shop / (role + '.csv')}" for role in ("accounts", "crm", "transactions")]
        results["cases"].append(
            bench_case(f"generated_{args.people}_people", files, work, max(1, args.repeat - 2))
        )
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "ingest.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.results / "ingest.md").write_text(_markdown(results))
    print(_markdown(results))
    return results


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


def _markdown(results: dict[str, Any]) -> str:
    lines = [
        f"Ingestion benchmark, {results['when']}, {results['machine']['cpus']} cores, "
        f"Python {results['machine']['python']}.",
        "",
        "| case | rows | customerlens median s | peak MB | plain DuckDB load s | ratio |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for case in results["cases"]:
        ours, base = case["customerlens"], case["baseline_duckdb_plain_load"]
        lines.append(
            f"| {case['case']} | {ours['rows']:,} | {ours['seconds_median']:.2f} | "
            f"{ours['peak_mb_median']:,.0f} | {base['seconds_median']:.2f} | "
            f"{case['time_ratio']:.2f} |"
        )
    gen = results.get("generate")
    if gen:
        lines += [
            "",
            f"Generating {gen['people']:,} people: {gen['seconds']:.1f} s, "
            f"peak {gen['peak_mb']:,.0f} MB.",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
