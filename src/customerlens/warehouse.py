"""The engine adapter: the one object that owns a connection to the warehouse.

Stages build SQL (or Arrow tables) and hand them to a :class:`Warehouse`; they never hold a
connection themselves. :class:`DuckDBWarehouse` is the embedded default;
``customerlens.engines.spark.SparkWarehouse`` implements the same :class:`Warehouse` protocol
(and translates the stages' DuckDB-dialect SQL), so stage code needs no ``if engine == ...``.

Every write is atomic: the result is built under a temporary name, then swapped in with one
transaction, so a crash leaves either the old table or the new one, never half a result.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from customerlens import __version__
from customerlens.config import Settings
from customerlens.errors import WarehouseError
from customerlens.tables import RUN_METADATA

if TYPE_CHECKING:
    from customerlens.resolve.backends import SplinkBackend

log = logging.getLogger(__name__)

DEFAULT_FILENAME = "lens.duckdb"


class Warehouse(Protocol):
    """What every engine adapter offers to stage code."""

    def query(self, sql: str, params: list[Any] | None = None) -> pa.Table: ...

    def query_df(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame: ...

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any: ...

    def execute(self, sql: str, params: list[Any] | None = None) -> None: ...

    def create_table_as(self, name: str, sql: str) -> int: ...

    def write_table(self, name: str, data: pa.Table | pd.DataFrame) -> int: ...

    def read_table(self, name: str) -> pa.Table: ...

    def table_names(self) -> list[str]: ...

    def has_table(self, name: str) -> bool: ...

    def row_count(self, name: str) -> int: ...

    def record_run(self, run: RunRecord) -> None: ...

    def scratch_dir(self) -> Any: ...

    def splink_backend(self, scratch: Path) -> SplinkBackend: ...

    def lend_memory(self) -> Any: ...

    def close(self) -> None: ...


def quote_ident(name: str) -> str:
    """Quote an identifier for SQL (double quotes, embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """Quote a string literal for SQL (single quotes, embedded quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def default_memory_limit(share: float = 0.25) -> str:
    """A DuckDB memory limit of ``share`` of this machine's RAM.

    DuckDB's own default is 80% per database; resolution runs two (the warehouse and Splink's
    scratch database), so each gets a quarter and spills to disk beyond it.
    """
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "4GB"
    return f"{max(1, int(total * share / 2**30))}GB"


def _blank_lines(path: Path, offset: int) -> list[int]:
    """Data-row numbers of blank lines, which DuckDB's CSV reader skips without counting."""
    with path.open("rb") as handle:
        data_has_blank = False
        tail = b""
        for block in iter(lambda: handle.read(1 << 22), b""):
            chunk = tail + block
            if b"\n\n" in chunk or b"\n\r\n" in chunk:
                data_has_blank = True
                break
            tail = chunk[-2:]
    if not data_has_blank:
        return []
    blanks = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                blanks.append(number - offset)
    # a trailing blank line at the end of the file is no row
    while blanks and blanks[-1] == number - offset:
        blanks.pop()
        number -= 1
    return [b for b in blanks if b > 0]


def to_arrow(result: Any) -> pa.Table:
    """An Arrow table from a DuckDB relation or cursor (DuckDB 2 renamed the fetch methods)."""
    fetch = getattr(result, "to_arrow_table", None) or result.fetch_arrow_table
    table = fetch()
    return table if isinstance(table, pa.Table) else table.read_all()


def file_fingerprint(path: Path) -> dict[str, Any]:
    """Content hash (BLAKE2b over the whole file), size and modification time of an input."""
    digest = hashlib.blake2b(digest_size=16)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    stat = path.stat()
    return {
        "path": str(path),
        "bytes": stat.st_size,
        "modified": dt.datetime.fromtimestamp(stat.st_mtime, tz=dt.UTC).isoformat(),
        "blake2b": digest.hexdigest(),
    }


@dataclass(frozen=True)
class LoadResult:
    """A file loaded into a temporary table, and the lines the parser could not use."""

    table: str
    rows: int
    #: (row number, reason, raw line) for each line the parser rejected
    rejected: list[tuple[int, str, str]]


class RunRecord:
    """Metadata of one stage run: written to ``run_metadata`` when the stage finishes.

    Attributes
    ----------
    run_id, stage : str
        Identity of the run and the stage it ran (``ingest``, ``resolve``...).
    started_at, finished_at : datetime
        Wall-clock start and end (UTC).
    inputs : list of dict
        Fingerprints of the input files (see :func:`file_fingerprint`).
    row_counts : dict
        Rows written per table.
    metrics : dict
        Anything else the stage measured (timings, rejected counts...).
    """

    def __init__(self, stage: str) -> None:
        self.run_id = uuid.uuid4().hex[:12]
        self.stage = stage
        self.started_at = dt.datetime.now(dt.UTC)
        self.finished_at: dt.datetime | None = None
        self.status = "running"
        self.inputs: list[dict[str, Any]] = []
        self.row_counts: dict[str, int] = {}
        self.metrics: dict[str, Any] = {}

    def finish(self, status: str = "ok") -> RunRecord:
        self.finished_at = dt.datetime.now(dt.UTC)
        self.status = status
        return self

    @property
    def seconds(self) -> float:
        end = self.finished_at or dt.datetime.now(dt.UTC)
        return (end - self.started_at).total_seconds()

    def as_row(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "stage": self.stage,
            "version": __version__,
            "status": self.status,
            "started_at": self.started_at.replace(tzinfo=None),
            "finished_at": (self.finished_at or dt.datetime.now(dt.UTC)).replace(tzinfo=None),
            "seconds": round(self.seconds, 3),
            "inputs": json.dumps(self.inputs),
            "row_counts": json.dumps(self.row_counts),
            "metrics": json.dumps(self.metrics, default=str),
        }


