"""Features + models at scale: `customerlens run`'s later stages on a generated shop of N people.

    python benchmarks/bench_run.py --people 100000            # also the pandas RFM baseline
    python benchmarks/bench_run.py --people 1000000 --no-pandas
    python benchmarks/bench_run.py --people 1000000 --shop DIR   # reuse generated files

Three child processes, so each peak RSS is its own: (1) ingest + resolve, (2) features + models
(the figure issue 4 sets a bar on: time and peak memory), (3) the same RFM features (recency,
frequency, monetary per customer) computed with pandas alone from the ``sales`` table, beside
customerlens' SQL for them, in the same process — reported as a ratio. Results:
benchmarks/results/run_<N>.json and .md.
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

_RESOLVE = r"""
import json, resource, sys, time
from pathlib import Path
from customerlens.config import SourceConfig
from customerlens.ingest import ingest
from customerlens.resolve.pipeline import resolve
from customerlens.warehouse import DuckDBWarehouse
shop, out = Path(sys.argv[1]), Path(sys.argv[2])
started = time.perf_counter()
with DuckDBWarehouse(out) as wh:
    ingest(wh, {r: SourceConfig(path=shop / f"{r}.csv")
                for r in ("accounts", "crm", "transactions")})
    report = resolve(wh)
    lines = wh.row_count("transactions")
