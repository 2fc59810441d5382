"""Resolution on Spark (local mode) beside DuckDB: time per stage and peak memory, same shop.

    CUSTOMERLENS_SPARK_DRIVER_MEMORY=8g \
        python benchmarks/bench_spark.py --people 1000000       # make bench-spark
    python benchmarks/bench_spark.py --people 20000 --shop /tmp/shop20k   # reuse files

Each engine runs in a child process (ingest on DuckDB, then resolve on the engine, results
copied back); peak memory is the largest resident set of the child's whole process tree,
sampled every 0.5 s (Spark's JVM is a child of the Python process). Both results are scored
against truth.csv and against each other. Results: benchmarks/results/spark_<N>.json/md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

_CHILD = r"""
import json, sys, time
from pathlib import Path
from customerlens.config import SourceConfig
from customerlens.engines import on_engine
from customerlens.ingest import ingest
from customerlens.resolve.pipeline import resolve
from customerlens.warehouse import DuckDBWarehouse
shop, out, engine, master = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
timings = {}
clock = time.perf_counter()
def lap(name):
    global clock
    now = time.perf_counter()
    timings[name] = round(now - clock, 1)
    clock = now
with DuckDBWarehouse(out) as wh:
    ingest(wh, {r: SourceConfig(path=shop / f"{r}.csv")
                for r in ("accounts", "crm", "transactions")})
    lap("ingest (DuckDB)")
    with on_engine(wh, engine, spark_master=master) as on:
        lap("start engine, copy tables in")
        report = resolve(on, export_dir=out)
        lap("resolve")
    lap("copy results back")
print(json.dumps({"timings": timings, "resolve_steps": report.timings,
                  "customers": report.customers}))
"""


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += children.get(p, [])
    return total


def run_engine(shop: Path, out: Path, engine: str, master: str) -> dict[str, object]:
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    # the child's output goes to a file: a pipe read only at the end fills up (progress
    # output at a million people) and blocks the child for good
    log = out / "bench_child.log"
    with log.open("w") as sink:
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(shop), str(out), engine, master],
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
        peak = 0
        while child.poll() is None:
            peak = max(peak, _tree_rss(child.pid))
            time.sleep(0.5)
    output = log.read_text()
    if child.returncode != 0:
        raise SystemExit(f"{engine} failed ({child.returncode}): {output[-2000:]}")
    result = json.loads([x for x in output.splitlines() if x.startswith('{"timings"')][-1])
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["peak_mb"] = round(peak / 2**20)
    return result


def evaluate(truth: Path, pred: Path) -> dict[str, object]:
    from customerlens.resolve.evaluate import evaluate_files

    return evaluate_files(truth, pred)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--shop", type=Path, help="reuse a generated shop in this folder")
    parser.add_argument("--master", default="local[*]")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_spark_"))
    shop = args.shop or work / "shop"
    if not (shop / "truth.csv").exists():
        from customerlens.synth import generate_shop

        generate_shop(args.people, shop, seed=42)
    results: dict[str, dict[str, object]] = {}
    for engine in ("duckdb", "spark"):
        out = work / engine
        results[engine] = run_engine(shop, out, engine, args.master)
        results[engine]["vs_truth"] = evaluate(shop / "truth.csv", out / "record_customer.csv")
        print(engine, json.dumps({k: v for k, v in results[engine].items() if k != "vs_truth"}))
    lines = (work / "duckdb" / "record_customer.csv").read_text().splitlines()
    as_truth = work / "duckdb_as_truth.csv"
    as_truth.write_text("\n".join([lines[0].replace("customer_id", "person_id"), *lines[1:]]))
    between = evaluate(as_truth, work / "spark" / "record_customer.csv")
    RESULTS.mkdir(exist_ok=True)
    name = f"spark_{args.people}"
    payload = {"people": args.people, "master": args.master, "engines": results,
               "spark_vs_duckdb": between, "cores": os.cpu_count(),
               "driver_memory": os.environ.get("CUSTOMERLENS_SPARK_DRIVER_MEMORY", "4g"),
               "load_average": os.getloadavg()}  # fmt: skip
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2, default=str))
    (RESULTS / f"{name}.md").write_text(report(payload))
    print(f"Wrote {RESULTS / name}.md")


def report(p: dict) -> str:  # type: ignore[type-arg]
    d, s = p["engines"]["duckdb"], p["engines"]["spark"]
    stages = list(dict.fromkeys([*d["timings"], *s["timings"]]))
    steps = list(dict.fromkeys([*d["resolve_steps"], *s["resolve_steps"]]))
    rows = [
        f"# Resolution on Spark (local mode) beside DuckDB: {p['people']:,} people",
        "",
        f"Machine: {p['cores']} cores, {platform.platform()}; Spark master `{p['master']}`, "
        f"driver memory {p.get('driver_memory', '4g')}; "
        f"load average at the end {p['load_average'][0]:.1f}. One run per engine, one after "
        "the other, in child processes; peak memory is the child's whole process tree "
        "(Python, and Spark's JVM).",
        "",
        "| | DuckDB | Spark |",
        "|---|---:|---:|",
        *[f"| {k} s | {d['timings'].get(k, '')} | {s['timings'].get(k, '')} |" for k in stages],
        *[
            f"| resolve: {k} s | {d['resolve_steps'].get(k, '')} | "
            f"{s['resolve_steps'].get(k, '')} |"
            for k in steps
        ],
        f"| total s | {d['seconds']} | {s['seconds']} |",
        f"| peak memory MB | {d['peak_mb']:,} | {s['peak_mb']:,} |",
        f"| customers | {d['customers']:,} | {s['customers']:,} |",
        f"| pairwise F1 vs truth | {d['vs_truth']['pairwise']['f1']} | "
        f"{s['vs_truth']['pairwise']['f1']} |",
        f"| B-cubed F1 vs truth | {d['vs_truth']['bcubed']['f1']} | "
        f"{s['vs_truth']['bcubed']['f1']} |",
        "",
        f"Spark against DuckDB (DuckDB's clustering as the truth): pairwise F1 "
        f"{p['spark_vs_duckdb']['pairwise']['f1']}, B-cubed F1 "
        f"{p['spark_vs_duckdb']['bcubed']['f1']}.",
        "",
        "Reproduce: `make bench-spark` (1,000,000 people, driver memory 8g) or "
        f"`CUSTOMERLENS_SPARK_DRIVER_MEMORY={p.get('driver_memory', '4g')} "
        f".venv/bin/python benchmarks/bench_spark.py --people {p['people']}`.",
        "",
    ]
    return "\n".join(rows)


if __name__ == "__main__":
    main()
