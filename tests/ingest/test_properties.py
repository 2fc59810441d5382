"""Property: whatever the input, every row of a file is loaded or rejected, exactly once.

Random small accounts and transactions files (duplicate and blank ids, dates in several formats
and garbage, numbers with garbage, extra columns, any Unicode in names) are ingested with the most
lenient options; no row may vanish or appear twice, and every rejected row says why.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import tempfile
import unicodedata
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customerlens.config import IngestOptions, SourceConfig
from customerlens.ingest import ingest
from customerlens.tables import ACCOUNTS, TRANSACTIONS
from customerlens.warehouse import DuckDBWarehouse

LENIENT = IngestOptions(max_bad_share=1.0, max_bad_share_optional=1.0)

PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    database=None,  # no .hypothesis folder in the working tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- values ---------------------------------------------------------------------------------

#: a small pool, so duplicates (identical or conflicting rows) are common; blanks included
IDS = st.sampled_from(["1", "2", "3", "17", "A-9", "a-9", "", " ", " 2 "])

_DATE = st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2030, 12, 31))
DATES = st.one_of(
    _DATE.map(dt.date.isoformat),
    _DATE.map(lambda d: d.strftime("%d/%m/%Y")),
    _DATE.map(lambda d: d.strftime("%Y%m%d")),
    _DATE.map(lambda d: f"{d.isoformat()} 10:30:00"),
    st.sampled_from(["", "notadate", "31/31/2020", "2020-02-30", "yesterday", "0", "--"]),
)
NUMBERS = st.one_of(
    st.integers(-5, 500).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: f"{x:.2f}"),
    st.sampled_from(["", "abc", "£3.50", "1,234.50", "12,50", "n/a", "-", "1e3", "∞"]),
)
#: any Unicode but surrogates and NUL (a NUL byte makes the whole file unreadable, by design)
TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)

_EXTRA_NAME = st.from_regex(r"[a-z][a-z_]{0,7}", fullmatch=True)


@st.composite
def tables(draw: st.DrawFn, role: str) -> tuple[list[str], list[list[str]]]:
    """A header and 1-30 rows for ``role``, with 0-3 random extra columns."""
    if role == ACCOUNTS:
        fixed = {"customer_id": IDS, "first_name": TEXT, "surname": TEXT, "date_of_birth": DATES}
    else:
        money = draw(st.sampled_from(["price", "amount"]))
        fixed = {"customer_id": IDS, "event_time": DATES, "quantity": NUMBERS, money: NUMBERS}
    extras = draw(st.lists(_EXTRA_NAME.filter(lambda n: n not in fixed), max_size=3, unique=True))
    columns = {**fixed, **{name: st.one_of(TEXT, NUMBERS, DATES) for name in extras}}
    row = st.tuples(*columns.values()).map(list)
    rows = draw(st.lists(row, min_size=1, max_size=30))
    return list(columns), rows


def _write(path: Path, header: list[str], rows: list[list[str]], delimiter: str = ",") -> Path:
    # CRLF, as Excel writes: csv then quotes every value holding a CR or LF (with "\n" as line
    # end it would leave a lone CR unquoted, which is a line break to most readers)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _check_every_row_once(wh: DuckDBWarehouse, role: str, n_rows: int) -> None:
    loaded = wh.query(f"SELECT source_row FROM {role}").column("source_row").to_pylist()
    rejected = wh.query(
        "SELECT row_number, reason, raw FROM rejected WHERE source = ?", [role]
    ).to_pylist()
    numbers = loaded + [r["row_number"] for r in rejected]
    # nothing lost, nothing duplicated, nothing invented
    assert sorted(numbers) == list(range(1, n_rows + 1))
    for r in rejected:
        assert r["reason"] and r["reason"].strip()
        assert isinstance(json.loads(r["raw"]), dict)


# -- the properties -------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(
    accounts=tables(ACCOUNTS),
    transactions=tables(TRANSACTIONS),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
)
def test_every_input_row_is_loaded_or_rejected_exactly_once(
    accounts: tuple[list[str], list[list[str]]],
    transactions: tuple[list[str], list[list[str]]],
    delimiter: str,
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        files = {
            ACCOUNTS: _write(root / "accounts.csv", *accounts, delimiter=delimiter),
            TRANSACTIONS: _write(root / "transactions.csv", *transactions, delimiter=delimiter),
        }
        sources = {
            role: SourceConfig(path=path, on_duplicate_id="reject") for role, path in files.items()
        }
        with DuckDBWarehouse(root / "wh") as wh:
            report = ingest(wh, sources, LENIENT)
            for role, (_, rows) in ((ACCOUNTS, accounts), (TRANSACTIONS, transactions)):
                source = report.sources[role]
                assert source.rows_read == len(rows)
                assert source.rows_loaded + source.rows_rejected == len(rows)
                assert wh.row_count(role) == source.rows_loaded
                _check_every_row_once(wh, role, len(rows))
            # kept account ids are unique once duplicates are rejected
            assert wh.scalar("SELECT count(*) - count(DISTINCT customer_id) FROM accounts") == 0
            assert wh.scalar("SELECT count(*) FROM accounts WHERE customer_id IS NULL") == 0


@PROPERTY_SETTINGS
@given(names=st.lists(TEXT, min_size=1, max_size=20))
def test_any_unicode_name_round_trips(names: list[str]) -> None:
    rows = [[str(i), name] for i, name in enumerate(names, start=1)]
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder) / "crm.csv", ["crm_id", "first_name"], rows)
        with DuckDBWarehouse(Path(folder) / "wh") as wh:
            ingest(wh, {"crm": SourceConfig(path=path)}, LENIENT)
            stored = wh.query("SELECT first_name FROM crm ORDER BY source_row").to_pylist()
    # values are trimmed and an empty one is NULL; otherwise text is kept exactly
    assert [r["first_name"] for r in stored] == [_trimmed(n) for n in names]


#: what DuckDB's trim() removes: the Unicode space separators (category Zs)
_SPACES = "".join(c for c in map(chr, range(0x3001)) if unicodedata.category(c) == "Zs")


def _trimmed(value: str) -> str | None:
    return value.strip(_SPACES) or None


def test_data_quality_lists_only_kept_rows(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "a.csv",
        ["customer_id", "date_of_birth"],
        [["", "garbage"], ["1", "1990-01-01"], ["2", "1991-01-01"]],
    )
    with DuckDBWarehouse(tmp_path / "wh") as wh:
        ingest(wh, {ACCOUNTS: SourceConfig(path=path)}, LENIENT)
        assert wh.scalar("SELECT row_number FROM rejected") == 1
        assert wh.row_count("data_quality") == 0
