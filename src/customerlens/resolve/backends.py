"""Where Splink works: a scratch database of the warehouse's engine.

The scorer and the blocking-recall estimate train and predict through Splink, then read a few
of Splink's tables back with SQL. A backend gives them a fresh Splink database API of the
engine and runs those few queries, so the resolve code is the same on every engine. Queries
are written in DuckDB's dialect; the Spark backend translates them (sqlglot, as Splink does).
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa
from splink import DuckDBAPI

from customerlens.engines.spark import spark_frame, to_spark_sql
from customerlens.warehouse import default_memory_limit, to_arrow


class SplinkBackend(Protocol):
    """A scratch database for Splink; ``db`` is the Splink database API it returns."""

    #: the SQL dialect Splink renders the model in ("duckdb", "spark")
    dialect: str

    def connect(self) -> Any: ...

    def register(self, db: Any, data: pa.Table, name: str | None = None) -> Any: ...

    def query(self, db: Any, sql: str) -> pa.Table: ...

    def materialise(self, db: Any, name: str, sql: str) -> None: ...

    def to_parquet(self, db: Any, sql: str, path: Path) -> int: ...

    def close(self, db: Any) -> None: ...


class DuckDBBackend:
    """A fresh in-memory DuckDB per linker (Splink caches term frequencies per connection),
    spilling to the system temp dir, not a folder in the user's working directory."""

    dialect = "duckdb"

    def __init__(self, *, threads: int | None = None, memory_limit: str | None = None) -> None:
        self.threads = threads
        self.memory_limit = memory_limit

    def connect(self) -> DuckDBAPI:
        con = duckdb.connect()
        spill = Path(tempfile.gettempdir()) / "customerlens-splink"
        con.execute(f"SET temp_directory = '{spill}'").fetchall()
        if self.threads:
            con.execute(f"SET threads = {int(self.threads)}").fetchall()
        con.execute(
            f"SET memory_limit = '{self.memory_limit or default_memory_limit()}'"
        ).fetchall()
        return DuckDBAPI(connection=con)

    def register(self, db: DuckDBAPI, data: pa.Table, name: str | None = None) -> Any:
        if name is None:
            return db.register(data)
        db.duckdb_con.register(name, data)
        return name

    def query(self, db: DuckDBAPI, sql: str) -> pa.Table:
        return to_arrow(db.duckdb_con.sql(sql))

    def materialise(self, db: DuckDBAPI, name: str, sql: str) -> None:
        db.duckdb_con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}").fetchall()

    def to_parquet(self, db: DuckDBAPI, sql: str, path: Path) -> int:
        con = db.duckdb_con
        con.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet)").fetchall()
        return int(con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0])

    def close(self, db: DuckDBAPI) -> None:
        db.duckdb_con.close()


class SparkBackend:
    """Splink's Spark backend on the warehouse's session (its similarity UDF jar is on the
    session's class path, see ``customerlens.engines.spark``)."""

    dialect = "spark"

    def __init__(self, session: Any, scratch: Path) -> None:
        self.session = session
        self.scratch = scratch

    def connect(self) -> Any:
        from splink import SparkAPI  # lazily: PySpark is an optional extra

        return SparkAPI(spark_session=self.session)

    def register(self, db: Any, data: pa.Table, name: str | None = None) -> Any:
        frame = spark_frame(self.session, data, self.scratch)
        if name is None:
            return db.register(frame)
        frame.createOrReplaceTempView(name)
        return name

    def query(self, db: Any, sql: str) -> pa.Table:
        return self.session.sql(to_spark_sql(sql)).toArrow()

    def materialise(self, db: Any, name: str, sql: str) -> None:
        path = self.scratch / f"{name}_{uuid.uuid4().hex[:8]}"
        self.session.sql(to_spark_sql(sql)).write.parquet(str(path))
        self.session.read.parquet(str(path)).createOrReplaceTempView(name)

    def to_parquet(self, db: Any, sql: str, path: Path) -> int:
        self.session.sql(to_spark_sql(sql)).write.mode("overwrite").parquet(str(path))
        return int(self.session.read.parquet(str(path)).count())

    def close(self, db: Any) -> None:
        self.session.catalog.clearCache()
