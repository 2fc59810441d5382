"""Real-time matching without a server: parity with Splink's batch scores and standardisation,
SQL semantics checked against DuckDB, matching quality, commits surviving a batch re-run."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from customerlens.config import ResolveOptions, SourceConfig
from customerlens.ingest import ingest
from customerlens.realtime.levels import CompiledModel, UnsupportedCondition, compile_condition
from customerlens.realtime.matcher import Matcher, index_rows, standardise_record
from customerlens.resolve.pipeline import resolve
from customerlens.resolve.random_pairs import frequency_sql
from customerlens.warehouse import DuckDBWarehouse, to_arrow

FIELDS = ("first_name", "surname", "email", "phone", "postcode", "address", "date_of_birth")


def _model(con: duckdb.DuckDBPyConnection) -> dict:
    return json.loads(con.execute("SELECT model FROM match_model").fetchall()[0][0])


def test_compiled_model_reproduces_every_batch_score(shop_run: Path) -> None:
    """Every pair Splink scored in the batch gets the same levels and weight in Python."""
    with duckdb.connect(str(shop_run / "lens.duckdb"), read_only=True) as con:
        trained = _model(con)
        model = CompiledModel(trained)
        index = to_arrow(con.sql("SELECT * FROM match_index")).to_pylist()
        rows = {r["unique_id"]: r for r in index}
        # a value's frequency net of its person's own records, as the batch gave it to Splink
        share = "count(*) / sum(count(*)) OVER ()"
        tf = {
            c: dict(
                con.execute(
                    f"SELECT {c}, {frequency_sql(c, share, trained)} FROM match_index "
                    f"WHERE {c} IS NOT NULL GROUP BY 1"
                ).fetchall()
            )
            for c in model.tf_columns
        }
        pairs = con.sql("SELECT * FROM match_pairs").df()
    assert len(pairs) > 1_000
    fields = [c.removeprefix("gamma_") for c in pairs.columns if c.startswith("gamma_")]
    gammas_off, weights = 0, []
    for pair in pairs.to_dict("records"):
        score = model.score(
            rows[pair["unique_id_l"]], rows[pair["unique_id_r"]], lambda c, r: tf[c].get(r.get(c))
        )
        gammas_off += sum(score.gamma(f) != pair[f"gamma_{f}"] for f in fields)
        weights.append(abs(score.match_weight - pair["match_weight"]))
    assert gammas_off == 0
    assert max(weights) < 1e-9


def test_standardised_record_equals_the_batch(shop_run: Path) -> None:
    """A raw record standardised in Python has the batch's keys (records_std via match_index)."""
    with DuckDBWarehouse(shop_run / "lens.duckdb", read_only=True) as wh:
        raw = wh.query_df(
            f"SELECT source || ':' || record_id AS unique_id, {', '.join(FIELDS)}, full_name "
            "FROM records USING SAMPLE 400 ROWS (reservoir, 3)"
        )
        index = {r["unique_id"]: r for r in index_rows(wh).to_pylist()}
    compared = 0
    for row in raw.to_dict("records"):
        values = {k: (None if v is None or v != v else v) for k, v in row.items()}
        mine = standardise_record(values)
        batch = index[row["unique_id"]]
        for column, value in mine.items():
            if column in (
                "name_key",
                "name_sound_key",
                "first_surname_sound_key",
                "dob_key",
                "postcode_key",
            ):
                # the batch nulls too-common values of these keys; otherwise they agree
                assert batch[column] is None or batch[column] == value, (row, column)
                continue
            assert batch[column] == value, (row["unique_id"], column, batch[column], value)
            compared += 1
    assert compared > 400 * 10


SQL_VALUES = st.one_of(
    st.none(), st.sampled_from(["ann", "anne", "an", "a", "smith", "", "anna", "jo84", "jo85"])
)


@settings(max_examples=60, deadline=None)
@given(left=st.tuples(SQL_VALUES, SQL_VALUES), right=st.tuples(SQL_VALUES, SQL_VALUES))
def test_conditions_follow_duckdb_semantics(
    left: tuple[str | None, str | None], right: tuple[str | None, str | None]
) -> None:
    """Each level condition of the model, in Python and in DuckDB, on the same values
    (NULLs, empty strings and near-misses included)."""
    conditions = [
        '"first_name_l" IS NULL OR "first_name_r" IS NULL',
        "jaro_winkler_similarity(first_name_l, surname_r) >= 0.9 AND "
        "jaro_winkler_similarity(surname_l, first_name_r) >= 0.9",
        "(length(first_name_l) = 1 OR length(first_name_r) = 1) AND "
        "left(first_name_l, 1) = left(first_name_r, 1)",
        "(length(surname_l) >= 4 AND length(surname_r) >= 4) AND "
        "(contains(surname_l, surname_r) OR contains(surname_r, surname_l))",
        'levenshtein("first_name_l", "first_name_r") <= 1',
        "right(surname_l, 3) = right(surname_r, 3)",
        "substr(first_name_l, 2, 2) = substr(first_name_r, 2, 2)",
        "NOT (first_name_l = first_name_r)",
        "regexp_replace(first_name_l, '[^0-9]', '', 'g') = "
        "regexp_replace(first_name_r, '[^0-9]', '', 'g')",
        "regexp_replace(first_name_l, 'n', '') = regexp_replace(first_name_r, 'n', '')",
    ]
    l_rec = {"first_name": left[0], "surname": left[1]}
    r_rec = {"first_name": right[0], "surname": right[1]}
    with duckdb.connect() as con:
        for sql in conditions:
            expected = con.execute(
                f"SELECT coalesce(({sql}), false) FROM (SELECT ?::VARCHAR AS first_name_l, "
                "?::VARCHAR AS surname_l, ?::VARCHAR AS first_name_r, ?::VARCHAR AS surname_r)",
                [left[0], left[1], right[0], right[1]],
            ).fetchall()[0][0]
            assert (compile_condition(sql)(l_rec, r_rec) is True) == expected, sql


