"""Ingest: source files -> canonical tables (``accounts``, ``crm``, ``transactions``...)."""

from __future__ import annotations

from customerlens.ingest.pipeline import IngestReport, ingest
from customerlens.ingest.source import SourceReport

__all__ = ["IngestReport", "SourceReport", "ingest"]
