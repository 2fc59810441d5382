"""Build ``DIR/report.html`` (and optionally ``DIR/report.pdf``) from a warehouse.

The report shows what the warehouse holds and leaves the rest out: each section names the
tables it reads; a section whose tables do not exist yet (a warehouse from ``resolve`` only, or
``ingest`` only) is not built, and the page says which command computes it. Nothing is filled
in with a placeholder value.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from customerlens.errors import ConfigError
from customerlens.report import overview, page, value_and_risk
from customerlens.report.section import Context, Section
from customerlens.tables import (
    ACTIONS,
    CHURN_EVALUATION,
    CLV,
    DATA_QUALITY,
    REJECTED,
    REVENUE_GAP,
    RFM,
    SEGMENT_PROFILES,
    SEGMENTS,
)
from customerlens.warehouse import DEFAULT_FILENAME, Warehouse, open_warehouse

log = logging.getLogger(__name__)

REPORT_FILE = "report.html"
PDF_FILE = "report.pdf"
METRICS_FILE = "metrics.json"  # as customerlens.runner writes it (not imported: it pulls in pymc)

#: the command that writes each stage's tables (``{dir}``: the report's folder)
COMMANDS = {
    "ingest": "customerlens ingest --transactions FILE --out {dir}",
    "resolve": "customerlens resolve --out {dir}",
    "run": "customerlens run --transactions FILE --out {dir}",
}


@dataclass(frozen=True)
class Spec:
    """A section: its id and title, the tables it needs (any of them with ``any_of``), the
    stage that writes them and its builder."""

    id: str
    title: str
    needs: tuple[str, ...]
    stage: str
    build: Callable[[Context, Section], str]
    any_of: bool = False


SPECS: tuple[Spec, ...] = (
    Spec("headline", "Headline numbers", (), "run", overview.headline),
    Spec("revenue-gap", "Revenue gap by month", (REVENUE_GAP,), "run", overview.revenue_gap),
    Spec("rfm", "RFM segment sizes", (RFM,), "run", value_and_risk.rfm),
    Spec("clv", "Customer lifetime value", (CLV,), "run", value_and_risk.clv),
    Spec("churn", "Churn reliability curve", (CHURN_EVALUATION,), "run", value_and_risk.churn),
    Spec(
        "segment-profiles",
        "Segment profiles",
        (SEGMENT_PROFILES,),
        "run",
        value_and_risk.segment_profiles,
    ),
    Spec("pca-map", "PCA map of segments", (SEGMENTS,), "run", value_and_risk.pca_map),
    Spec("actions", "Actions", (ACTIONS,), "run", value_and_risk.actions),
    Spec(
        "data-quality",
        "Data quality",
        (REJECTED, DATA_QUALITY),
        "ingest",
        overview.data_quality,
        any_of=True,
    ),
    Spec("run-metadata", "Run metadata", (), "run", overview.run_metadata),
)
#: id of the note listing the sections left out
MISSING_ID = "not-computed"


@dataclass(frozen=True)
class Missing:
    """A section left out: its id and title, and the command that computes it."""

    id: str
    title: str
    command: str


@dataclass
class Report:
    """A built report: the page, its sections (with their figures) and what was left out."""

    html: str
    sections: list[Section]
    missing: list[Missing]
    #: everything left out, sections and parts of sections: (what, the command computing it)
    left_out: list[tuple[str, str]]

    def close(self) -> None:
        """Drop the figures (they are kept only to write the PDF)."""
        for section in self.sections:
            section.figures.clear()


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`write_report` wrote."""

    html: Path
    pdf: Path | None
    sections: tuple[str, ...]
    missing: tuple[str, ...]
    seconds: float


def _available(spec: Spec, tables: set[str]) -> bool:
    if not spec.needs:
        return True
    found = [name in tables for name in spec.needs]
    return any(found) if spec.any_of else all(found)


def read_metrics(directory: Path) -> dict[str, Any]:
    """``DIR/metrics.json`` as written by ``run``, or ``{}`` when there is none."""
    path = directory / METRICS_FILE
    if not path.exists():
        return {}
    try:
        loaded = json.loads(path.read_text())
    except ValueError as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc}); re-run `customerlens run`.") from exc
    return loaded if isinstance(loaded, dict) else {}


