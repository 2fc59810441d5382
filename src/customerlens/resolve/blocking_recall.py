"""Estimating blocking recall without labels.

Blocking decides which pairs are ever scored, so a match it misses is lost for good. Without
truth, recall is estimated *relative to a much looser blocking*: a random sample of records is
linked to all records under single-field keys (surname sound, first-name sound, date of birth,
district, email user, last phone digits), those pairs are scored with the trained model, and the
estimate is the share of the confident matches (probability >= the auto threshold) that the
production rules also generate. Matches that share none of the loose keys stay invisible, so
this is an upper bound; on generated data the benchmark reports it beside the true recall.
"""

from __future__ import annotations

import copy
import logging
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from splink import DuckDBAPI, Linker

from customerlens.warehouse import default_memory_limit, to_arrow

LOOSE_KEYS = (
    "l.surname_metaphone = r.surname_metaphone",
    "l.first_metaphone = r.first_metaphone AND substr(l.dob, 1, 4) = substr(r.dob, 1, 4)",
    "l.dob = r.dob",
    "l.postcode_outward = r.postcode_outward AND left(l.surname, 1) = left(r.surname, 1)",
    "l.email_user = r.email_user",
    "right(l.phone, 7) = right(r.phone, 7)",
)


def estimate_blocking_recall(
    model: dict[str, Any],
    records: pa.Table,
    predicted: Path,
    *,
    threshold: float,
    columns: list[str],
    sample_size: int = 2_000,
    seed: int = 42,
) -> tuple[float | None, int]:
    """Return (recall estimate, number of confident loose matches it rests on).

    The estimate is None when the sample finds no confident match at all.
    """
    full = records.select(columns)
    con = duckdb.connect()
    spill = Path(tempfile.gettempdir()) / "customerlens-splink"
    con.execute(f"SET temp_directory = '{spill}'").fetchall()
    con.execute(f"SET memory_limit = '{default_memory_limit()}'").fetchall()
    con.register("__full", full)
    sample = to_arrow(
        con.sql(
            f"SELECT * FROM __full USING SAMPLE reservoir({int(sample_size)} ROWS) "
            f"REPEATABLE ({int(seed)})"
        )
    )
    settings = copy.deepcopy(model)
    settings["link_type"] = "link_only"
    settings["blocking_rules_to_generate_predictions"] = [
        {"blocking_rule": rule, "sql_dialect": "duckdb"} for rule in LOOSE_KEYS
    ]
    db = DuckDBAPI(connection=con)
    linker = Linker(
        [
            db.register(sample, dataset_display_name="sample"),
            db.register(full, dataset_display_name="everyone"),
        ],
        settings,
        log_level=logging.ERROR,
    )
    loose = linker.inference.predict(threshold_match_probability=threshold, warning_mode="never")
    con.execute(
        "CREATE VIEW __predicted AS SELECT unique_id_l, unique_id_r "
        f"FROM read_parquet('{predicted}')"
    ).fetchall()
    row = con.execute(f"""
        WITH confident AS (
            SELECT DISTINCT least(unique_id_l, unique_id_r) AS a,
                   greatest(unique_id_l, unique_id_r) AS b
            FROM {loose.physical_name} WHERE unique_id_l <> unique_id_r
        ),
        production AS (
            SELECT least(unique_id_l, unique_id_r) AS a, greatest(unique_id_l, unique_id_r) AS b
            FROM __predicted
        )
        SELECT count(*) AS n, count(p.a) AS found
        FROM confident c LEFT JOIN production p USING (a, b)
    """).fetchall()[0]
    con.close()
    n, found = int(row[0]), int(row[1])
    return (found / n if n else None), n
