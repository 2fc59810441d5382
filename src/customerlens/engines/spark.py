"""The Spark engine: the warehouse as Parquet tables under a directory, queried with Spark SQL.

:class:`SparkWarehouse` implements the :class:`~customerlens.warehouse.Warehouse` protocol, so
the stages run unchanged: they write SQL in DuckDB's dialect and this adapter translates it
with sqlglot (the translator Splink itself uses) before Spark runs it. Statements Spark has no
equivalent for are carried out here: ``CREATE TEMP TABLE ... AS`` materialises a Parquet
scratch table (stages often rebuild a table from itself), ``COPY ... TO`` writes a CSV, and
``INSERT ... VALUES`` appends rows.

Tables live in ``DIR/spark/<table>/`` (Parquet). Writes are atomic per table: the result is
written under a temporary name, then moved in place. Files are parsed by the ingest stage on
the embedded engine (DuckDB, streaming, with row-level rejects); their tables are copied here
and every later stage runs on Spark.

PySpark is an optional extra (``pip install customerlens[spark]``), imported only here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import sqlglot
from sqlglot import exp

from customerlens.errors import WarehouseError
from customerlens.tables import RUN_METADATA
from customerlens.warehouse import RunRecord, last_run, quote_ident

log = logging.getLogger(__name__)

SPARK_DIR = "spark"


def to_spark_sql(sql: str) -> str:
    """One DuckDB-dialect statement in Spark SQL."""
    try:
        return str(sqlglot.transpile(sql, read="duckdb", write="spark")[0])
    except sqlglot.errors.ParseError as exc:
        raise WarehouseError(f"Cannot translate to Spark SQL: {exc}", sql) from exc


def spark_session(master: str = "local[*]", *, app: str = "customerlens") -> Any:
    """A Spark session with Splink's similarity UDFs on its class path (the jar ships inside
    the splink package: nothing is downloaded)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise WarehouseError(
            "The Spark engine needs PySpark: pip install 'customerlens[spark]' (and a Java 17 "
            "runtime)."
        ) from exc
    from splink.backends.spark import similarity_jar_location

    cores = os.cpu_count() or 2
    builder = (
        SparkSession.builder.master(master)
        .appName(app)
        .config("spark.jars", similarity_jar_location())
        .config("spark.sql.session.timeZone", "UTC")
        # DuckDB semantics: a failed cast or a division by zero gives NULL, not an error
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
    )
    if master.startswith("local"):
        memory = os.environ.get("CUSTOMERLENS_SPARK_DRIVER_MEMORY", "4g")
        builder = builder.config("spark.driver.memory", memory).config(
            "spark.sql.shuffle.partitions", str(max(4, 2 * cores))
        )
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # no Java, or the master cannot be reached (py4j / Spark errors)
        first = next((line for line in str(exc).splitlines() if line.strip()), repr(exc))
        raise WarehouseError(
            f"Spark could not start (master {master!r}): {first}. The Spark engine needs a "
            "Java 17 runtime (java on PATH or JAVA_HOME) and a reachable --spark-master."
        ) from exc
    session.sparkContext.setLogLevel("FATAL")  # errors reach the user as WarehouseError
    return session


def spark_frame(session: Any, data: pa.Table | pd.DataFrame, scratch: Path) -> Any:
    """A Spark DataFrame of in-memory data, read from a Parquet file written under ``scratch``.

    ``createDataFrame`` would embed the rows in the query plan, which Spark then copies into
    every query and task: with tens of thousands of rows and many queries (Splink's) the driver
    spends its time collecting garbage. A file keeps the plan small and is what executors on
    other machines can read.
    """
    scratch.mkdir(parents=True, exist_ok=True)
    path = scratch / f"frame_{uuid.uuid4().hex[:12]}.parquet"
    pq.write_table(_arrow(data), path)
    return session.read.parquet(str(path))


def _arrow(data: pa.Table | pd.DataFrame) -> pa.Table:
    table = data if isinstance(data, pa.Table) else pa.Table.from_pandas(data, preserve_index=False)
    # Parquet and Spark have no column type for "always null": such columns become text
    for i, field in enumerate(table.schema):
        if pa.types.is_null(field.type) or pa.types.is_large_string(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.string()))
    return table


