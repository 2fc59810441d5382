"""``customerlens run``: ingest -> resolve -> features -> models, and ``metrics.json``.

The one function the CLI (``run``, ``demo``) and tests call to take a shop's files to every
table and the metrics file.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from customerlens.config import ProjectConfig
from customerlens.engines import on_engine
from customerlens.features.pipeline import FeaturesReport, run_features
from customerlens.ingest import ingest
from customerlens.insights.pipeline import run_insights
from customerlens.models.pipeline import run_models
from customerlens.resolve.pipeline import resolve
from customerlens.warehouse import DuckDBWarehouse

METRICS_FILE = "metrics.json"


def _clean(value: Any) -> Any:
    """JSON-safe: dates as text, no NaN (a NaN in metrics is a bug to show, not to hide)."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"metric value {value} is not finite")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def run_all(
    wh: DuckDBWarehouse,
    project: ProjectConfig,
    out: Path,
    *,
    ingest_files: bool = True,
    on_step: Callable[[str], None] | None = None,
    engine: str = "duckdb",
    spark_master: str = "local[*]",
) -> dict[str, Any]:
    """Run every stage on ``project``'s sources; write ``out/metrics.json``; return it.

    Files are ingested into ``wh``; the later stages run on ``engine`` (see ``engines``).
    """
    step = on_step or (lambda _m: None)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 2)
        clock = now

    report: dict[str, Any] = {}
    if ingest_files:
        ingested = ingest(wh, project.sources, project.ingest, on_step=step)
        report["ingest"] = {"tables": ingested.tables}
        lap("ingest")
    with on_engine(wh, engine, spark_master=spark_master) as on:
        resolved = resolve(on, project.resolve, export_dir=out, on_step=step)
        report["resolution"] = {
            "records": resolved.records,
            "customers": resolved.customers,
            "merged": resolved.merged,
            "review_pairs": resolved.review_pairs,
            "tiers": resolved.tiers,
        }
        lap("resolve")
        features = run_features(on, project.features, on_step=step)
        lap("features")
        models = run_models(on, features.dates, project.features, on_step=step)
        lap("models")
        insights = run_insights(
            on,
            features.dates,
            out,
            random_state=project.features.random_state,
            rules_path=project.features.strategy_rules,
            on_step=step,
        )
        lap("segments and actions")
    return finish_metrics(out, features, {**models, **insights}, {**report, "timings": timings})


def finish_metrics(
    out: Path, features: FeaturesReport, models: dict[str, Any], extra: dict[str, Any]
) -> dict[str, Any]:
    """Assemble ``metrics.json`` (headline keys first) and write it to ``out``."""
    metrics = {
        "customers": features.metrics["customers"],
        "revenue": features.metrics["revenue"],
        **models,
        "rfm": features.metrics["rfm"],
        "dates": features.metrics["dates"],
        **extra,
    }
    metrics = _clean(metrics)
    out.mkdir(parents=True, exist_ok=True)
    (out / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics
