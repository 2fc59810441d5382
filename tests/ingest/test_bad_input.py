"""Bad input: a clear message naming the file and what to do, or rows set aside with a reason.

Every error case runs through the Python API (:func:`customerlens.ingest.ingest`) and through the
``customerlens ingest`` command, which must exit non-zero without a traceback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from customerlens.cli import app
from customerlens.config import IngestOptions, SourceConfig, load_config
from customerlens.errors import ConfigError, IngestError
from customerlens.ingest import ingest
from customerlens.ingest.files import detect_encoding
from customerlens.tables import ACCOUNTS, TRANSACTIONS
from customerlens.warehouse import DuckDBWarehouse

runner = CliRunner()


# -- helpers --------------------------------------------------------------------------------


def _write(path: Path, content: str | bytes, encoding: str = "utf-8") -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding=encoding, newline="")
    return path


def _good_transactions(n: int, start: int = 1) -> str:
    return "".join(
        f"c{i % 7},2021-03-{i % 28 + 1:02d} 10:{i % 60:02d}:00,{i % 3 + 1},{i % 50 + 0.5}\n"
        for i in range(start, start + n)
    )


def _api_error(tmp_path: Path, role: str, path: Path, **source: object) -> str:
    wh = DuckDBWarehouse(tmp_path / "wh")
    try:
        with pytest.raises(IngestError) as info:
            ingest(wh, {role: SourceConfig(path=path, **source)})
    finally:
        wh.close()
    return str(info.value)


def _cli(tmp_path: Path, *args: str) -> Result:
    return runner.invoke(app, ["ingest", "--out", str(tmp_path / "out"), *args])


def _assert_clean_failure(result: Result, *fragments: str) -> None:
    """Non-zero exit, a message (not a crash), no traceback, and every fragment shown."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert "error:" in result.output
    for fragment in fragments:
        assert fragment in result.output


def _ingest_ok(tmp_path: Path, options: IngestOptions | None = None, **paths: Path):
    wh = DuckDBWarehouse(tmp_path / "wh")
    report = ingest(wh, {role: SourceConfig(path=p) for role, p in paths.items()}, options)
    for role, source in report.sources.items():
        # nothing vanishes: every row read is loaded or rejected
        assert source.rows_loaded + source.rows_rejected == source.rows_read
        assert wh.row_count(role) == source.rows_loaded
    return wh, report


# -- errors: the same cases through the API and the CLI -------------------------------------


@dataclass(frozen=True)
class BadFile:
    """An input that must stop ingestion, and what the message must say."""

    id: str
    role: str
    make: Callable[[Path], Path]
    fragments: tuple[str, ...]


def _rows(header: str, *rows: str) -> str:
    return "\n".join((header, *rows)) + "\n"


