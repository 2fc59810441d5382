"""Engines beyond the embedded DuckDB warehouse (``customerlens.warehouse``).

Files are always parsed by the ingest stage on the embedded warehouse (DuckDB, streaming, with
row-level rejects). :func:`on_engine` then hands the later stages a warehouse of the chosen
engine holding the same tables, and copies what they wrote back into the embedded warehouse, so
``serve``, ``dashboard`` and ``report`` read one warehouse whatever engine computed it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from customerlens.errors import ConfigError
from customerlens.warehouse import DuckDBWarehouse

ENGINES = ("duckdb", "spark")


def check_engine(engine: str) -> None:
    """Refuse an unknown engine before any work is done."""
    if engine not in ENGINES:
        raise ConfigError(f"Unknown engine {engine!r}: choose one of {', '.join(ENGINES)}.")


@contextmanager
def on_engine(
    wh: DuckDBWarehouse, engine: str = "duckdb", *, spark_master: str = "local[*]"
) -> Iterator[Any]:
    """The warehouse the stages run on: ``wh`` itself, or a Spark warehouse beside it."""
    check_engine(engine)
    if engine == "duckdb":
        yield wh
        return
    from customerlens.engines.spark import SparkWarehouse, copy_tables

    spark = SparkWarehouse(wh.path, master=spark_master)
    try:
        copy_tables(wh, spark)
        yield spark
        copy_tables(spark, wh)
    finally:
        spark.close()