class DuckDBWarehouse:
    """The embedded warehouse: one DuckDB database file (or ``:memory:``).

    Parameters
    ----------
    path : str or Path
        The database file, or a directory (then ``DIR/lens.duckdb``), or ``":memory:"``.
    threads, memory_limit : optional
        Passed to DuckDB; by default DuckDB uses every core and 80% of memory, spilling
        to a temporary directory beside the database when that is not enough.
    read_only : bool
        Open an existing warehouse for reading only (the API and dashboard do).
    """

    engine = "duckdb"

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        read_only: bool = False,
    ) -> None:
        if str(path) != ":memory:":
            path = Path(path)
            if path.suffix != ".duckdb" and (path.is_dir() or not path.suffix):
                path = path / DEFAULT_FILENAME
            if read_only and not path.exists():
                raise WarehouseError(
                    f"No warehouse at {path}. Run `customerlens ingest ... --out {path.parent}` "
                    "(or `customerlens demo`) first."
                )
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        try:
            self._con = duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            raise WarehouseError(f"Cannot open the warehouse {path}: {exc}") from exc
        if threads:
            self.execute(f"SET threads = {int(threads)}")
        self._memory_limit = memory_limit or default_memory_limit()
        self.execute(f"SET memory_limit = {quote_literal(self._memory_limit)}")
        if str(path) != ":memory:":
            spill = Path(path).parent / ".lens_tmp"
            self.execute(f"SET temp_directory = {quote_literal(str(spill))}")

    # -- reading ------------------------------------------------------------------------
    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The raw connection, for adapters of this engine only (readers, Splink)."""
        return self._con

    def _run(self, sql: str, params: list[Any] | None = None) -> duckdb.DuckDBPyConnection:
        try:
            return self._con.execute(sql, params or [])
        except duckdb.Error as exc:
            raise WarehouseError(f"DuckDB failed: {exc}", sql) from exc

    def query(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        try:
            return to_arrow(self._con.sql(sql, params=params or None))
        except duckdb.Error as exc:
            raise WarehouseError(f"DuckDB failed: {exc}", sql) from exc

    def query_df(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        return self._run(sql, params).df()

    def query_batches(self, sql: str, rows: int) -> Iterator[pa.RecordBatch]:
        """Stream a result in Arrow batches of about ``rows`` rows (no other query meanwhile)."""
        try:
            reader = self._con.sql(sql).to_arrow_reader(rows)
        except duckdb.Error as exc:
            raise WarehouseError(f"DuckDB failed: {exc}", sql) from exc
        yield from reader

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        rows = self._run(sql, params).fetchall()
        return rows[0][0] if rows else None

    def execute(self, sql: str, params: list[Any] | None = None) -> None:
        # drain the result: DuckDB 2 refuses new work while a result is unfinished
        self._run(sql, params).fetchall()

    def read_table(self, name: str) -> pa.Table:
        self._require(name)
        return self.query(f"SELECT * FROM {quote_ident(name)}")

    def table_names(self) -> list[str]:
        rows = self._run(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'main' AND table_catalog = current_database() "
            "AND table_name NOT LIKE '\\_\\_tmp%' ESCAPE '\\' "
            "ORDER BY table_name"
        ).fetchall()
        return [r[0] for r in rows]

    def has_table(self, name: str) -> bool:
        return name in self.table_names()

    def row_count(self, name: str) -> int:
        self._require(name)
        return int(self.scalar(f"SELECT count(*) FROM {quote_ident(name)}"))

    def columns(self, name: str) -> list[str]:
        self._require(name)
        return [r[0] for r in self._run(f"DESCRIBE {quote_ident(name)}").fetchall()]

    def _require(self, name: str) -> None:
        if not self.has_table(name):
            raise WarehouseError(
                f"The warehouse {self.path} has no table {name!r} "
                f"(it has: {', '.join(self.table_names()) or 'none'}). "
                "Run the stage that writes it."
            )

    # -- writing ------------------------------------------------------------------------
    def create_table_as(self, name: str, sql: str) -> int:
        """Materialise ``sql`` as table ``name``, atomically; returns its row count."""
        tmp = f"__tmp_{name}_{uuid.uuid4().hex[:8]}"
        self.execute(f"CREATE TABLE {quote_ident(tmp)} AS {sql}")
        return self._swap(tmp, name)

    def write_table(self, name: str, data: pa.Table | pd.DataFrame) -> int:
        """Write an Arrow table or DataFrame as table ``name``, atomically."""
        view = f"__arrow_{uuid.uuid4().hex[:8]}"
        self._con.register(view, data)
        try:
            return self.create_table_as(name, f"SELECT * FROM {quote_ident(view)}")
        finally:
            self._con.unregister(view)

    def _swap(self, tmp: str, name: str) -> int:
        try:
            self._con.begin()
            self.execute(f"DROP TABLE IF EXISTS {quote_ident(name)}")
            self.execute(f"ALTER TABLE {quote_ident(tmp)} RENAME TO {quote_ident(name)}")
            self._con.commit()
        except (duckdb.Error, WarehouseError) as exc:
            self._con.rollback()
            self.execute(f"DROP TABLE IF EXISTS {quote_ident(tmp)}")
            raise WarehouseError(f"Could not swap in table {name!r}: {exc}") from exc
        return self.row_count(name)

    @contextmanager
    def temporary_view(self, name: str, data: pa.Table | pd.DataFrame) -> Iterator[str]:
        """Expose an in-memory table to SQL for the duration of a ``with`` block."""
        self._con.register(name, data)
        try:
            yield name
        finally:
            self._con.unregister(name)

    # -- loading files (engine-specific I/O; the ingest stage decides what to load) ------
    def load_csv(
        self,
        table: str,
        path: Path,
        *,
        delimiter: str,
        header: bool,
        encoding: str,
        column_names: list[str] | None = None,
    ) -> LoadResult:
        """Load a delimited text file as an all-VARCHAR temporary table ``table``.

        Lines the CSV parser cannot split into the right number of fields are not lost: they
        come back in :attr:`LoadResult.rejected` with the parser's reason.
        """
        options = [
            "all_varchar = true",
            f"header = {str(header).lower()}",
            f"delim = {quote_literal(delimiter)}",
            f"encoding = {quote_literal(encoding)}",
            "store_rejects = true",
            f"rejects_table = {quote_literal(table + '_rej')}",
            f"rejects_scan = {quote_literal(table + '_scan')}",
        ]
        if column_names:
            options.append("names = [" + ", ".join(quote_literal(n) for n in column_names) + "]")
        source = f"read_csv({quote_literal(str(path))}, {', '.join(options)})"
        try:
            self.execute(
                f"CREATE OR REPLACE TEMP TABLE {quote_ident(table)} AS SELECT * FROM {source}"
            )
        except WarehouseError as exc:
            if "sniffing" not in str(exc):
                raise
            # mixed line endings defeat DuckDB's strict sniffer; the lenient one reads them
            options.append("strict_mode = false")
            source = f"read_csv({quote_literal(str(path))}, {', '.join(options)})"
            self.execute(
                f"CREATE OR REPLACE TEMP TABLE {quote_ident(table)} AS SELECT * FROM {source}"
            )
        errors = self._run(
            f"SELECT line, error_type, error_message, csv_line FROM {quote_ident(table + '_rej')} "
            "ORDER BY line"
        ).fetchall()
        self.execute(f"DROP TABLE IF EXISTS {quote_ident(table + '_rej')}")
        self.execute(f"DROP TABLE IF EXISTS {quote_ident(table + '_scan')}")
        offset = 1 if header else 0
        by_line: dict[int, tuple[int, str, str]] = {}
        for line, etype, message, raw in errors:
            # DuckDB may log several errors for one line: one rejected row, reasons joined
            row = int(line) - offset
            if row in by_line:
                previous = by_line[row]
                by_line[row] = (row, f"{previous[1]}; {etype.lower()}: {message}", previous[2])
            else:
                by_line[row] = (row, f"{etype.lower()}: {message}", raw)
        rejected = [by_line[k] for k in sorted(by_line)]
        rejected += [(row, "blank line", "") for row in _blank_lines(path, offset)]
        rejected.sort()
        return self._number_rows(table, rejected)

    def load_parquet(self, table: str, path: Path) -> LoadResult:
        """Load a Parquet file as an all-VARCHAR temporary table (types are re-parsed)."""
        source = f"read_parquet({quote_literal(str(path))})"
        names = [r[0] for r in self._run(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        casts = ", ".join(f"CAST({quote_ident(n)} AS VARCHAR) AS {quote_ident(n)}" for n in names)
        self.execute(
            f"CREATE OR REPLACE TEMP TABLE {quote_ident(table)} AS SELECT {casts} FROM {source}"
        )
        return self._number_rows(table, [])

    def load_lines(self, table: str, path: Path, *, encoding: str) -> LoadResult:
        """Load a text file as one VARCHAR column ``line`` (for whitespace-separated files)."""
        source = (
            f"read_csv({quote_literal(str(path))}, columns = {{'line': 'VARCHAR'}}, "
            f"delim = '\x1f', quote = '', escape = '', header = false, "
            f"encoding = {quote_literal(encoding)}, auto_detect = false)"
        )
        self.execute(f"CREATE OR REPLACE TEMP TABLE {quote_ident(table)} AS SELECT * FROM {source}")
        return self._number_rows(table, [])

    def _number_rows(self, table: str, rejected: list[tuple[int, str, str]]) -> LoadResult:
        """Add ``__row``, the 1-based data row number in the file, to a loaded table.

        Row numbers count the rows the parser rejected too, so they match the file.
        """
        kept = self.row_count_any(table)
        numbered = f"{table}__n"
        if rejected:
            total = kept + len(rejected)
            rows = np.setdiff1d(np.arange(1, total + 1), np.array([r[0] for r in rejected]))
            with self.temporary_view("__rownums", pa.table({"__row": rows[:kept]})):
                self.execute(
                    f"CREATE OR REPLACE TEMP TABLE {quote_ident(numbered)} AS "
                    f"SELECT * FROM __rownums POSITIONAL JOIN {quote_ident(table)}"
                )
        else:
            self.execute(
                f"CREATE OR REPLACE TEMP TABLE {quote_ident(numbered)} AS "
                f"SELECT rowid + 1 AS __row, * FROM {quote_ident(table)}"
            )
        self.execute(f"DROP TABLE {quote_ident(table)}")
        self.execute(f"ALTER TABLE {quote_ident(numbered)} RENAME TO {quote_ident(table)}")
        return LoadResult(table=table, rows=kept, rejected=rejected)

    def columns_any(self, name: str) -> list[str]:
        """Column names of any table or view, temporary ones included."""
        return [r[0] for r in self._run(f"DESCRIBE {quote_ident(name)}").fetchall()]

    def drop_temp(self, name: str) -> None:
        self.execute(f"DROP TABLE IF EXISTS temp.{quote_ident(name)}")

    def row_count_any(self, name: str) -> int:
        """Row count of any table or view, temporary ones included."""
        return int(self.scalar(f"SELECT count(*) FROM {quote_ident(name)}"))

    def drop(self, name: str) -> None:
        self.execute(f"DROP TABLE IF EXISTS {quote_ident(name)}")
        self.execute(f"DROP VIEW IF EXISTS {quote_ident(name)}")

    def record_run(self, run: RunRecord) -> None:
        """Append one row to ``run_metadata`` (created on first use)."""
        row = run.as_row()
        self.execute(
            f"CREATE TABLE IF NOT EXISTS {RUN_METADATA} ("
            "run_id VARCHAR, stage VARCHAR, version VARCHAR, status VARCHAR, "
            "started_at TIMESTAMP, finished_at TIMESTAMP, seconds DOUBLE, "
            "inputs JSON, row_counts JSON, metrics JSON)"
        )
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        self.execute(f"INSERT INTO {RUN_METADATA} ({cols}) VALUES ({marks})", list(row.values()))

    def last_run(self, stage: str) -> Mapping[str, Any] | None:
        return last_run(self, stage)

    @contextmanager
    def scratch_dir(self) -> Iterator[Path]:
        """A directory for intermediate files of one step, removed after it."""
        with tempfile.TemporaryDirectory(prefix="customerlens-") as scratch:
            yield Path(scratch)

    def splink_backend(self, scratch: Path) -> SplinkBackend:
        """Where Splink works for this engine: a scratch DuckDB with this warehouse's limits."""
        from customerlens.resolve.backends import DuckDBBackend

        return DuckDBBackend()

    @contextmanager
    def lend_memory(self, keep: str = "512MB") -> Iterator[None]:
        """While another database does the work (Splink's scratch), shrink this one's buffer
        pool to ``keep``: DuckDB keeps pages it has read cached up to its limit, and at a
        million people the cache left by ingest and standardisation plus the scratch database
        went over 8 GB. The limit is restored afterwards."""
        self.execute(f"SET memory_limit = {quote_literal(keep)}")
        try:
            yield
        finally:
            self.execute(f"SET memory_limit = {quote_literal(self._memory_limit)}")

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> DuckDBWarehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def last_run(wh: Warehouse, stage: str) -> Mapping[str, Any] | None:
    """The newest ``run_metadata`` row of ``stage`` in any engine's warehouse, or None."""
    if not wh.has_table(RUN_METADATA):
        return None
    df = wh.query(
        f"SELECT * FROM {RUN_METADATA} WHERE stage = ? ORDER BY finished_at DESC LIMIT 1",
        [stage],
    ).to_pandas()
    return None if df.empty else {str(k): v for k, v in df.iloc[0].to_dict().items()}


def open_warehouse(
    path: str | Path,
    *,
    engine: str = "duckdb",
    settings: Settings | None = None,
    read_only: bool = False,
) -> DuckDBWarehouse:
    """Open the embedded warehouse (the file every engine's results end in).

    Spark does not open a warehouse of its own: ``customerlens.engines.on_engine`` runs the
    stages on Spark beside this one (``--engine spark``).
    """
    if engine != "duckdb":
        raise WarehouseError(
            f"Unknown engine {engine!r} for the warehouse file: it is DuckDB's. Stages run on "
            "Spark with `--engine spark` (customerlens.engines.on_engine)."
        )
    settings = settings or Settings()
    return DuckDBWarehouse(
        path, threads=settings.threads, memory_limit=settings.memory_limit, read_only=read_only
    )