BAD_FILES = [
    BadFile(
        "missing file",
        ACCOUNTS,
        lambda d: d / "nowhere.csv",
        ("does not exist", "Check the path"),
    ),
    BadFile(
        "empty file",
        ACCOUNTS,
        lambda d: _write(d / "empty.csv", b""),
        ("is empty (0 bytes)", "Export it again"),
    ),
    BadFile(
        "blank lines only",
        ACCOUNTS,
        lambda d: _write(d / "blank.csv", "\n \n\n"),
        ("only blank lines", "Export it again"),
    ),
    BadFile(
        "header only",
        ACCOUNTS,
        lambda d: _write(d / "header.csv", "customer_id,first_name,surname\n"),
        ("has a header but no data rows",),
    ),
    BadFile(
        "no id column",
        ACCOUNTS,
        lambda d: _write(d / "noid.csv", _rows("Customer Nr,email,name", "1,a@x.org,Ann")),
        (
            "no 'customer_id' column",
            "Columns found: Customer Nr, email, name.",
            "Closest match: 'Customer Nr'.",
            "Name the column in customerlens.toml",
        ),
    ),
    BadFile(
        "transactions without a price",
        TRANSACTIONS,
        lambda d: _write(d / "noprice.csv", _rows("customer_id,date,qty", "1,2021-01-01,2")),
        ("no 'price' or 'amount' column", "Columns found: customer_id, date, qty."),
    ),
    BadFile(
        "event times unparseable",
        TRANSACTIONS,
        lambda d: _write(
            d / "dates.csv",
            _rows(
                "customer_id,Order Date,price",
                "1,2021-01-05,2.5",
                "2,yesterday,1.0",
                "3,2021-01-07,3.0",
                "4,soon,4.0",
            ),
        ),
        (
            "2 of 4 values in column 'Order Date'",
            "row 2: 'yesterday'",
            "row 4: 'soon'",
            "set date_format in customerlens.toml",
            "max_bad_share",
        ),
    ),
    BadFile(
        "birth dates unparseable",
        ACCOUNTS,
        lambda d: _write(
            d / "dob.csv",
            _rows("customer_id,DOB", "1,1990-01-02", "2,n/a", "3,unknown", "4,ask"),
        ),
        (
            "3 of 4 values in column 'DOB'",
            "row 2: 'n/a'",
            "set date_format",
            "max_bad_share_optional",
        ),
    ),
    BadFile(
        "prices unparseable",
        TRANSACTIONS,
        lambda d: _write(
            d / "prices.csv",
            _rows("customer_id,event_time,price", "1,2021-01-05,ten", "2,2021-01-06,1.5"),
        ),
        ("1 of 2 values in column 'price'", "row 1: 'ten'", "Check the column mapping"),
    ),
    BadFile(
        "conflicting duplicate id",
        ACCOUNTS,
        lambda d: _write(
            d / "dups.csv", _rows("customer_id,first_name", "7,Ann", "8,Bob", "7,Anne")
        ),
        ("'7' at rows 1 and 3", "Ids must be unique", 'on_duplicate_id = "reject"'),
    ),
    BadFile(
        "utf-16 with BOM",
        ACCOUNTS,
        lambda d: _write(d / "utf16.csv", "customer_id,first_name\n1,José\n", "utf-16"),
        ("UTF-16", "Save it as UTF-8"),
    ),
    BadFile(
        "windows-1252 curly quote",
        ACCOUNTS,
        lambda d: _write(d / "cp1252.csv", "customer_id,surname\n1,O\u2019Neil\n".encode("cp1252")),
        ("neither UTF-8 nor Latin-1", "0x92", "Windows-1252", "Save the file as UTF-8"),
    ),
    BadFile(
        "windows-1252 euro sign",
        TRANSACTIONS,
        lambda d: _write(
            d / "euro.csv",
            "customer_id,event_time,price\n1,2021-01-01,\u20ac5\n".encode("cp1252"),
        ),
        ("neither UTF-8 nor Latin-1", "0x80", "Save the file as UTF-8"),
    ),
    BadFile(
        "mostly malformed lines",
        ACCOUNTS,
        lambda d: _write(d / "ragged.csv", _rows("customer_id,name", "1,a,x", "2,b,y", "3,c")),
        ("2 of 3 rows", "could not be split into columns", "Check the delimiter and quoting"),
    ),
]


@pytest.mark.parametrize("case", BAD_FILES, ids=[c.id for c in BAD_FILES])
def test_bad_file_through_the_api(tmp_path: Path, case: BadFile) -> None:
    path = case.make(tmp_path)
    message = _api_error(tmp_path, case.role, path)
    assert path.name in message
    for fragment in case.fragments:
        assert fragment in message


@pytest.mark.parametrize("case", BAD_FILES, ids=[c.id for c in BAD_FILES])
def test_bad_file_through_the_cli(tmp_path: Path, case: BadFile) -> None:
    path = case.make(tmp_path)
    result = _cli(tmp_path, f"--{case.role}", str(path))
    _assert_clean_failure(result, path.name, *case.fragments)


