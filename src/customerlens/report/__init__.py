"""The report: one self-contained HTML file, ``DIR/report.html``, written by every ``run``.

Headline numbers, plots (revenue gap, RFM segments, CLV, churn reliability, segment profiles,
PCA map) and tables, read from the warehouse; sections whose tables do not exist yet are left
out and named with the command that computes them. ``customerlens report DIR [--pdf]``.
"""

from __future__ import annotations

from customerlens.report.build import (
    PDF_FILE,
    REPORT_FILE,
    Report,
    ReportFiles,
    build_report,
    write_report,
)

__all__ = ["PDF_FILE", "REPORT_FILE", "Report", "ReportFiles", "build_report", "write_report"]
