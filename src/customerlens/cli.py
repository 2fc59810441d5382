"""The ``customerlens`` command line: parses, shows progress, calls the pipeline.

User errors (:class:`~customerlens.errors.CustomerLensError`) are printed as one clear message
with a non-zero exit code and no traceback.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pandas as pd
import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from customerlens import __version__
from customerlens.config import ProjectConfig, Settings, SourceConfig, load_config
from customerlens.engines import check_engine, on_engine
from customerlens.errors import ConfigError, CustomerLensError
from customerlens.ingest import IngestReport, ingest
from customerlens.resolve.explain import explain_pair
from customerlens.resolve.labels import import_labels_file, record_decision
from customerlens.resolve.pipeline import ResolveReport
from customerlens.resolve.pipeline import resolve as resolve_stage
from customerlens.warehouse import open_warehouse

app = typer.Typer(
    name="customerlens",
    help="Resolve, understand and act on an online shop's customers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold customers' personal data
)
console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

FileOpt = Annotated[Path | None, typer.Option(dir_okay=False, show_default=False)]
OutOpt = Annotated[Path, typer.Option("--out", help="Folder for lens.duckdb and exports.")]


def _handle_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CustomerLensError as exc:
            err_console.print("[bold red]error:[/] ", end="")
            err_console.print(str(exc), markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False)],
    )
    if version:
        console.print(f"customerlens {__version__}")
        raise typer.Exit()


@contextmanager
def _steps(title: str) -> Iterator[Callable[[str], None]]:
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task(title)
        yield lambda message: progress.update(task, description=f"{title}: {message}")


def _parse_pairs(values: list[str] | None, option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values or []:
        role, sep, rest = value.partition("=")
        if not sep:
            raise ConfigError(
                f"{option} takes ROLE=VALUE (e.g. transactions=whitespace), got {value!r}."
            )
        pairs[role.strip()] = rest.strip()
    return pairs


def _sources(
    accounts: Path | None,
    crm: Path | None,
    transactions: Path | None,
    config: Path | None,
    formats: list[str] | None = None,
    columns: list[str] | None = None,
) -> ProjectConfig:
    project = load_config(config) if config else ProjectConfig()
    given = {"accounts": accounts, "crm": crm, "transactions": transactions}
    for role, path in given.items():
        if path is not None:
            project.sources[role] = SourceConfig(path=path)
    for role, fmt in _parse_pairs(formats, "--format").items():
        if role not in project.sources:
            raise ConfigError(f"--format names {role!r}, but no {role} file is given.")
        if fmt not in ("auto", "csv", "parquet", "whitespace"):
            raise ConfigError(
                f"--format {role}={fmt}: the format must be csv, parquet, whitespace or auto."
            )
        project.sources[role].format = fmt  # type: ignore[assignment]
    for role, names in _parse_pairs(columns, "--columns").items():
        if role not in project.sources:
            raise ConfigError(f"--columns names {role!r}, but no {role} file is given.")
        project.sources[role].column_names = [n.strip() for n in names.split(",")]
        project.sources[role].header = False
    if not project.sources:
        raise ConfigError(
            "Give at least one source: --accounts FILE, --crm FILE, --transactions FILE, "
            "or --config customerlens.toml."
        )
    return project


def _print_ingest(report: IngestReport, out: Path) -> None:
    table = Table(title=f"Ingested into {out}", title_justify="left")
    for col in ("source", "file", "rows read", "loaded", "rejected", "seconds"):
        table.add_column(col, justify="right" if col not in ("source", "file") else "left")
    for role, s in report.sources.items():
        table.add_row(
            role,
            Path(s.path).name,
            f"{s.rows_read:,}",
            f"{s.rows_loaded:,}",
            f"{s.rows_rejected:,}",
            f"{s.seconds:.1f}",
        )
    console.print(table)
    reasons = [
        (role, kind, n) for role, s in report.sources.items() for kind, n in s.rejected.items()
    ]
    if reasons:
        why = Table(title="Rejected rows (see table `rejected`)", title_justify="left")
        for col in ("source", "reason", "rows"):
            why.add_column(col)
        for role, kind, n in sorted(reasons, key=lambda r: -r[2]):
            why.add_row(role, kind, f"{n:,}")
        console.print(why)
    for warning in report.warnings:
        console.print("[yellow]warning:[/] ", end="")
        console.print(warning, markup=False, highlight=False)
    extra = {k: v for k, v in report.tables.items() if k not in report.sources}
    console.print(
        "Tables: "
        + ", ".join(f"{k} ({v:,})" for k, v in extra.items())
        + f".  Total {report.seconds:.1f} s.",
        highlight=False,
    )


@app.command("ingest")
@_handle_errors
def ingest_cmd(
    out: OutOpt,
    accounts: FileOpt = None,
    crm: FileOpt = None,
    transactions: FileOpt = None,
    config: Annotated[Path | None, typer.Option(help="customerlens.toml")] = None,
    format: Annotated[
        list[str] | None,
        typer.Option("--format", help="ROLE=csv|parquet|whitespace, e.g. transactions=whitespace"),
    ] = None,
    columns: Annotated[
        list[str] | None,
        typer.Option("--columns", help="ROLE=a,b,c: names for a file without a header row"),
    ] = None,
) -> None:
    """Read the shop's files into canonical tables in OUT/lens.duckdb."""
    project = _sources(accounts, crm, transactions, config, format, columns)
    with open_warehouse(out, settings=Settings()) as wh, _steps("ingest") as step:
        report = ingest(wh, project.sources, project.ingest, on_step=step)
    _print_ingest(report, out)