class SparkWarehouse:
    """The warehouse on Spark (see the module docstring).

    Parameters
    ----------
    path : str or Path
        The output directory; tables go to ``path/spark/``.
    master : str
        Spark master URL (``local[*]`` runs Spark in this process's JVM on every core).
    session : SparkSession, optional
        Use this session instead of starting one.
    """

    engine = "spark"

    def __init__(self, path: str | Path, *, master: str = "local[*]", session: Any = None) -> None:
        path = Path(path)
        if path.suffix == ".duckdb":
            path = path.parent
        self.path = path
        self.root = path / SPARK_DIR
        self.root.mkdir(parents=True, exist_ok=True)
        self.scratch = self.root / "_scratch"
        self.spark = session or spark_session(master)
        self.spark.sparkContext.setCheckpointDir(str(self.root / "_checkpoints"))
        self._temps: dict[str, Path] = {}
        for name in self.table_names():
            self._register(name)

    # -- catalogue ----------------------------------------------------------------------
    def _dir(self, name: str) -> Path:
        return self.root / name

    def _register(self, name: str) -> None:
        self.spark.read.parquet(str(self._dir(name))).createOrReplaceTempView(name)

    def table_names(self) -> list[str]:
        return sorted(
            p.name
            for p in self.root.iterdir()
            if p.is_dir() and not p.name.startswith("_") and (p / "_SUCCESS").exists()
        )

    def has_table(self, name: str) -> bool:
        return (self._dir(name) / "_SUCCESS").exists()

    def _require(self, name: str) -> None:
        if not self.has_table(name):
            raise WarehouseError(
                f"The warehouse {self.root} has no table {name!r} "
                f"(it has: {', '.join(self.table_names()) or 'none'}). "
                "Run the stage that writes it."
            )

    def columns(self, name: str) -> list[str]:
        self._require(name)
        return list(self.spark.table(name).columns)

    def columns_any(self, name: str) -> list[str]:
        return list(self.spark.table(name).columns)

    def row_count(self, name: str) -> int:
        self._require(name)
        return int(self.spark.table(name).count())

    def row_count_any(self, name: str) -> int:
        return int(self.spark.table(name).count())

    # -- reading ------------------------------------------------------------------------
    def _frame(self, sql: str, params: list[Any] | None = None) -> Any:
        text = to_spark_sql(sql)
        try:
            return self.spark.sql(text, args=params) if params else self.spark.sql(text)
        except Exception as exc:  # Spark raises its own exception classes through py4j
            first = next((line for line in str(exc).splitlines() if line.strip()), repr(exc))
            raise WarehouseError(f"Spark failed: {first}", text) from exc

    def query(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        table: pa.Table = self._frame(sql, params).toArrow()
        return table

    def query_df(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        return self.query(sql, params).to_pandas()

    def query_batches(self, sql: str, rows: int) -> Iterator[pa.RecordBatch]:
        yield from self.query(sql).to_batches(rows)

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        rows = self._frame(sql, params).take(1)
        return rows[0][0] if rows else None

    def read_table(self, name: str) -> pa.Table:
        self._require(name)
        return self.query(f"SELECT * FROM {quote_ident(name)}")

    # -- writing ------------------------------------------------------------------------
    def _write(self, name: str, frame: Any) -> int:
        """Write ``frame`` as table ``name``: under a temporary name first, then moved in."""
        tmp = self._dir(f"_tmp_{name}_{uuid.uuid4().hex[:8]}")
        frame.write.parquet(str(tmp))
        target = self._dir(name)
        old = self._dir(f"_old_{name}_{uuid.uuid4().hex[:8]}")
        if target.exists():
            target.rename(old)
        tmp.rename(target)
        self._register(name)
        shutil.rmtree(old, ignore_errors=True)
        return self.row_count(name)

    def create_table_as(self, name: str, sql: str) -> int:
        """Materialise ``sql`` as table ``name``, atomically; returns its row count."""
        return self._write(name, self._frame(sql))

    def write_table(self, name: str, data: pa.Table | pd.DataFrame) -> int:
        return self._write(name, spark_frame(self.spark, data, self.scratch))

    def _append(self, name: str, frame: Any) -> None:
        frame.write.mode("append").parquet(str(self._dir(name)))
        self._register(name)

    @contextlib.contextmanager
    def temporary_view(self, name: str, data: pa.Table | pd.DataFrame) -> Iterator[str]:
        spark_frame(self.spark, data, self.scratch).createOrReplaceTempView(name)
        try:
            yield name
        finally:
            self.spark.catalog.dropTempView(name)

    def _temp_table(self, name: str, sql: str) -> None:
        """``CREATE OR REPLACE TEMP TABLE name AS sql``: materialised (it may read itself)."""
        path = self.scratch / f"{name}_{uuid.uuid4().hex[:8]}"
        self._frame(sql).write.parquet(str(path))
        self.spark.read.parquet(str(path)).createOrReplaceTempView(name)
        previous = self._temps.get(name)
        self._temps[name] = path
        if previous is not None:
            shutil.rmtree(previous, ignore_errors=True)

    def drop_temp(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)
        path = self._temps.pop(name, None)
        if path is not None:
            shutil.rmtree(path, ignore_errors=True)

    def drop(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)
        shutil.rmtree(self._dir(name), ignore_errors=True)

    def execute(self, sql: str, params: list[Any] | None = None) -> None:
        """Run one DuckDB-dialect statement (see the module docstring for what is special)."""
        try:
            statement = sqlglot.parse_one(sql, read="duckdb")
        except sqlglot.errors.ParseError as exc:
            raise WarehouseError(f"Cannot parse: {exc}", sql) from exc
        if isinstance(statement, exp.Create) and statement.kind == "TABLE":
            target = statement.this
            name = target.this.name if isinstance(target, exp.Schema) else target.name
            query = statement.expression
            if query is None:  # CREATE TABLE t (columns): an empty table of that schema
                if statement.args.get("exists") and self.has_table(name):
                    return
                schema = ", ".join(
                    f"{c.name} {c.args['kind'].sql(dialect='spark')}"
                    for c in statement.this.expressions
                )
                self._write(name, self.spark.createDataFrame([], schema))
            elif statement.args.get("properties") and any(
                isinstance(p, exp.TemporaryProperty)
                for p in statement.args["properties"].expressions
            ):
                self._temp_table(name, query.sql(dialect="duckdb"))
            else:
                self.create_table_as(name, query.sql(dialect="duckdb"))
        elif isinstance(statement, exp.Drop):
            name = statement.this.name
            if statement.this.args.get("db") and statement.this.db == "temp":
                self.drop_temp(name)
            else:
                self.drop(name)
        elif isinstance(statement, exp.Insert) and isinstance(statement.expression, exp.Values):
            self._insert(statement, params or [])
        elif isinstance(statement, exp.Copy):
            self._copy(statement)
        else:
            self._frame(sql, params).collect()

    def _insert(self, statement: exp.Insert, params: list[Any]) -> None:
        target = statement.this
        name = target.this.name if isinstance(target, exp.Schema) else target.name
        columns = (
            [c.name for c in target.expressions]
            if isinstance(target, exp.Schema)
            else self.columns(name)
        )
        rows = []
        values = iter(params)
        for row in statement.expression.expressions:
            rows.append(
                [
                    next(values) if isinstance(v, exp.Placeholder) else v.to_py()
                    for v in row.expressions
                ]
            )
        schema = self.spark.table(name).schema
        frame = self.spark.createDataFrame(
            [dict(zip(columns, r, strict=True)) for r in rows]
        ).selectExpr(
            *[f"CAST({quote_ident(f.name)} AS {f.dataType.simpleString()})" for f in schema]
        )
        self._append(name, frame)

    def _copy(self, statement: exp.Copy) -> None:
        """``COPY (query) TO 'file.csv' (HEADER, DELIMITER ',')``: one CSV file."""
        target = Path(statement.args["files"][0].name)
        table = self.query(statement.this.unnest().sql(dialect="duckdb"))
        target.parent.mkdir(parents=True, exist_ok=True)
        pacsv.write_csv(table, target)

    # -- runs ---------------------------------------------------------------------------
    def record_run(self, run: RunRecord) -> None:
        row = run.as_row()
        table = pa.table(
            {k: pa.array([v], pa.float64() if k == "seconds" else None) for k, v in row.items()}
        )
        if self.has_table(RUN_METADATA):
            self._append(RUN_METADATA, spark_frame(self.spark, table, self.scratch))
        else:
            self.write_table(RUN_METADATA, table)

    def last_run(self, stage: str) -> Mapping[str, Any] | None:
        return last_run(self, stage)

    @contextlib.contextmanager
    def scratch_dir(self) -> Iterator[Path]:
        """A directory every Spark worker can reach (beside the tables), removed after."""
        path = self.scratch / uuid.uuid4().hex[:12]
        path.mkdir(parents=True)
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def splink_backend(self, scratch: Path) -> Any:
        from customerlens.resolve.backends import SparkBackend

        return SparkBackend(self.spark, scratch)

    @contextlib.contextmanager
    def lend_memory(self) -> Iterator[None]:
        """Nothing to lend: Spark's memory is the JVM's, configured when it starts."""
        yield

    def close(self) -> None:
        for name in list(self._temps):
            self.drop_temp(name)
        shutil.rmtree(self.scratch, ignore_errors=True)

    def __enter__(self) -> SparkWarehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def copy_tables(source: Any, target: Any, tables: list[str] | None = None) -> dict[str, int]:
    """Copy tables between the embedded warehouse and a Spark one (either way), via Parquet."""
    spark = target if isinstance(target, SparkWarehouse) else source
    counts = {}
    for name in source.table_names() if tables is None else tables:
        with spark.scratch_dir() as scratch:
            if isinstance(source, SparkWarehouse):  # a directory of Parquet parts
                source.spark.table(name).write.parquet(str(scratch / name))
                files = f"{scratch / name}/*.parquet"
            else:
                files = str(scratch / f"{name}.parquet")
                source.execute(f"COPY {quote_ident(name)} TO '{files}' (FORMAT parquet)")
            counts[name] = target.create_table_as(name, f"SELECT * FROM read_parquet('{files}')")
    return counts


__all__ = ["SparkWarehouse", "copy_tables", "spark_session", "to_spark_sql"]