DATES = st.one_of(
    st.none(),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)).map(date.isoformat),
    st.sampled_from(["", "1984-02-30", "not a date", "1984-03-01"]),
)


@settings(max_examples=80, deadline=None)
@given(left=DATES, right=DATES)
def test_date_difference_conditions_follow_duckdb(left: str | None, right: str | None) -> None:
    """The "within a month / a year" birth-date levels (Splink's AbsoluteDateDifferenceLevel,
    rendered for DuckDB) in Python and in DuckDB on the same text."""
    import splink.comparison_level_library as cll

    with duckdb.connect() as con:
        for metric in ("month", "year"):
            level = cll.AbsoluteDateDifferenceLevel(
                "dob", input_is_string=True, threshold=1, metric=metric
            )
            sql = level.get_comparison_level("duckdb").sql_condition
            expected = con.execute(
                f"SELECT coalesce(({sql}), false) FROM (SELECT ?::VARCHAR AS dob_l, "
                "?::VARCHAR AS dob_r)",
                [left, right],
            ).fetchall()[0][0]
            got = compile_condition(sql)({"dob": left}, {"dob": right})
            assert (got is True) == expected, (sql, left, right)


def test_unknown_sql_is_refused_when_loading() -> None:
    with pytest.raises(UnsupportedCondition, match="regexp"):
        compile_condition("regexp_matches(first_name_l, first_name_r)")


def _perturb(row: dict, rng: np.random.Generator) -> dict:
    """The same person signing up again: a new email, or no phone, or a typo in the surname."""
    record = {f: row[f] for f in FIELDS}
    change = rng.integers(3)
    if change == 0:
        record["email"] = None
    elif change == 1:
        record["phone"] = None
    elif record["surname"] and len(record["surname"]) > 3:
        s = record["surname"]
        record["surname"] = s[:2] + s[3] + s[2] + s[4:]
    return record


def test_matcher_finds_the_customer_of_a_changed_record(shop_run: Path) -> None:
    rng = np.random.default_rng(3)
    with DuckDBWarehouse(shop_run / "lens.duckdb", read_only=True) as wh:
        matcher = Matcher(wh)
        accounts = wh.query(
            "SELECT r.*, rc.customer_id FROM records r JOIN record_customer rc "
            "USING (source, record_id) WHERE r.source = 'accounts' AND r.email IS NOT NULL "
            "AND r.phone IS NOT NULL ORDER BY r.record_id LIMIT 300"
        ).to_pylist()
        found = [matcher.match(_perturb(row, rng)) for row in accounts]
        stranger = matcher.match(
            {"first_name": "Zebedee", "surname": "Quasimodo", "postcode": "ZZ9 9ZZ"}
        )
    pairs = list(zip(found, accounts, strict=True))
    right = sum(r.customer_id == row["customer_id"] for r, row in pairs)
    wrong = sum(r.customer_id not in (None, row["customer_id"]) for r, row in pairs)
    assert right / len(accounts) >= 0.95
    assert wrong / len(accounts) <= 0.02
    assert all(0 <= r.match_probability <= 1 for r in found)
    best = found[0]
    assert best.explanation["fields"] and best.tier in ("auto", "review")
    assert stranger.customer_id is None and stranger.tier == "single"


def test_committed_records_keep_their_ids_through_a_batch_rerun(
    warehouse_copy: Path, shop_files: dict[str, Path]
) -> None:
    """commit=true writes survive a new ingest + resolve: the next batch keeps their ids."""
    new = {"first_name": "Philippa", "surname": "Quennell-Oakes", "email": "pq@example.org",
           "postcode": "ZZ1 1ZZ", "date_of_birth": "1979-04-03"}  # fmt: skip
    with DuckDBWarehouse(warehouse_copy / "lens.duckdb") as wh:
        matcher = Matcher(wh)
        existing = wh.query(
            "SELECT r.*, rc.customer_id FROM records r JOIN record_customer rc "
            "USING (source, record_id) WHERE source = 'accounts' ORDER BY record_id LIMIT 1"
        ).to_pylist()[0]
        linked = matcher.commit({f: existing[f] for f in FIELDS}, "signup-1")
        created = matcher.commit(new, "signup-2")
        again = matcher.commit(new, "signup-2")
        assert linked.customer_id == existing["customer_id"] and not linked.created
        assert created.created and again.customer_id == created.customer_id
        assert wh.scalar("SELECT count(*) FROM record_customer WHERE source = 'api'") == 2
        assert wh.scalar("SELECT records FROM customers WHERE customer_id = ?",
                         [created.customer_id]) == 1  # fmt: skip
        ingest(wh, {r: SourceConfig(path=p) for r, p in shop_files.items()})
        resolve(wh, ResolveOptions())
        after = dict(
            wh.query("SELECT record_id, customer_id FROM record_customer WHERE source = 'api'")
            .to_pandas()
            .itertuples(index=False, name=None)
        )
    assert after == {"signup-1": linked.customer_id, "signup-2": created.customer_id}
