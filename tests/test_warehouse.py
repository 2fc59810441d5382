"""The DuckDB warehouse adapter: atomic replacement, reading, run metadata, opening."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from customerlens.errors import WarehouseError
from customerlens.warehouse import (
    DEFAULT_FILENAME,
    DuckDBWarehouse,
    RunRecord,
    file_fingerprint,
    open_warehouse,
    quote_ident,
    quote_literal,
)


@pytest.fixture
def wh(tmp_path: Path):
    warehouse = DuckDBWarehouse(tmp_path)
    yield warehouse
    warehouse.close()


def _all_tables(wh: DuckDBWarehouse) -> list[str]:
    """Every table and view in the database, temporary names included."""
    return sorted(
        wh.query("SELECT table_name FROM information_schema.tables").column(0).to_pylist()
    )


# -- atomic writes --------------------------------------------------------------------------


def test_create_table_as_replaces_the_table(wh: DuckDBWarehouse) -> None:
    assert wh.create_table_as("scores", "SELECT * FROM range(3) t(i)") == 3
    assert wh.create_table_as("scores", "SELECT 'x' AS label") == 1
    assert wh.read_table("scores").to_pylist() == [{"label": "x"}]
    assert _all_tables(wh) == ["scores"]


def test_failing_sql_leaves_the_old_table_and_no_temporary_table(wh: DuckDBWarehouse) -> None:
    wh.create_table_as("scores", "SELECT 1 AS a UNION ALL SELECT 2")
    with pytest.raises(WarehouseError) as info:
        wh.create_table_as("scores", "SELECT a FROM no_such_table")
    # the project's error carries the SQL that failed
    assert info.value.sql is not None and "no_such_table" in info.value.sql
    assert "while running" in str(info.value)
    assert sorted(wh.read_table("scores").column("a").to_pylist()) == [1, 2]
    assert _all_tables(wh) == ["scores"]


def test_a_failure_while_materialising_leaves_the_old_table(wh: DuckDBWarehouse) -> None:
    wh.create_table_as("scores", "SELECT 1 AS a")
    # fails at run time, after the temporary table was started
    with pytest.raises(WarehouseError):
        wh.create_table_as("scores", "SELECT CAST('not a number' AS INTEGER) AS a")
    assert wh.read_table("scores").to_pylist() == [{"a": 1}]
    assert _all_tables(wh) == ["scores"]


def test_a_failing_swap_rolls_back_and_drops_the_temporary_table(wh: DuckDBWarehouse) -> None:
    # a view of that name cannot be dropped as a table: the swap transaction fails
    wh.execute("CREATE VIEW scores AS SELECT 42 AS answer")
    with pytest.raises(WarehouseError, match="Could not swap in table 'scores'"):
        wh.create_table_as("scores", "SELECT 1 AS a")
    assert wh.query("SELECT * FROM scores").to_pylist() == [{"answer": 42}]
    assert _all_tables(wh) == ["scores"]
    # the connection is usable afterwards (no transaction left open)
    assert wh.create_table_as("other", "SELECT 1 AS a") == 1


def test_write_table_from_arrow_and_pandas(wh: DuckDBWarehouse, rng: np.random.Generator) -> None:
    values = rng.normal(size=50)
    arrow = pa.table({"id": pa.array(range(50), pa.int64()), "v": values})
    assert wh.write_table("arrow_t", arrow) == 50
    back = wh.read_table("arrow_t")
    assert back.column("id").to_pylist() == list(range(50))
    np.testing.assert_allclose(back.column("v").to_numpy(), values)

    frame = pd.DataFrame({"name": ["Zoë", None, "李"], "n": [1, 2, 3]})
    assert wh.write_table("frame_t", frame) == 3
    assert wh.read_table("frame_t").to_pylist() == [
        {"name": "Zoë", "n": 1},
        {"name": None, "n": 2},
        {"name": "李", "n": 3},
    ]
    # replacing with a different schema
    assert wh.write_table("frame_t", pa.table({"other": ["a"]})) == 1
    assert wh.columns("frame_t") == ["other"]


def test_write_table_failure_keeps_the_old_table_and_leaves_nothing_registered(
    wh: DuckDBWarehouse,
) -> None:
    wh.execute("CREATE VIEW scores AS SELECT 1 AS a")
    with pytest.raises(WarehouseError):
        wh.write_table("scores", pa.table({"a": [9]}))
    assert wh.query("SELECT * FROM scores").to_pylist() == [{"a": 1}]
    assert _all_tables(wh) == ["scores"]
    leftovers = wh.scalar(
        "SELECT count(*) FROM duckdb_views() WHERE view_name LIKE '\\_\\_arrow%' ESCAPE '\\'"
    )
    assert leftovers == 0


def test_empty_tables_keep_their_columns(wh: DuckDBWarehouse) -> None:
    empty = pa.table({"source": pa.array([], pa.string()), "row_number": pa.array([], pa.int64())})
    assert wh.write_table("rejected", empty) == 0
    assert wh.columns("rejected") == ["source", "row_number"]
    assert wh.row_count("rejected") == 0


# -- reading --------------------------------------------------------------------------------


def test_table_names_are_sorted_and_hide_half_written_tables(wh: DuckDBWarehouse) -> None:
    wh.create_table_as("zeta", "SELECT 1 AS a")
    wh.create_table_as("alpha", "SELECT 1 AS a")
    wh.execute("CREATE TABLE __tmp_half_written AS SELECT 1 AS a")
    assert wh.table_names() == ["alpha", "zeta"]
    assert wh.has_table("alpha")
    assert not wh.has_table("__tmp_half_written")


def test_table_names_do_not_list_temporary_tables(wh: DuckDBWarehouse) -> None:
    wh.create_table_as("alpha", "SELECT 1 AS a")
    wh.execute("CREATE TEMP TABLE scratch AS SELECT 1 AS a")
    assert wh.table_names() == ["alpha"]


def test_read_table_of_a_missing_table_says_what_exists_and_what_to_do(
    wh: DuckDBWarehouse,
) -> None:
    wh.create_table_as("accounts", "SELECT 1 AS a")
    with pytest.raises(WarehouseError) as info:
        wh.read_table("customers")
    message = str(info.value)
    assert "no table 'customers'" in message
    assert "(it has: accounts)" in message
    assert "Run the stage that writes it" in message
    with pytest.raises(WarehouseError, match="it has: accounts"):
        wh.row_count("customers")


def test_query_scalar_and_params(wh: DuckDBWarehouse) -> None:
    wh.create_table_as("t", "SELECT * FROM (VALUES (1, 'a'), (2, 'b'), (3, 'c')) v(n, s)")
    assert wh.query("SELECT s FROM t WHERE n >= ? ORDER BY n", [2]).column("s").to_pylist() == [
        "b",
        "c",
    ]
    assert wh.scalar("SELECT max(n) FROM t") == 3
    assert wh.scalar("SELECT n FROM t WHERE n > 10") is None
    assert list(wh.query_df("SELECT n FROM t ORDER BY n")["n"]) == [1, 2, 3]
    with pytest.raises(WarehouseError, match="DuckDB failed"):
        wh.query("SELEC 1")


def test_quoting_helpers_survive_awkward_names(wh: DuckDBWarehouse) -> None:
    name = 'we"ird name'
    value = quote_literal("'quoted'")
    wh.create_table_as(name, f"SELECT {value} AS {quote_ident('a b')}")
    assert wh.read_table(name).to_pylist() == [{"a b": "'quoted'"}]
    assert name in wh.table_names()


# -- run metadata ---------------------------------------------------------------------------


def test_record_run_appends_rows_with_json_fields(wh: DuckDBWarehouse, tmp_path: Path) -> None:
    data = tmp_path / "in.csv"
    data.write_text("a\n1\n", encoding="utf-8")
    first = RunRecord("ingest")
    first.inputs.append({"role": "accounts", **file_fingerprint(data)})
    first.row_counts = {"accounts": 1}
    first.metrics = {"accounts": {"rejected": {"exact duplicate": 2}}}
    wh.record_run(first.finish())
    second = RunRecord("resolve")
    wh.record_run(second.finish("failed"))

    rows = wh.query("SELECT * FROM run_metadata ORDER BY started_at").to_pylist()
    assert [(r["run_id"], r["stage"], r["status"]) for r in rows] == [
        (first.run_id, "ingest", "ok"),
        (second.run_id, "resolve", "failed"),
    ]
    inputs = json.loads(rows[0]["inputs"])
    assert inputs[0]["role"] == "accounts"
    assert inputs[0]["bytes"] == 4
    assert len(inputs[0]["blake2b"]) == 32
    assert json.loads(rows[0]["row_counts"]) == {"accounts": 1}
    assert json.loads(rows[0]["metrics"]) == {"accounts": {"rejected": {"exact duplicate": 2}}}
    assert rows[0]["finished_at"] >= rows[0]["started_at"]
    # JSON columns are real JSON to DuckDB
    counts = wh.scalar("SELECT row_counts->>'accounts' FROM run_metadata WHERE stage = 'ingest'")
    assert counts == "1"

    last = wh.last_run("ingest")
    assert last is not None and last["run_id"] == first.run_id
    assert wh.last_run("evaluate") is None


def test_last_run_without_any_run(wh: DuckDBWarehouse) -> None:
    assert wh.last_run("ingest") is None


def test_run_metadata_survives_reopening(tmp_path: Path) -> None:
    with DuckDBWarehouse(tmp_path) as first:
        first.record_run(RunRecord("ingest").finish())
    with DuckDBWarehouse(tmp_path) as again:
        again.record_run(RunRecord("ingest").finish())
        assert again.row_count("run_metadata") == 2


def test_file_fingerprint_changes_with_content(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\n1,2\n")
    before = file_fingerprint(path)
    path.write_bytes(b"a,b\n1,3\n")
    after = file_fingerprint(path)
    assert before["bytes"] == after["bytes"] == 8
    assert before["blake2b"] != after["blake2b"]


# -- opening --------------------------------------------------------------------------------


def test_a_folder_gets_the_default_file_and_data_persists(tmp_path: Path) -> None:
    with DuckDBWarehouse(tmp_path / "out") as wh:
        assert Path(wh.path) == tmp_path / "out" / DEFAULT_FILENAME
        wh.create_table_as("t", "SELECT 7 AS a")
    assert (tmp_path / "out" / DEFAULT_FILENAME).exists()
    with DuckDBWarehouse(tmp_path / "out" / DEFAULT_FILENAME, read_only=True) as wh:
        assert wh.read_table("t").to_pylist() == [{"a": 7}]


def test_read_only_open_of_a_missing_warehouse(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here"
    with pytest.raises(WarehouseError) as info:
        DuckDBWarehouse(missing, read_only=True)
    message = str(info.value)
    assert f"No warehouse at {missing / DEFAULT_FILENAME}" in message
    assert "customerlens ingest" in message and "customerlens demo" in message
    # looking must not create anything
    assert not missing.exists()
    with pytest.raises(WarehouseError, match="No warehouse"):
        open_warehouse(missing, read_only=True)


def test_read_only_warehouse_refuses_writes(tmp_path: Path) -> None:
    with DuckDBWarehouse(tmp_path) as wh:
        wh.create_table_as("t", "SELECT 1 AS a")
    with DuckDBWarehouse(tmp_path, read_only=True) as ro:
        with pytest.raises(WarehouseError, match="read-only"):
            ro.create_table_as("t", "SELECT 2 AS a")
        assert ro.read_table("t").to_pylist() == [{"a": 1}]


def test_unknown_engine(tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match="Unknown engine 'spark'"):
        open_warehouse(tmp_path, engine="spark")


def test_in_memory_warehouse(random_state: int) -> None:
    with DuckDBWarehouse(":memory:") as wh:
        wh.create_table_as("t", f"SELECT {random_state} AS seed")
        assert wh.scalar("SELECT seed FROM t") == random_state


def test_lend_memory_shrinks_the_buffer_pool_and_restores_it(wh: DuckDBWarehouse) -> None:
    before = wh.scalar("SELECT current_setting('memory_limit')")
    with wh.lend_memory(keep="256MB"):
        lent = wh.scalar("SELECT current_setting('memory_limit')")
        assert lent != before and lent.startswith("2")  # DuckDB shows 256MB as 244.1 MiB
        wh.create_table_as("t", "SELECT range AS i FROM range(1000)")  # still usable
    assert wh.scalar("SELECT current_setting('memory_limit')") == before
    with pytest.raises(ZeroDivisionError), wh.lend_memory(keep="256MB"):
        raise ZeroDivisionError
    assert wh.scalar("SELECT current_setting('memory_limit')") == before
