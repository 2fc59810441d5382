"""What every section builder gets: ``builder(context, section) -> body``.

A section is only built when the tables it reads exist (``build.py`` decides). Its builder
returns the HTML body and records on the :class:`Section` the plots it drew, its headline lines
for the PDF and any part it had to leave out. Inside a section, figures from ``metrics.json``
are shown when the file has them and named as missing when not, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from customerlens.report import plots
from customerlens.report.page import code, image, paragraph
from customerlens.warehouse import Warehouse


@dataclass
class Context:
    """What every section reads: the warehouse, its tables, ``metrics.json`` and the folder."""

    wh: Warehouse
    tables: set[str]
    metrics: dict[str, Any]
    directory: Path
    #: the command that computes what a stage writes, by stage: ingest, resolve, run
    commands: Mapping[str, str]


@dataclass
class Section:
    """A section of the page: its id and title, its HTML body once built, and what the
    builder recorded."""

    id: str
    title: str
    body: str = ""
    #: the plots drawn for it (the PDF reuses them)
    figures: list[Figure] = field(default_factory=list)
    #: (label, value) pairs worth a line on the PDF's first page
    summary: list[tuple[str, str]] = field(default_factory=list)
    #: parts of the section left out: (what, the command that computes it)
    missing: list[tuple[str, str]] = field(default_factory=list)


def add_plot(section: Section, ax: Axes, alt: str) -> str:
    """Keep the plot's figure with the section (for the PDF); return it as an embedded image."""
    figure = plots.figure_of(ax)
    section.figures.append(figure)
    return image(plots.to_png(figure), alt)


def metrics_note(ctx: Context, what: str) -> str:
    """A note that ``what`` needs ``metrics.json``, and the command that writes it."""
    return paragraph(
        f"{escape(what)} {code('metrics.json')} is not in {escape(str(ctx.directory))}; "
        f"{code(ctx.commands['run'])} writes it."
    )
