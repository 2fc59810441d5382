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
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from splink import Linker

from customerlens.resolve.backends import DuckDBBackend, SplinkBackend

LOOSE_KEYS = (
    "l.surname_metaphone = r.surname_metaphone",
    "l.first_metaphone = r.first_metaphone AND substr(l.dob, 1, 4) = substr(r.dob, 1, 4)",
    "l.dob = r.dob",
    "l.postcode_outward = r.postcode_outward AND left(l.surname, 1) = left(r.surname, 1)",
    "l.email_user = r.email_user",
    "right(l.phone, 7) = right(r.phone, 7)",
)

# The loose keys give each sampled record pairs in proportion to the number of records (a common
# surname sound is ~1% of them), so the work is sample x records. Above this product the sample
# shrinks; below it, 2,000 as before. Measured at 1,000,000 generated people (3.02M records, scale
# run 17): 661 sampled, 5,338 confident loose matches (standard error ~0.0014 at the 0.989
# estimated), 40 s of 636 s; with 2,000 sampled it had taken 96 s of 935 s on a slower machine.
LOOSE_WORK = 2_000_000_000
LARGEST_SAMPLE = 2_000
MIN_SAMPLE = 200


def sample_size_for(records: int) -> int:
    """Records sampled: LARGEST_SAMPLE, fewer once sample x records would pass LOOSE_WORK."""
    return max(MIN_SAMPLE, min(LARGEST_SAMPLE, LOOSE_WORK // max(records, 1)))


def estimate_blocking_recall(
    model: dict[str, Any],
    records: pa.Table,
    predicted: Path,
    *,
    threshold: float,
    columns: list[str],
    sample_size: int | None = None,
    seed: int = 42,
    backend: SplinkBackend | None = None,
) -> tuple[float | None, int]:
    """Return (recall estimate, number of confident loose matches it rests on).

    The estimate is None when the sample finds no confident match at all. `sample_size` defaults
    to `sample_size_for(records)`.
    """
    backend = backend or DuckDBBackend()
    full = records.select(columns)
    # a uniform sample without replacement, the same for a seed on every engine
    rng = np.random.default_rng(seed)
    size = sample_size_for(full.num_rows) if sample_size is None else sample_size
    rows = np.sort(rng.choice(full.num_rows, min(size, full.num_rows), replace=False))
    sample = full.take(pa.array(rows))
    settings = copy.deepcopy(model)
    settings["link_type"] = "link_only"
    settings["blocking_rules_to_generate_predictions"] = [
        {"blocking_rule": rule, "sql_dialect": backend.dialect} for rule in LOOSE_KEYS
    ]
    db = backend.connect()
    linker = Linker(
        [
            backend.register(db, sample),
            backend.register(db, full),
        ],
        settings,
        log_level=logging.ERROR,
    )
    loose = linker.inference.predict(threshold_match_probability=threshold, warning_mode="never")
    row = backend.query(
        db,
        f"""
        WITH confident AS (
            SELECT DISTINCT least(unique_id_l, unique_id_r) AS a,
                   greatest(unique_id_l, unique_id_r) AS b
            FROM {loose.physical_name} WHERE unique_id_l <> unique_id_r
        ),
        production AS (
            -- only the pairs the confident ones could be: a small hash table, not every pair
            SELECT least(unique_id_l, unique_id_r) AS a, greatest(unique_id_l, unique_id_r) AS b
            FROM read_parquet('{predicted}')
            WHERE least(unique_id_l, unique_id_r) IN (SELECT a FROM confident)
        )
        SELECT count(*) AS n, count(p.a) AS found
        FROM confident c LEFT JOIN production p ON p.a = c.a AND p.b = c.b
    """,
    ).to_pylist()[0]
    backend.close(db)
    n, found = int(row["n"]), int(row["found"])
    return (found / n if n else None), n