def build_report(wh: Warehouse, directory: Path, metrics: dict[str, Any] | None = None) -> Report:
    """Build the report of the warehouse ``wh`` whose folder is ``directory``.

    Parameters
    ----------
    wh : Warehouse
        An open warehouse (read-only is enough).
    directory : Path
        The folder of ``lens.duckdb``: ``metrics.json`` is read from it, and the commands the
        page suggests name it.
    metrics : dict, optional
        ``metrics.json``'s content; read from ``directory`` when not given.
    """
    metrics = read_metrics(directory) if metrics is None else metrics
    tables = set(wh.table_names())
    ctx = Context(
        wh=wh,
        tables=tables,
        metrics=metrics,
        directory=directory,
        commands={stage: command.format(dir=directory) for stage, command in COMMANDS.items()},
    )
    built: list[Section] = []
    missing: list[Missing] = []
    for spec in SPECS:
        if _available(spec, tables):
            section = Section(spec.id, spec.title)
            section.body = spec.build(ctx, section)
            built.append(section)
        else:
            missing.append(Missing(spec.id, spec.title, ctx.commands[spec.stage]))
    parts = [(what, command) for s in built for what, command in s.missing]
    parts += [(m.title, m.command) for m in missing]
    # the headline first, then what is missing (so nobody reads on looking for it), then the rest
    body = [page.section(s.id, s.title, s.body) for s in built]
    nav = [(s.id, s.title) for s in built]
    if parts:
        body.insert(1, page.section(MISSING_ID, "Not computed yet", _missing_note(parts)))
        nav.insert(1, (MISSING_ID, "Not computed yet"))
    html = page.document(
        "customerlens report",
        f"{directory / DEFAULT_FILENAME}",
        nav,
        "\n".join(body),
    )
    return Report(html=html, sections=built, missing=missing, left_out=parts)


def _missing_note(parts: list[tuple[str, str]]) -> str:
    by_command: dict[str, list[str]] = {}
    for what, command in parts:
        by_command.setdefault(command, []).append(what)
    lines = "".join(
        f"<li>{escape(', '.join(titles))}: {page.code(command)} computes "
        f"{'it' if len(titles) == 1 else 'them'}.</li>"
        for command, titles in by_command.items()
    )
    return (
        page.paragraph("Left out because the warehouse does not hold them yet:", css=None)
        + f'<ul class="missing">{lines}</ul>'
    )


def write_report(directory: Path, wh: Warehouse | None = None, *, pdf: bool = False) -> ReportFiles:
    """Write ``directory/report.html`` (and ``report.pdf`` with ``pdf``) for its warehouse.

    Parameters
    ----------
    directory : Path
        The folder holding ``lens.duckdb`` (and ``metrics.json`` after ``run``).
    wh : Warehouse, optional
        The warehouse, when the caller has it open (``run`` does: DuckDB refuses a second,
        read-only connection to a file this process holds open for writing). Without it the
        warehouse is opened read-only.
    pdf : bool
        Also write ``report.pdf``: the headline page and every plot.
    """
    started = time.perf_counter()
    if wh is None:
        if not (directory / DEFAULT_FILENAME).exists():
            raise ConfigError(
                f"No warehouse in {directory}: run `customerlens run --transactions FILE "
                f"--out {directory}` (or `customerlens resolve`) first."
            )
        with open_warehouse(directory, read_only=True) as own:
            report = build_report(own, directory)
    else:
        report = build_report(wh, directory)
    try:
        html_path = _write_atomic(directory / REPORT_FILE, report.html.encode("utf-8"))
        pdf_path = _write_pdf(directory / PDF_FILE, report) if pdf else None
    finally:
        report.close()
    seconds = time.perf_counter() - started
    log.debug("report written in %.2f s", seconds)
    return ReportFiles(
        html=html_path,
        pdf=pdf_path,
        sections=tuple(s.id for s in report.sections),
        missing=tuple(m.id for m in report.missing),
        seconds=seconds,
    )


def _write_atomic(path: Path, content: bytes) -> Path:
    """Write to a temporary file beside ``path``, then rename: never a half-written report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_bytes(content)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _write_pdf(path: Path, report: Report) -> Path:
    """The headline numbers on a first page, then every plot, one per page."""
    from matplotlib.backends.backend_pdf import PdfPages

    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with PdfPages(tmp) as pdf:
            pdf.savefig(_title_page(report))
            for section in report.sections:
                for figure in section.figures:
                    pdf.savefig(figure)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _title_page(report: Report) -> Figure:
    figure = Figure(figsize=(8.27, 11.69))  # A4
    lines = [(label, value) for s in report.sections for label, value in s.summary]
    figure.text(0.08, 0.94, "customerlens report", fontsize=18, weight="bold")
    y = 0.89
    for label, value in lines:
        figure.text(0.08, y, label, fontsize=10)
        figure.text(0.92, y, value, fontsize=10, ha="right")
        y -= 0.028
    if report.left_out:
        y -= 0.02
        figure.text(0.08, y, "Not computed yet:", fontsize=10, weight="bold")
        for what, command in report.left_out:
            y -= 0.028
            figure.text(0.08, y, f"{what}: {command}", fontsize=9)
    return figure