def test_header_only_message_says_what_to_do(tmp_path: Path) -> None:
    path = _write(tmp_path / "header.csv", "customer_id,first_name\n")
    message = _api_error(tmp_path, ACCOUNTS, path)
    assert re.search(r"\b(Export|Check|Fix|Save|Add)\b", message)


@pytest.mark.parametrize(
    "content, section",
    [
        (_rows("customer_id,first_name", "7,Ann", "8,Bob", "7,Anne"), "[sources.accounts]"),
        (_rows("Customer Nr,email", "1,a@x.org"), "[sources.accounts.columns]"),
        (_rows("customer_id,date_of_birth", "1,x", "2,y"), "[ingest]"),
    ],
    ids=["duplicate id", "missing column", "threshold"],
)
def test_cli_error_keeps_the_config_section_it_names(
    tmp_path: Path, content: str, section: str
) -> None:
    path = _write(tmp_path / "accounts.csv", content)
    assert section in _api_error(tmp_path, ACCOUNTS, path)  # the API message has it
    result = _cli(tmp_path, "--accounts", str(path))
    _assert_clean_failure(result, section)


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    message = _api_error(tmp_path, ACCOUNTS, tmp_path)
    assert "is a folder" in message and "give the path of a file" in message


# -- rows set aside, not lost ---------------------------------------------------------------


def test_a_few_unparseable_event_times_are_rejected_with_the_reason(tmp_path: Path) -> None:
    lines = _good_transactions(150).splitlines(keepends=True)
    lines[76] = "c9,notadate,1,2.0\n"  # data row 77
    path = _write(tmp_path / "t.csv", "customer_id,event_time,quantity,price\n" + "".join(lines))
    wh, report = _ingest_ok(tmp_path, transactions=path)
    assert report.sources[TRANSACTIONS].rows_read == 150
    assert wh.row_count(TRANSACTIONS) == 149
    rejected = wh.query("SELECT * FROM rejected").to_pylist()
    assert len(rejected) == 1
    row = rejected[0]
    assert (row["source"], row["row_number"]) == (TRANSACTIONS, 77)
    assert row["reason"] == "unparseable event_time: notadate"
    assert json.loads(row["raw"]) == {
        "customer_id": "c9",
        "event_time": "notadate",
        "quantity": "1",
        "price": "2.0",
    }
    assert wh.scalar("SELECT count(*) FROM transactions WHERE source_row = 77") == 0
    assert wh.scalar("SELECT customer_id FROM transactions WHERE source_row = 78") == "c1"
    assert dict(report.sources[TRANSACTIONS].rejected) == {"unparseable event_time": 1}


def test_a_missing_event_time_is_rejected(tmp_path: Path) -> None:
    body = _good_transactions(120) + "c3,,1,2.0\n"
    path = _write(tmp_path / "t.csv", "customer_id,event_time,quantity,price\n" + body)
    wh, _ = _ingest_ok(tmp_path, transactions=path)
    assert wh.query("SELECT row_number, reason FROM rejected").to_pylist() == [
        {"row_number": 121, "reason": "missing event_time"}
    ]


def test_a_few_unparseable_birth_dates_are_nulled_and_listed(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "a.csv",
        _rows(
            "customer_id,first_name,DOB",
            "1,Ann,1990-01-02",
            "2,Bob,1985-12-31",
            "3,Cy,31st of May",
            "4,Di,1970-06-15",
        ),
    )
    wh, _ = _ingest_ok(tmp_path, accounts=path)
    rows = wh.query(
        "SELECT source_row, CAST(date_of_birth AS VARCHAR) AS dob FROM accounts ORDER BY 1"
    ).to_pylist()
    # the row is kept; only the value is nulled
    assert rows == [
        {"source_row": 1, "dob": "1990-01-02"},
        {"source_row": 2, "dob": "1985-12-31"},
        {"source_row": 3, "dob": None},
        {"source_row": 4, "dob": "1970-06-15"},
    ]
    assert wh.row_count("rejected") == 0
    assert wh.query("SELECT * FROM data_quality").to_pylist() == [
        {
            "source": ACCOUNTS,
            "row_number": 3,
            "column": "DOB",
            "value": "31st of May",
            "problem": "unparseable date; set to null",
        }
    ]