Path(sys.argv[-1]).write_text(json.dumps({
                  "seconds": round(time.perf_counter() - started, 1),
                  "customers": report.customers,
                  "transaction_lines": lines,
                  "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""

_MODELS = r"""
import json, resource, sys, time
from pathlib import Path
from customerlens.config import FeatureOptions
from customerlens.features.pipeline import run_features
from customerlens.models.pipeline import run_models
from customerlens.insights.pipeline import run_insights
from customerlens.warehouse import DuckDBWarehouse
out = Path(sys.argv[1])
timings = {}
t0 = time.perf_counter()
def step(message):
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{time.perf_counter() - t0:8.1f}s  peak {rss:8.0f} MB  {message}", file=sys.stderr,
          flush=True)
with DuckDBWarehouse(out) as wh:
    started = time.perf_counter()
    features = run_features(wh, FeatureOptions(), on_step=step)
    timings["features"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    models = run_models(wh, features.dates, FeatureOptions(), on_step=step)
    timings["models"] = round(time.perf_counter() - started, 1)
    peak_models = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    started = time.perf_counter()
    insights = run_insights(wh, features.dates, out, on_step=step)
    timings["segments_actions"] = round(time.perf_counter() - started, 1)
churn = {k: v for k, v in models["churn"].items() if k != "reliability"}
Path(sys.argv[-1]).write_text(json.dumps({
                  "timings": timings, "customers": features.metrics["customers"],
                  "churn": churn, "value": models["value"], "clv": models["clv"],
                  "peak_mb_features_models": peak_models,
                  "segments": {k: insights["segments"][k] for k in
                               ("k", "stability", "names", "agreement")},
                  "recommendations": insights["recommendations"],
                  "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""

_PANDAS = r"""
import json, statistics, sys, time
from pathlib import Path
import pandas as pd
from customerlens.features.customer import features_sql
from customerlens.warehouse import DuckDBWarehouse
out = Path(sys.argv[1])

def with_pandas(sales, cutoff):
    # the same definitions as features/customer.py: product lines with a customer up to the
    # cutoff; orders are sessions, purchases are orders worth more than zero
    lines = sales[(sales["kind"] == "product") & sales["customer_id"].notna()
                  & (sales["day"] <= cutoff)]
    orders = lines.groupby(["customer_id", "order_id"]).agg(day=("day", "min"),
                                                            value=("amount", "sum"))
    purchases = orders[orders["value"] > 0].reset_index()
    per = purchases.groupby("customer_id").agg(last=("day", "max"), orders=("order_id", "size"))
    spend = lines.groupby("customer_id")["amount"].sum().rename("net_spend")
    rfm = per.join(spend, how="right")
    rfm["recency_days"] = (cutoff - rfm["last"]).dt.days
    return rfm

with DuckDBWarehouse(out, read_only=True) as wh:
    cutoff = wh.scalar("SELECT max(day) FROM sales")
    sql = ("SELECT customer_id, recency_days, orders, net_spend FROM ("
           + features_sql(cutoff) + ")")
    sql_times, pandas_times = [], []
    for _ in range(3):
        started = time.perf_counter()
        ours = wh.query_df(sql)
        sql_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        sales = wh.query_df("SELECT customer_id, order_id, day, kind, amount FROM sales")
        sales["day"] = pd.to_datetime(sales["day"])
        theirs = with_pandas(sales, pd.Timestamp(cutoff))
        pandas_times.append(time.perf_counter() - started)
    merged = ours.set_index("customer_id").join(theirs, rsuffix="_pd")
    same = bool((merged["orders"].fillna(0) == merged["orders_pd"].fillna(0)).all()
                and ((merged["net_spend"] - merged["net_spend_pd"]).abs() < 1e-6).all())
    lines = wh.row_count("sales")
Path(sys.argv[-1]).write_text(json.dumps({"sales_lines": lines, "customers": len(ours),
                  "sql_seconds": round(statistics.median(sql_times), 3),
                  "pandas_seconds": round(statistics.median(pandas_times), 3),
                  "same_result": same}))
"""


def _child(code: str, *args: str, log: Path) -> dict[str, object]:
    """Run ``code`` in a fresh process; it writes its JSON result to the file given last."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        result = Path(handle.name)
    with log.open("a") as err:
        subprocess.run(
            [sys.executable, "-c", code, *args, str(result)], check=True, stdout=err, stderr=err
        )
    try:
        return dict(json.loads(result.read_text()))
    finally:
        result.unlink()


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--shop", type=Path, default=None)
    parser.add_argument("--no-pandas", action="store_true")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    args.results.mkdir(parents=True, exist_ok=True)
    log = args.results / f"run_{args.people}.log"
    log.write_text("")
    result: dict[str, object] = {"people": args.people, "when": time.strftime("%Y-%m-%d %H:%M")}
    with tempfile.TemporaryDirectory(prefix="lens-run-") as tmp:
        shop = args.shop or Path(tmp) / "shop"
        if args.shop is None:
            from customerlens.synth import generate_shop

            started = time.perf_counter()
            generate_shop(args.people, shop, seed=42)
            result["generate_seconds"] = round(time.perf_counter() - started, 1)
        out = Path(tmp) / "out"
        result["ingest_resolve"] = _child(_RESOLVE, str(shop), str(out), log=log)
        print(result, flush=True)
        result["features_models"] = _child(_MODELS, str(out), log=log)
        print(result, flush=True)
        if not args.no_pandas:
            result["rfm_pandas_vs_sql"] = _child(_PANDAS, str(out), log=log)
    (args.results / f"run_{args.people}.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.results / f"run_{args.people}.md").write_text(_markdown(result))
    print(_markdown(result))
    return result


def _markdown(r: dict[str, object]) -> str:
    fm = r["features_models"]
    ir = r["ingest_resolve"]
    assert isinstance(fm, dict) and isinstance(ir, dict)
    lines = [
        f"# Features + models on a generated shop of {r['people']:,} people",
        "",
        f"Run {r['when']} by `benchmarks/bench_run.py --people {r['people']}` (2 cores).",
        "",
        "| stage | time | peak RSS |",
        "|---|---:|---:|",
        f"| ingest + resolve ({ir['transaction_lines']:,} transaction lines, "
        f"{ir['customers']:,} customers) | {ir['seconds']} s | {ir['peak_mb']:,} MB |",
        f"| features ({fm['customers']:,} buying customers) | {fm['timings']['features']} s | |",
        f"| models (CLV x7 fits, churn, value) | {fm['timings']['models']} s | "
        f"{fm['peak_mb_features_models']:,} MB (features + models) |",
        f"| segments, look-alikes, recommendations, anomalies, actions | "
        f"{fm['timings']['segments_actions']} s | {fm['peak_mb']:,} MB (whole process) |",
        "",
        f"Churn out of time: AUC {fm['churn']['auc']}, PR-AUC {fm['churn']['pr_auc']}, "
        f"Brier {fm['churn']['brier']}; recency-only AUC {fm['churn']['baseline_recency_auc']}, "
        f"CLV P(no purchase) AUC {fm['churn']['clv_model_auc']}.",
        "",
        f"Segments: k = {fm['segments']['k']}, bootstrap stability "
        f"{fm['segments']['stability']}, sizes {fm['segments']['names']}.",
        f"Recommendations (holdout): {fm['recommendations']}.",
    ]
    rp = r.get("rfm_pandas_vs_sql")
    if isinstance(rp, dict):
        ratio = rp["pandas_seconds"] / max(rp["sql_seconds"], 1e-9)
        lines += [
            "",
            f"RFM features ({rp['sales_lines']:,} sales lines, {rp['customers']:,} customers), "
            f"median of 3: customerlens SQL {rp['sql_seconds']} s, pandas alone "
            f"{rp['pandas_seconds']} s (ratio {ratio:.1f}x); same result: {rp['same_result']}.",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