@app.command()
@_handle_errors
def generate(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the generated CSV files (created if missing).")
    ],
    people: Annotated[int, typer.Option(min=1, help="How many people the shop has.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 42,
    difficulty: Annotated[str, typer.Option(help="easy | default | hard")] = "default",
) -> None:
    """Generate a synthetic shop: accounts.csv, crm.csv, transactions.csv and truth.csv."""
    _generate(out, people, seed, difficulty)


def _generate(out: Path, people: int, seed: int, difficulty: str) -> dict[str, Path]:
    from customerlens.synth import generate_shop

    with Progress(
        TextColumn("[bold]generate"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} people"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task("generate", total=people)
        try:
            summary = generate_shop(
                people,
                out,
                seed=seed,
                difficulty=difficulty,
                progress=lambda done, total: progress.update(task, completed=done),
            )
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
    console.print(
        f"Generated {summary.people:,} people in {summary.seconds:.1f} s: "
        f"{summary.accounts:,} accounts, {summary.crm:,} CRM entries, "
        f"{summary.transactions:,} transaction lines ({summary.guest_sessions:,} guest sessions) "
        f"in {out}",
        highlight=False,
    )
    return dict(summary.files)


@app.command()
@_handle_errors
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo shop.")] = Path("demo"),
    people: Annotated[int, typer.Option(min=1)] = 20_000,
    seed: int = 42,
) -> None:
    """The one-command tour: generate a shop, then ingest, resolve, features, models and the
    report (OUT/report.html)."""
    from customerlens.features.pipeline import run_features
    from customerlens.insights.pipeline import run_insights
    from customerlens.models.pipeline import run_models
    from customerlens.report import write_report
    from customerlens.runner import METRICS_FILE, finish_metrics

    started = time.perf_counter()
    files = _generate(out / "data", people, seed, "default")
    sources = {role: SourceConfig(path=files[role]) for role in ("accounts", "crm", "transactions")}
    project = ProjectConfig(sources=sources)
    with open_warehouse(out, settings=Settings()) as wh:
        with _steps("ingest") as step:
            report = ingest(wh, sources, on_step=step)
        _print_ingest(report, out / "lens.duckdb")
        resolve_started = time.perf_counter()
        with _steps("resolve") as step:
            resolved = resolve_stage(wh, export_dir=out, on_step=step)
        _print_resolve(resolved, time.perf_counter() - resolve_started)
        run_started = time.perf_counter()
        with _steps("features and models") as step:
            features = run_features(wh, project.features, on_step=step)
            models = run_models(wh, features.dates, project.features, on_step=step)
            models |= run_insights(wh, features.dates, out, on_step=step)
        metrics = finish_metrics(out, features, models, {})
        _print_run(metrics, time.perf_counter() - run_started)
        console.print(f"Wrote {out / METRICS_FILE}", highlight=False)
        written = write_report(out, wh)
    from customerlens.resolve.evaluate import evaluate_files

    quality = evaluate_files(out / "data" / "truth.csv", out / "record_customer.csv")
    console.print(
        f"Against the generator's truth: pairwise F1 {quality['pairwise']['f1']:.4f}, "
        f"B-cubed F1 {quality['bcubed']['f1']:.4f}, {quality['predicted_customers']:,} "
        f"customers found for {quality['true_customers']:,} people, "
        f"{quality['records_missing']} records lost.",
        highlight=False,
    )
    console.print(
        f"[bold green]demo finished[/] in {time.perf_counter() - started:.1f} s; "
        f"warehouse: {out / 'lens.duckdb'}; open the report: {written.html}",
        highlight=False,
    )


def _print_resolve(report: ResolveReport, seconds: float) -> None:
    table = Table(title="Identity resolution", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    for source, n in report.records.items():
        table.add_row(f"records: {source}", f"{n:,}")
    table.add_row("customers found", f"{report.customers:,}")
    table.add_row("duplicates merged", f"{report.merged:,}")
    table.add_row("pairs sent to review", f"{report.review_pairs:,}")
    table.add_row("records per tier", ", ".join(f"{k} {v:,}" for k, v in report.tiers.items()))
    if report.no_identity:
        table.add_row("records with no identifying field", f"{report.no_identity:,}")
    recall = report.metrics.get("blocking_recall_estimate")
    if recall is not None:
        table.add_row("blocking recall (estimate)", f"{recall:.3f}")
    hybrid = report.metrics.get("hybrid")
    if hybrid:
        table.add_row("hybrid re-scoring", _hybrid_line(hybrid))
    table.add_row("customer ids", ", ".join(f"{k} {v:,}" for k, v in report.id_changes.items()))
    table.add_row(
        "time",
        f"{seconds:.1f} s (" + ", ".join(f"{k} {v:.1f}" for k, v in report.timings.items()) + ")",
    )
    console.print(table)


def _hybrid_line(hybrid: dict[str, Any]) -> str:
    if "skipped" in hybrid:
        return f"skipped: {hybrid['skipped']}"
    oof = hybrid["out_of_fold"]
    return (
        f"{hybrid['labelled_pairs_scored']:,} labelled pairs, {hybrid['pairs_rescored']:,} "
        f"re-scored; out-of-fold AUC {oof['hybrid_auc']:.3f} (Splink {oof['splink_auc']:.3f}), "
        f"Brier {oof['hybrid_brier']:.3f} (Splink {oof['splink_brier']:.3f})"
    )


EngineOpt = Annotated[
    str,
    typer.Option(help="duckdb (embedded, default) or spark (pip install 'customerlens[spark]')"),
]
SparkMasterOpt = Annotated[
    str, typer.Option(help="Spark master URL for --engine spark (local[*]: this machine)")
]


@app.command()
@_handle_errors
def resolve(
    out: OutOpt,
    accounts: FileOpt = None,
    crm: FileOpt = None,
    transactions: FileOpt = None,
    config: Annotated[Path | None, typer.Option(help="customerlens.toml")] = None,
    labels: Annotated[
        Path | None,
        typer.Option(help="CSV of decided pairs: unique_id_l, unique_id_r, label"),
    ] = None,
    engine: EngineOpt = "duckdb",
    spark_master: SparkMasterOpt = "local[*]",
) -> None:
    """Resolve identities into customers: OUT/lens.duckdb tables and OUT/record_customer.csv.

    With source files, ingests them first; without, resolves what OUT/lens.duckdb holds.
    With --engine spark, resolution runs on Spark (tables under OUT/spark/, copied back).
    """
    check_engine(engine)
    started = time.perf_counter()
    given = any(p is not None for p in (accounts, crm, transactions)) or config is not None
    project = _sources(accounts, crm, transactions, config) if given else ProjectConfig()
    with open_warehouse(out, settings=Settings()) as wh:
        if given:
            with _steps("ingest") as step:
                ingest_report = ingest(wh, project.sources, project.ingest, on_step=step)
            _print_ingest(ingest_report, out)
        if labels is not None:
            console.print(f"Imported {import_labels_file(wh, labels):,} labelled pairs.")
        with _steps("resolve") as step, on_engine(wh, engine, spark_master=spark_master) as on:
            report = resolve_stage(on, project.resolve, export_dir=out, on_step=step)
    _print_resolve(report, time.perf_counter() - started)
    console.print(f"Wrote {out / 'record_customer.csv'}", highlight=False)


@app.command("run")
@_handle_errors
def run_cmd(
    out: OutOpt,
    transactions: FileOpt = None,
    accounts: FileOpt = None,
    crm: FileOpt = None,
    config: Annotated[Path | None, typer.Option(help="customerlens.toml")] = None,
    cutoff: Annotated[
        str | None,
        typer.Option(help="Evaluation cutoff YYYY-MM-DD (default: last day minus the horizon)"),
    ] = None,
    horizon_days: Annotated[int | None, typer.Option(min=1, help="Churn / value horizon")] = None,
    time_unit: Annotated[str | None, typer.Option(help="CLV time unit: day or week")] = None,
    clv_model: Annotated[str | None, typer.Option(help="bg_nbd or pareto_nbd")] = None,
    clv_method: Annotated[str | None, typer.Option(help="map (default) or mcmc")] = None,
    engine: EngineOpt = "duckdb",
    spark_master: SparkMasterOpt = "local[*]",
) -> None:
    """Everything: ingest, resolve, features, CLV, churn; tables in OUT/lens.duckdb,
    OUT/metrics.json and the report OUT/report.html."""
    import datetime as dt

    from customerlens.report import write_report
    from customerlens.runner import METRICS_FILE, run_all

    check_engine(engine)
    started = time.perf_counter()
    project = _sources(accounts, crm, transactions, config)
    if "transactions" not in project.sources:
        raise ConfigError("`run` needs --transactions FILE (or [sources.transactions]).")
    changes: dict[str, Any] = {
        "horizon_days": horizon_days,
        "time_unit": time_unit,
        "clv_model": clv_model,
        "clv_method": clv_method,
    }
    if cutoff is not None:
        try:
            changes["cutoff"] = dt.date.fromisoformat(cutoff)
        except ValueError as exc:
            raise ConfigError(f"--cutoff {cutoff!r} is not a date like 2011-09-30.") from exc
    try:
        project.features = project.features.model_validate(
            {**project.features.model_dump(), **{k: v for k, v in changes.items() if v is not None}}
        )
    except ValueError as exc:
        raise ConfigError(f"bad option: {exc}") from exc
    with open_warehouse(out, settings=Settings()) as wh, _steps("run") as step:
        metrics = run_all(wh, project, out, on_step=step, engine=engine, spark_master=spark_master)
        step("report")
        written = write_report(out, wh)
    _print_run(metrics, time.perf_counter() - started)
    console.print(f"Wrote {out / METRICS_FILE}", highlight=False)
    console.print(f"Wrote {written.html}", highlight=False)


def _print_run(metrics: dict[str, Any], seconds: float) -> None:
    revenue, churn, clv = metrics["revenue"], metrics["churn"], metrics["clv"]
    table = Table(title="Customers, value and risk", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    rows = [
        ("customers", f"{metrics['customers']:,}"),
        ("net revenue (products)", f"{revenue['total']:,.2f}"),
        ("non-product lines (postage, fees...)", f"{revenue['non_product']:,.2f}"),
        ("untracked revenue", f"{revenue['untracked']:,.2f} ({revenue['untracked_share']:.1%})"),
        ("recovered by resolution", f"{revenue['recovered_by_resolution']:,.2f}"),
        (
            f"CLV {clv['model']} ({clv['time_unit']})",
            ", ".join(f"{k} {v:.4g}" for k, v in clv["params"].items()),
        ),
        (
            "CLV holdout purchases",
            f"predicted {clv['holdout']['predicted']:,.0f}, actual {clv['holdout']['actual']:,.0f}",
        ),
        (
            f"churn ({churn['horizon_days']} days after {churn['cutoff']})",
            f"AUC {churn['auc']:.3f}, PR-AUC {churn['pr_auc']:.3f}, Brier {churn['brier']:.3f}",
        ),
        (
            "churn baselines (AUC)",
            f"recency {churn['baseline_recency_auc']:.3f}, CLV model {churn['clv_model_auc']:.3f}",
        ),
    ]
    segments = metrics.get("segments")
    if segments:
        rows.append(
            (
                f"segments (k = {segments['k']}, stability {segments['stability']['mean']:.2f})",
                ", ".join(f"{name} {n:,}" for name, n in segments["names"].items()),
            )
        )
        recs = {
            m["method"]: m for m in metrics["recommendations"].get("methods", []) if "method" in m
        }
        if recs:
            rows.append(
                (
                    "recommendations precision@10",
                    ", ".join(f"{k} {m['precision_at_n']:.3f}" for k, m in recs.items()),
                )
            )
        rows.append(
            (
                "value at risk (top 100 customers)",
                f"{metrics['actions']['value_at_risk_top_100']:,.2f}",
            )
        )
    rows.append(("time", f"{seconds:.1f} s"))
    for row in rows:
        table.add_row(*row)
    console.print(table)


@app.command()
@_handle_errors
def report(
    directory: Annotated[
        Path, typer.Argument(help="Folder holding lens.duckdb (the --out of run or resolve)")
    ],
    pdf: Annotated[
        bool, typer.Option("--pdf", help="Also write DIR/report.pdf: headline page and plots.")
    ] = False,
) -> None:
    """Write DIR/report.html: headline numbers, plots and tables in one self-contained file.

    Sections the warehouse has no tables for yet are left out, with the command that computes
    them.
    """
    from customerlens.report import write_report

    folder = directory.parent if directory.suffix == ".duckdb" else directory
    if not (folder / "lens.duckdb").exists():
        raise ConfigError(
            f"No warehouse in {folder}: run `customerlens run --transactions FILE --out {folder}` "
            "(or `customerlens resolve`) first."
        )
    with _steps("report"):
        written = write_report(folder, pdf=pdf)
    if written.missing:
        console.print(
            f"Left out (not computed yet): {', '.join(written.missing)}; the report says which "
            "command computes them.",
            highlight=False,
        )
    if written.pdf is not None:
        console.print(f"Wrote {written.pdf}", highlight=False)
    console.print(f"Wrote {written.html}", highlight=False)


@app.command()
@_handle_errors
def lookalike(
    customer_id: Annotated[str, typer.Argument(help="The customer to find look-alikes of")],
    out: OutOpt,
    limit: Annotated[int, typer.Option(min=1, max=10)] = 10,
) -> None:
    """Customers most like CUSTOMER_ID (cosine similarity of scaled behaviour), from `run`."""
    if not (out / "lens.duckdb").exists():
        raise ConfigError(f"No warehouse in {out}: run `customerlens run` first.")
    with open_warehouse(out, settings=Settings(), read_only=True) as wh:
        if not wh.has_table("lookalikes"):
            raise ConfigError(f"{out} has no look-alikes yet: run `customerlens run` first.")
        rows = wh.query_df(
            "SELECT l.rank, l.lookalike_id, l.similarity, s.segment_name "
            "FROM lookalikes l LEFT JOIN segments s ON s.customer_id = l.lookalike_id "
            "WHERE l.customer_id = ? ORDER BY l.rank LIMIT ?",
            [customer_id, limit],
        )
    if rows.empty:
        raise ConfigError(
            f"No customer {customer_id!r} with look-alikes in {out} (only customers with a "
            "purchase have them); see the `segments` table for ids."
        )
    table = Table(title=f"Customers like {customer_id}", title_justify="left")
    for col in ("rank", "customer", "similarity", "segment"):
        table.add_column(col, justify="right" if col in ("rank", "similarity") else "left")
    for row in rows.itertuples(index=False):
        table.add_row(
            str(row.rank), str(row.lookalike_id), f"{row.similarity:.3f}", _text(row.segment_name)
        )
    console.print(table)


@app.command()
@_handle_errors
def serve(
    warehouse: Annotated[
        Path, typer.Option(help="lens.duckdb (or its folder) written by resolve / run")
    ],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    config: Annotated[Path | None, typer.Option(help="customerlens.toml (thresholds)")] = None,
    log_level: Annotated[str, typer.Option(help="debug | info | warning")] = "info",
) -> None:
    """Serve the REST API (real-time matching, customer views) with docs at /docs.

    Set CUSTOMERLENS_API_KEY to require the key in the X-API-Key header; without one the
    server only listens on a loopback address.
    """
    import uvicorn

    from customerlens.api.app import create_app
    from customerlens.api.privacy import MaskingFilter

    path = warehouse / "lens.duckdb" if warehouse.is_dir() else warehouse
    if not path.exists():
        raise ConfigError(f"No warehouse at {path}: run `customerlens resolve --out DIR` first.")
    settings = Settings()
    if settings.api_key is None and not _loopback(host):
        raise ConfigError(
            f"Refusing to serve on {host} without an API key: set CUSTOMERLENS_API_KEY, "
            "or listen on 127.0.0.1."
        )
    options = (load_config(config) if config else ProjectConfig()).resolve
    api = create_app(path, settings=settings, options=options)
    log_config = uvicorn.config.LOGGING_CONFIG | {
        "filters": {"mask": {"()": MaskingFilter}},
    }
    log_config["handlers"] = {
        name: {**handler, "filters": ["mask"]} for name, handler in log_config["handlers"].items()
    }
    log_config["loggers"] = {
        **log_config["loggers"],
        "customerlens": {"handlers": ["default"], "level": log_level.upper(), "propagate": False},
    }
    console.print(f"Serving {path} on http://{host}:{port} (docs at /docs)", highlight=False)
    uvicorn.run(api, host=host, port=port, log_level=log_level, log_config=log_config)


@app.command()
@_handle_errors
def dashboard(
    warehouse: Annotated[
        Path, typer.Option(help="lens.duckdb (or its folder) written by `customerlens run`")
    ],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8501,
    public: Annotated[
        bool,
        typer.Option(
            help="Allow a non-loopback --host: the dashboard has no login and shows personal data."
        ),
    ] = False,
) -> None:
    """The interactive dashboard (Streamlit): overview, identity and review, segments,
    customer 360, target lists."""
    import os
    import sys

    from streamlit.web import cli as streamlit_cli

    from customerlens.dashboard import APP_FILE, WAREHOUSE_ENV

    path = warehouse / "lens.duckdb" if warehouse.is_dir() else warehouse
    if not path.exists():
        raise ConfigError(f"No warehouse at {path}: run `customerlens run --out DIR` first.")
    if not public and not _loopback(host):
        raise ConfigError(
            f"Refusing to serve the dashboard on {host}: it has no login and shows personal "
            "data. Put it behind an authenticating proxy and pass --public, or use 127.0.0.1."
        )
    os.environ[WAREHOUSE_ENV] = str(path.resolve())
    console.print(f"Dashboard for {path} on http://{host}:{port}", highlight=False)
    # in this process (not a child): a signal to `customerlens dashboard` stops Streamlit and
    # releases the warehouse
    sys.argv = [
        "streamlit", "run", str(APP_FILE),
        "--server.address", host, "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--global.developmentMode", "false",
        "--client.toolbarMode", "viewer",
    ]  # fmt: skip
    streamlit_cli.main()


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
@_handle_errors
def review(
    out: OutOpt,
    limit: Annotated[int, typer.Option(min=1, help="Pairs to show.")] = 10,
    decide: Annotated[
        list[str] | None,
        typer.Option("--decide", help="PAIR_ID=accept|reject, without prompting (repeatable)"),
    ] = None,
) -> None:
    """Show uncertain pairs with their evidence and record accept / reject decisions.

    Decisions go to the `labels` table; the next `resolve` links accepted pairs and keeps
    rejected ones apart.
    """
    if not (out / "lens.duckdb").exists():
        raise ConfigError(f"No warehouse in {out}: run `customerlens resolve` first.")
    with open_warehouse(out, settings=Settings()) as wh:
        if not wh.has_table("review_queue"):
            raise ConfigError(f"{out} has no review queue: run `customerlens resolve` first.")
        if decide:
            for pair_id, label in _parse_pairs(decide, "--decide").items():
                row = wh.query_df(
                    "SELECT unique_id_l, unique_id_r FROM match_pairs WHERE pair_id = ?", [pair_id]
                )
                if row.empty:
                    raise ConfigError(f"No pair {pair_id!r} in {out}; see `customerlens review`.")
                normalised = record_decision(
                    wh, str(row.unique_id_l[0]), str(row.unique_id_r[0]), label, pair_id=pair_id
                )
                console.print(f"{pair_id}: {normalised}")
            return
        queue = wh.query_df(
            "SELECT pair_id, unique_id_l, unique_id_r, match_probability, decision_probability, "
            "record_pairs FROM review_queue "
            f"LIMIT {int(limit)}"
        )
        console.print(
            f"{wh.row_count('review_queue'):,} pairs of customers await review "
            "(each shown by its strongest pair of records)."
        )
        interactive = console.is_terminal and console.is_interactive
        for pair in queue.itertuples(index=False):
            _show_pair(wh, pair)
            if not interactive:
                continue
            answer = typer.prompt("[a]ccept, [r]eject, [s]kip, [q]uit", default="s")[:1].lower()
            if answer == "q":
                break
            if answer in ("a", "r"):
                record_decision(
                    wh,
                    str(pair.unique_id_l),
                    str(pair.unique_id_r),
                    "accept" if answer == "a" else "reject",
                    pair_id=str(pair.pair_id),
                )
        if not interactive:
            console.print("Record decisions with --decide PAIR_ID=accept|reject.")


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _weight(value: Any) -> str:
    return "" if value is None or pd.isna(value) else f"{float(value):+.1f}"


def _show_pair(wh: Any, pair: Any) -> None:
    evidence = explain_pair(wh, pair.unique_id_l, pair.unique_id_r)
    table = Table(
        title=f"pair {pair.pair_id}: {pair.unique_id_l} vs {pair.unique_id_r}, "
        f"p = {pair.decision_probability:.3f} (match model {pair.match_probability:.3f}; "
        f"{pair.record_pairs} record pair(s) between the two customers)",
        title_justify="left",
    )
    for col in ("field", "left", "right", "level", "weight"):
        table.add_column(col, justify="right" if col == "weight" else "left")
    for row in evidence.itertuples(index=False):
        table.add_row(
            str(row.field), _text(row.left), _text(row.right), str(row.level), _weight(row.weight)
        )
    console.print(table)


@app.command()
@_handle_errors
def evaluate(
    truth: Annotated[Path, typer.Option(help="truth.csv: source, record_id, person_id")],
    pred: Annotated[Path, typer.Option(help="record_customer.csv from resolve")],
) -> None:
    """Compare a resolution with the truth: prints one JSON object."""
    import json

    from customerlens.resolve.evaluate import evaluate_files

    console.print_json(json.dumps(evaluate_files(truth, pred)))


if __name__ == "__main__":  # pragma: no cover
    app()