def test_exact_duplicate_rows_are_rejected(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "a.csv",
        _rows("customer_id,first_name,email", "7,Ann,a@x.org", "8,Bob,b@x.org", "7,Ann,a@x.org"),
    )
    wh, _ = _ingest_ok(tmp_path, accounts=path)
    assert wh.query("SELECT customer_id FROM accounts ORDER BY source_row").to_pylist() == [
        {"customer_id": "7"},
        {"customer_id": "8"},
    ]
    assert wh.query("SELECT row_number, reason FROM rejected").to_pylist() == [
        {"row_number": 3, "reason": "exact duplicate of row 1"}
    ]


def _config(tmp_path: Path, body: str) -> Path:
    return _write(tmp_path / "customerlens.toml", body)


def test_on_duplicate_id_reject_keeps_the_first_row(tmp_path: Path) -> None:
    _write(
        tmp_path / "accounts.csv",
        _rows("customer_id,first_name", "7,Ann", "8,Bob", "7,Anne", "8,Bobby", "9,Cy"),
    )
    config = load_config(
        _config(tmp_path, '[sources.accounts]\npath = "accounts.csv"\non_duplicate_id = "reject"\n')
    )
    wh = DuckDBWarehouse(tmp_path / "wh")
    ingest(wh, config.sources, config.ingest)
    assert wh.query(
        "SELECT customer_id, first_name FROM accounts ORDER BY source_row"
    ).to_pylist() == [
        {"customer_id": "7", "first_name": "Ann"},
        {"customer_id": "8", "first_name": "Bob"},
        {"customer_id": "9", "first_name": "Cy"},
    ]
    assert wh.query("SELECT row_number, reason FROM rejected ORDER BY 1").to_pylist() == [
        {"row_number": 3, "reason": "duplicate customer_id, first seen at row 1"},
        {"row_number": 4, "reason": "duplicate customer_id, first seen at row 2"},
    ]


def test_on_duplicate_id_reject_through_the_cli(tmp_path: Path) -> None:
    _write(tmp_path / "accounts.csv", _rows("customer_id,first_name", "7,Ann", "7,Anne"))
    config = _config(
        tmp_path, '[sources.accounts]\npath = "accounts.csv"\non_duplicate_id = "reject"\n'
    )
    result = _cli(tmp_path, "--config", str(config))
    assert result.exit_code == 0, result.output
    with DuckDBWarehouse(tmp_path / "out", read_only=True) as wh:
        assert wh.query("SELECT first_name FROM accounts").to_pylist() == [{"first_name": "Ann"}]
        assert wh.scalar("SELECT reason FROM rejected") == (
            "duplicate customer_id, first seen at row 1"
        )


# -- encodings ------------------------------------------------------------------------------


def test_latin1_is_read(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "a.csv",
        _rows("customer_id,first_name,surname", "1,José,Muñoz", "2,Zoë,Brontë"),
        encoding="latin-1",
    )
    assert detect_encoding(path) == "latin-1"
    wh, _ = _ingest_ok(tmp_path, accounts=path)
    assert wh.query("SELECT first_name, surname FROM accounts ORDER BY source_row").to_pylist() == [
        {"first_name": "José", "surname": "Muñoz"},
        {"first_name": "Zoë", "surname": "Brontë"},
    ]


def test_utf8_with_bom_is_read(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "a.csv",
        _rows("customer_id,first_name", "1,José", "2,Łukasz", "3,李"),
        encoding="utf-8-sig",
    )
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert detect_encoding(path) == "utf-8"
    wh, report = _ingest_ok(tmp_path, accounts=path)
    # the BOM is not part of the first column's name
    assert report.sources[ACCOUNTS].mapping["customer_id"] == "customer_id"
    assert wh.query("SELECT customer_id, first_name FROM accounts ORDER BY 1").to_pylist() == [
        {"customer_id": "1", "first_name": "José"},
        {"customer_id": "2", "first_name": "Łukasz"},
        {"customer_id": "3", "first_name": "李"},
    ]


