"""Splitting full names, alone and inside the ingest stage."""

from __future__ import annotations

from pathlib import Path

import pytest

from customerlens.config import SourceConfig
from customerlens.ingest import ingest
from customerlens.ingest.names import split_full_name
from customerlens.tables import CRM, TRANSACTIONS
from customerlens.warehouse import DuckDBWarehouse


@pytest.mark.parametrize(
    "full_name, expected",
    [
        ("Smith, John", ("John", "Smith")),
        ("Smith, John A.", ("John", "Smith")),
        ("John A. Smith", ("John", "Smith")),
        ("Mr John Smith Jr.", ("John", "Smith")),
        ("Mrs. Jane Smith", ("Jane", "Smith")),
        ("Dr. Jane van der Berg PhD", ("Jane", "van der Berg")),
        ("Prof. Dr. Hans Müller", ("Hans", "Müller")),
        ("Ludwig van Beethoven", ("Ludwig", "van Beethoven")),
        ("Maria de la Cruz", ("Maria", "de la Cruz")),
        ("de la Cruz, Maria", ("Maria", "de la Cruz")),
        ("John Smith, Jr.", ("John", "Smith")),
        ("John Smith III", ("John", "Smith")),
        ("SMITH John", ("John", "SMITH")),
        ("Mr SMITH John", ("John", "SMITH")),
        ("ZOLA Émile", ("Émile", "ZOLA")),
        ("JOHN SMITH", ("JOHN", "SMITH")),
        ("John SMITH", ("John", "SMITH")),
        ("Jean-Luc Picard", ("Jean-Luc", "Picard")),
        ("O'Brien, Patrick", ("Patrick", "O'Brien")),
        ("  John \t  Smith  ", ("John", "Smith")),
    ],
)
def test_split_full_name(full_name: str, expected: tuple[str, str]) -> None:
    assert split_full_name(full_name) == expected


@pytest.mark.parametrize("single", ["Madonna", "Mr. Smith", "Smith,", "Smith PhD"])
def test_a_single_name_is_taken_as_the_surname(single: str) -> None:
    first, surname = split_full_name(single)
    assert first is None
    assert surname in ("Madonna", "Smith")


@pytest.mark.parametrize("empty", [None, "", "   ", "\t\n", "Mr", "Dr. PhD", ","])
def test_nothing_to_split_gives_no_names(empty: str | None) -> None:
    assert split_full_name(empty) == (None, None)


@pytest.mark.parametrize(
    "full_name, expected",
    [("J. Smith", ("J.", "Smith")), ("Mrs. J. Smith", ("J.", "Smith"))],
)
def test_a_leading_initial_is_a_first_name(full_name: str, expected: tuple[str, str]) -> None:
    assert split_full_name(full_name) == expected


def test_split_never_invents_text() -> None:
    # every part returned comes from the input (no case changes, no reordering inside a part)
    for full_name in ["Dr. Jane van der Berg PhD", "SMITH John", "Smith, John A.", "Ann Lee"]:
        first, surname = split_full_name(full_name)
        assert first is not None and first in full_name
        assert surname is not None and surname in full_name


def test_crm_with_only_a_full_name_gets_first_name_and_surname(tmp_path: Path, write_csv) -> None:
    path = write_csv(
        "crm.csv",
        ["crm_id", "Full Name", "email"],
        [
            ["c1", "Smith, John", "j@x.org"],
            ["c2", "Mr John Smith Jr.", ""],
            ["c3", "Dr. Jane van der Berg PhD", ""],
            ["c4", "SMITH John", ""],
            ["c5", "Madonna", ""],
            ["c6", "", "anon@x.org"],
        ],
    )
    wh = DuckDBWarehouse(tmp_path / "wh")
    ingest(wh, {CRM: SourceConfig(path=path)})
    rows = wh.query(
        "SELECT crm_id, full_name, first_name, surname FROM crm ORDER BY source_row"
    ).to_pylist()
    assert [(r["crm_id"], r["first_name"], r["surname"]) for r in rows] == [
        ("c1", "John", "Smith"),
        ("c2", "John", "Smith"),
        ("c3", "Jane", "van der Berg"),
        ("c4", "John", "SMITH"),
        ("c5", None, "Madonna"),
        ("c6", None, None),
    ]
    # the full name itself is kept as given
    assert rows[2]["full_name"] == "Dr. Jane van der Berg PhD"
    # and resolution reads the split names
    records = wh.query(
        "SELECT record_id, first_name, surname FROM records WHERE source = 'crm' ORDER BY record_id"
    ).to_pylist()
    assert records[0] == {"record_id": "c1", "first_name": "John", "surname": "Smith"}


def test_given_first_name_and_surname_are_not_overwritten(tmp_path: Path, write_csv) -> None:
    path = write_csv(
        "crm.csv",
        ["crm_id", "first_name", "surname", "name"],
        [
            ["c1", "Johnny", "", "Smith, John"],
            ["c2", "", "Jones", "Ann Jones"],
            ["c3", "Joe", "", "joe"],
            ["c4", "Joe", "", "Bloggs"],
        ],
    )
    wh = DuckDBWarehouse(tmp_path / "wh")
    ingest(wh, {CRM: SourceConfig(path=path)})
    rows = wh.query("SELECT first_name, surname FROM crm ORDER BY source_row").to_pylist()
    # only the missing half is filled from the full name, and a one-word full name that is the
    # first name itself leaves the surname empty ("Joe Joe" would match every such record)
    assert rows == [
        {"first_name": "Johnny", "surname": "Smith"},
        {"first_name": "Ann", "surname": "Jones"},
        {"first_name": "Joe", "surname": None},
        {"first_name": "Joe", "surname": "Bloggs"},
    ]


def test_guest_full_name_is_split_in_transactions(tmp_path: Path, write_csv) -> None:
    path = write_csv(
        "t.csv",
        ["order_id", "order_date", "amount", "customer_id", "guest_name"],
        [
            ["o1", "2021-03-04", "10.00", "", "Brown, Alice"],
            ["o2", "2021-03-05", "5.50", "", "Mr Bob Stone"],
        ],
    )
    wh = DuckDBWarehouse(tmp_path / "wh")
    ingest(wh, {TRANSACTIONS: SourceConfig(path=path)})
    rows = wh.query(
        "SELECT session_id, first_name, surname FROM guest_sessions ORDER BY session_id"
    ).to_pylist()
    assert rows == [
        {"session_id": "o1", "first_name": "Alice", "surname": "Brown"},
        {"session_id": "o2", "first_name": "Bob", "surname": "Stone"},
    ]