def test_latin1_through_the_cli(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", _rows("customer_id,first_name", "1,José"), "latin-1")
    result = _cli(tmp_path, "--accounts", str(path))
    assert result.exit_code == 0, result.output
    with DuckDBWarehouse(tmp_path / "out", read_only=True) as wh:
        assert wh.scalar("SELECT first_name FROM accounts") == "José"


# -- layout: delimiters, malformed lines, whitespace ----------------------------------------


def test_a_line_with_too_many_fields_is_rejected_and_the_rest_load(tmp_path: Path) -> None:
    rows = [f"{i},name{i}" for i in range(1, 151)]
    rows[59] = "60,name60,surplus"
    path = _write(tmp_path / "a.csv", _rows("customer_id,first_name", *rows))
    wh, report = _ingest_ok(tmp_path, accounts=path)
    assert report.sources[ACCOUNTS].rows_read == 150
    assert wh.row_count(ACCOUNTS) == 149
    rejected = wh.query("SELECT * FROM rejected").to_pylist()
    assert len(rejected) == 1
    assert rejected[0]["row_number"] == 60
    assert rejected[0]["reason"].startswith("too many columns")
    assert rejected[0]["raw"] == "60,name60,surplus"
    # rows after the bad line keep their own numbers
    numbered = wh.query(
        "SELECT source_row, customer_id FROM accounts WHERE source_row BETWEEN 59 AND 61 ORDER BY 1"
    ).to_pylist()
    assert numbered == [
        {"source_row": 59, "customer_id": "59"},
        {"source_row": 61, "customer_id": "61"},
    ]


@pytest.mark.parametrize("delimiter", [";", "\t", "|"], ids=["semicolon", "tab", "pipe"])
def test_delimiter_is_sniffed(tmp_path: Path, delimiter: str) -> None:
    rows = [
        ["customer_id", "first_name", "surname", "postcode"],
        ["1", "Ann", "Lee", "SW1A 1AA"],
        ["2", "Bob", "Stone, Jr", "M1 1AE"],
    ]
    text = "".join(delimiter.join(r) + "\n" for r in rows)
    path = _write(tmp_path / "a.csv", text)
    wh, _ = _ingest_ok(tmp_path, accounts=path)
    assert wh.query(
        "SELECT customer_id, first_name, surname, postcode FROM accounts ORDER BY 1"
    ).to_pylist() == [
        {"customer_id": "1", "first_name": "Ann", "surname": "Lee", "postcode": "SW1A 1AA"},
        {"customer_id": "2", "first_name": "Bob", "surname": "Stone, Jr", "postcode": "M1 1AE"},
    ]


def test_semicolon_file_with_decimal_commas(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "t.csv",
        _rows(
            "order_date;qty;unit_price;customer_id", "03.02.2021;2;12,50;1", "04.02.2021;1;3,99;2"
        ),
    )
    wh, _ = _ingest_ok(tmp_path, transactions=path)
    rows = wh.query(
        "SELECT CAST(event_time AS VARCHAR) AS t, price FROM transactions ORDER BY source_row"
    ).to_pylist()
    assert rows == [
        {"t": "2021-02-03 00:00:00", "price": 12.5},
        {"t": "2021-02-04 00:00:00", "price": 3.99},
    ]


CDNOW_LIKE = " 00004 19970101  2   29.33\n 00004 19970118  2   29.73\n 00021 19970101  3   63.34\n"


def _check_cdnow_like(wh: DuckDBWarehouse) -> None:
    rows = wh.query(
        "SELECT source_row, customer_id, CAST(event_time AS DATE)::VARCHAR AS d, quantity, "
        "amount, price FROM transactions ORDER BY source_row"
    ).to_pylist()
    assert rows == [
        {
            "source_row": 1,
            "customer_id": "00004",
            "d": "1997-01-01",
            "quantity": 2.0,
            "amount": 29.33,
            "price": None,
        },
        {
            "source_row": 2,
            "customer_id": "00004",
            "d": "1997-01-18",
            "quantity": 2.0,
            "amount": 29.73,
            "price": None,
        },
        {
            "source_row": 3,
            "customer_id": "00021",
            "d": "1997-01-01",
            "quantity": 3.0,
            "amount": 63.34,
            "price": None,
        },
    ]


def test_whitespace_file_with_header_is_detected(tmp_path: Path) -> None:
    path = _write(tmp_path / "cd.txt", "customer_id event_time quantity amount\n" + CDNOW_LIKE)
    wh, _ = _ingest_ok(tmp_path, transactions=path)
    _check_cdnow_like(wh)


def test_whitespace_file_without_header_through_the_api(tmp_path: Path) -> None:
    path = _write(tmp_path / "cd.txt", CDNOW_LIKE)
    wh = DuckDBWarehouse(tmp_path / "wh")
    source = SourceConfig(
        path=path,
        format="whitespace",
        header=False,
        column_names=["customer_id", "event_time", "quantity", "amount"],
    )
    ingest(wh, {TRANSACTIONS: source})
    _check_cdnow_like(wh)


@pytest.mark.parametrize("with_format", [True, False], ids=["--format", "detected"])
def test_whitespace_file_without_header_through_the_cli(tmp_path: Path, with_format: bool) -> None:
    path = _write(tmp_path / "cd.txt", CDNOW_LIKE)
    args = [
        "--transactions",
        str(path),
        "--columns",
        "transactions=customer_id,event_time,quantity,amount",
    ]
    if with_format:
        args += ["--format", "transactions=whitespace"]
    result = _cli(tmp_path, *args)
    assert result.exit_code == 0, result.output
    with DuckDBWarehouse(tmp_path / "out", read_only=True) as wh:
        _check_cdnow_like(wh)


def test_whitespace_file_with_header_through_the_cli(tmp_path: Path) -> None:
    path = _write(tmp_path / "cd.txt", "customer_id event_time quantity amount\n" + CDNOW_LIKE)
    result = _cli(tmp_path, "--transactions", str(path), "--format", "transactions=whitespace")
    assert result.exit_code == 0, result.output
    with DuckDBWarehouse(tmp_path / "out", read_only=True) as wh:
        _check_cdnow_like(wh)


def _ragged_whitespace(tmp_path: Path) -> Path:
    body = CDNOW_LIKE + " 00022 19970102 1\n" + " 00023 19970103 1 5.00\n"
    return _write(tmp_path / "cd.txt", "customer_id event_time quantity amount\n" + body)


def _check_ragged(wh: DuckDBWarehouse) -> None:
    assert wh.query("SELECT row_number, reason FROM rejected").to_pylist() == [
        {"row_number": 4, "reason": "wrong number of fields: expected 4, found 3"}
    ]
    assert wh.scalar("SELECT customer_id FROM transactions WHERE source_row = 5") == "00023"
    assert wh.row_count(TRANSACTIONS) == 4


def test_whitespace_line_with_wrong_field_count_is_rejected(tmp_path: Path) -> None:
    wh = DuckDBWarehouse(tmp_path / "wh")
    source = SourceConfig(path=_ragged_whitespace(tmp_path), format="whitespace")
    ingest(wh, {TRANSACTIONS: source}, IngestOptions(max_bad_share=0.5))
    _check_ragged(wh)


def test_one_ragged_line_does_not_defeat_whitespace_detection(tmp_path: Path) -> None:
    wh, _ = _ingest_ok(
        tmp_path, IngestOptions(max_bad_share=0.5), transactions=_ragged_whitespace(tmp_path)
    )
    _check_ragged(wh)


def test_whitespace_file_without_header_or_names_asks_for_a_mapping(tmp_path: Path) -> None:
    path = _write(tmp_path / "cd.txt", CDNOW_LIKE)
    message = _api_error(tmp_path, TRANSACTIONS, path)
    assert "Columns found: column1, column2, column3, column4." in message
    assert "customerlens.toml" in message


def test_a_blank_line_does_not_shift_row_numbers(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", "customer_id,first_name\n1,Ann\n\n3,Cy\n4,Di\n")
    wh, _ = _ingest_ok(tmp_path, accounts=path)
    assert wh.query("SELECT source_row, customer_id FROM accounts ORDER BY 1").to_pylist() == [
        {"source_row": 1, "customer_id": "1"},
        {"source_row": 3, "customer_id": "3"},
        {"source_row": 4, "customer_id": "4"},
    ]


def test_mixed_line_endings_are_read(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", b"customer_id,first_name\n1,Ann\n2,Bob\r\n")
    wh, _ = _ingest_ok(tmp_path, accounts=path)
    assert wh.query("SELECT customer_id, first_name FROM accounts ORDER BY 1").to_pylist() == [
        {"customer_id": "1", "first_name": "Ann"},
        {"customer_id": "2", "first_name": "Bob"},
    ]


def test_a_stray_carriage_return_never_duplicates_a_row_number(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", b"customer_id,name,v\n1,a,0\n2,x,\r0\n")
    wh, report = _ingest_ok(tmp_path, IngestOptions(max_bad_share=1.0), accounts=path)
    numbers = (
        wh.query("SELECT source_row AS n FROM accounts UNION ALL SELECT row_number FROM rejected")
        .column("n")
        .to_pylist()
    )
    assert len(numbers) == len(set(numbers))
    assert report.sources[ACCOUNTS].rows_read <= 3


# -- customerlens.toml ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, fragments",
    [
        ('[sources.shop]\npath = "a.csv"\n', ("unknown source role(s) ['shop']", "accounts")),
        ('[sources.accounts]\npath = "a.csv"\ncolour = "red"\n', ("sources.accounts.colour",)),
        ("[ingest]\nmax_bad_share = 0.1\nstrict = true\n", ("ingest.strict",)),
        ("[ingest]\nmax_bad_share = 2\n", ("ingest.max_bad_share",)),
        ('[sources.accounts\npath = "a.csv"\n', ("is not valid TOML",)),
    ],
    ids=["unknown role", "unknown source key", "unknown ingest key", "out of range", "syntax"],
)
def test_bad_config_file(tmp_path: Path, body: str, fragments: tuple[str, ...]) -> None:
    _write(tmp_path / "a.csv", _rows("customer_id", "1"))
    config = _config(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_config(config)
    message = str(info.value)
    assert str(config) in message
    for fragment in fragments:
        assert fragment in message
    result = _cli(tmp_path, "--config", str(config))
    _assert_clean_failure(result, config.name, *fragments)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "customerlens.toml")
    _assert_clean_failure(
        _cli(tmp_path, "--config", str(tmp_path / "customerlens.toml")), "does not exist"
    )


def test_no_source_at_all(tmp_path: Path) -> None:
    wh = DuckDBWarehouse(tmp_path / "wh")
    with pytest.raises(IngestError, match="Give at least one source"):
        ingest(wh, {})
    with pytest.raises(IngestError, match="shop"):
        ingest(wh, {"shop": SourceConfig(path=tmp_path / "a.csv")})
    _assert_clean_failure(_cli(tmp_path), "Give at least one source")


def test_option_naming_a_role_without_a_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", _rows("customer_id", "1"))
    result = _cli(tmp_path, "--accounts", str(path), "--format", "crm=csv")
    _assert_clean_failure(result, "--format names 'crm', but no crm file is given")
    result = _cli(tmp_path, "--accounts", str(path), "--columns", "accounts")
    _assert_clean_failure(result, "--columns takes ROLE=VALUE")


def test_unknown_format_option_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", _rows("customer_id", "1"))
    result = _cli(tmp_path, "--accounts", str(path), "--format", "accounts=xlsx")
    _assert_clean_failure(result, "xlsx")


MAPPED_ACCOUNTS = _rows(
    "customer_id,Account Ref,first_name,Preferred Name",
    "legacy-1,A-001,Jonathan,Jon",
    "legacy-2,A-002,Elizabeth,Liz",
)
MAPPING_TOML = (
    '[sources.accounts]\npath = "accounts.csv"\n'
    '[sources.accounts.columns]\ncustomer_id = "Account Ref"\nfirst_name = "Preferred Name"\n'
)


def _check_mapped(wh: DuckDBWarehouse) -> None:
    assert wh.query(
        "SELECT customer_id, first_name, extra_customer_id, extra_first_name FROM accounts "
        "ORDER BY source_row"
    ).to_pylist() == [
        {
            "customer_id": "A-001",
            "first_name": "Jon",
            "extra_customer_id": "legacy-1",
            "extra_first_name": "Jonathan",
        },
        {
            "customer_id": "A-002",
            "first_name": "Liz",
            "extra_customer_id": "legacy-2",
            "extra_first_name": "Elizabeth",
        },
    ]


def test_explicit_mapping_in_config_wins_over_inference(tmp_path: Path) -> None:
    _write(tmp_path / "accounts.csv", MAPPED_ACCOUNTS)
    config = load_config(_config(tmp_path, MAPPING_TOML))
    assert config.sources[ACCOUNTS].path == (tmp_path / "accounts.csv").resolve()
    wh = DuckDBWarehouse(tmp_path / "wh")
    report = ingest(wh, config.sources, config.ingest)
    assert report.sources[ACCOUNTS].mapping["customer_id"] == "Account Ref"
    _check_mapped(wh)


def test_explicit_mapping_through_the_cli(tmp_path: Path) -> None:
    _write(tmp_path / "accounts.csv", MAPPED_ACCOUNTS)
    result = _cli(tmp_path, "--config", str(_config(tmp_path, MAPPING_TOML)))
    assert result.exit_code == 0, result.output
    with DuckDBWarehouse(tmp_path / "out", read_only=True) as wh:
        _check_mapped(wh)


def test_explicit_mapping_to_a_column_the_file_lacks(tmp_path: Path) -> None:
    _write(tmp_path / "accounts.csv", MAPPED_ACCOUNTS)
    toml = MAPPING_TOML.replace('"Preferred Name"', '"Nickname"')
    result = _cli(tmp_path, "--config", str(_config(tmp_path, toml)))
    _assert_clean_failure(
        result,
        "accounts.csv",
        "first_name = 'Nickname'",
        "the file has no such column",
        "Columns found: customer_id, Account Ref, first_name, Preferred Name.",
    )


def test_config_thresholds_are_used(tmp_path: Path) -> None:
    # 1 bad event time in 3 stops with the default max_bad_share, passes when raised
    _write(
        tmp_path / "t.csv",
        _rows("customer_id,event_time,price", "1,2021-01-01,1", "2,bad,1", "3,2021-01-02,1"),
    )
    strict = _config(tmp_path, '[sources.transactions]\npath = "t.csv"\n')
    _assert_clean_failure(_cli(tmp_path, "--config", str(strict)), "1 of 3 values")
    lenient = _config(
        tmp_path, '[sources.transactions]\npath = "t.csv"\n[ingest]\nmax_bad_share = 0.5\n'
    )
    result = _cli(tmp_path, "--config", str(lenient))
    assert result.exit_code == 0, result.output
    with DuckDBWarehouse(tmp_path / "out", read_only=True) as wh:
        assert wh.query("SELECT row_number, reason FROM rejected").to_pylist() == [
            {"row_number": 2, "reason": "unparseable event_time: bad"}
        ]
