"""Column names: normalisation, the synonym table, extras, composed addresses, required columns."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from customerlens.config import SourceConfig
from customerlens.errors import IngestError
from customerlens.ingest import ingest
from customerlens.ingest.columns import (
    CANONICAL,
    REQUIRED,
    SYNONYMS,
    map_columns,
    normalise_column_name,
)
from customerlens.tables import ACCOUNTS, CRM, TRANSACTIONS
from customerlens.warehouse import DuckDBWarehouse

# -- normalisation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["First Name", "FIRST_NAME", "firstName", "first-name", "  first name  ", "First__Name"]
)
def test_spellings_of_first_name_normalise_to_one_column(raw: str) -> None:
    assert normalise_column_name(raw) == "first_name"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("InvoiceNo", "invoice_no"),
        ("CustomerID", "customer_id"),
        ("UnitPrice", "unit_price"),
        ("StockCode", "stock_code"),
        ("InvoiceDate", "invoice_date"),
        ("ZIPCode", "zip_code"),
        ("E-mail Address", "e_mail_address"),
        ("Date of Birth", "date_of_birth"),
        ("DOB", "dob"),
    ],
)
def test_camel_case_acronyms_and_punctuation(raw: str, expected: str) -> None:
    assert normalise_column_name(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "___", "#!"])
def test_a_name_with_no_letters_still_gets_a_name(raw: str) -> None:
    assert normalise_column_name(raw) == "column"


def test_address_line_1_spellings_are_one_column() -> None:
    assert normalise_column_name("AddressLine1") == normalise_column_name("Address Line 1")
    mapping = map_columns(ACCOUNTS, ["CustomerID", "AddressLine1", "AddressLine2", "City"])
    assert mapping.address_parts == {"line1": "AddressLine1", "line2": "AddressLine2"}


# -- synonyms -------------------------------------------------------------------------------


def test_uci_online_retail_header_maps_onto_transactions() -> None:
    columns = [
        "InvoiceNo",
        "StockCode",
        "Description",
        "Quantity",
        "InvoiceDate",
        "UnitPrice",
        "CustomerID",
        "Country",
    ]
    mapping = map_columns(TRANSACTIONS, columns)
    assert mapping.canonical == {
        "session_id": "InvoiceNo",
        "product_id": "StockCode",
        "product_name": "Description",
        "quantity": "Quantity",
        "event_time": "InvoiceDate",
        "price": "UnitPrice",
        "customer_id": "CustomerID",
    }
    assert mapping.extras == {"country": "Country"}


@pytest.mark.parametrize("raw", ["given_name", "Forename", "GivenName", "first name"])
def test_first_name_synonyms(raw: str) -> None:
    mapping = map_columns(ACCOUNTS, ["customer_id", raw, "Surname"])
    assert mapping.canonical["first_name"] == raw
    assert mapping.canonical["surname"] == "Surname"
    assert mapping.extras == {}


def test_first_synonym_in_the_list_wins_and_the_other_is_kept_as_extra() -> None:
    mapping = map_columns(ACCOUNTS, ["forename", "first_name", "customer_id"])
    assert mapping.canonical["first_name"] == "first_name"
    # an extra is named by its normalised name ("extra_" only where that is a canonical name)
    assert mapping.extras == {"forename": "forename"}


def test_crm_maps_customer_id_to_crm_id_when_there_is_no_crm_id() -> None:
    mapping = map_columns(CRM, ["customer_id", "first_name", "surname", "postcode", "age"])
    assert mapping.canonical["crm_id"] == "customer_id"
    assert mapping.extras == {"age": "age"}


def test_crm_keeps_customer_id_as_an_extra_when_crm_id_exists() -> None:
    mapping = map_columns(CRM, ["crm_id", "customer_id", "name"])
    assert mapping.canonical == {"crm_id": "crm_id", "full_name": "name"}
    assert mapping.extras == {"customer_id": "customer_id"}


def test_patterns_catch_generic_quantity_and_amount_columns() -> None:
    mapping = map_columns(TRANSACTIONS, ["user_id", "order_date", "number_of_cds", "euro_value"])
    assert mapping.canonical == {
        "customer_id": "user_id",
        "event_time": "order_date",
        "quantity": "number_of_cds",
        "amount": "euro_value",
    }


def test_extras_are_kept_and_named_by_their_normalised_name() -> None:
    mapping = map_columns(ACCOUNTS, ["Customer ID", "Country", "age", "Loyalty Tier"])
    assert mapping.canonical == {"customer_id": "Customer ID"}
    assert mapping.extras == {"country": "Country", "age": "age", "loyalty_tier": "Loyalty Tier"}


def test_two_columns_with_the_same_normalised_name_are_both_kept() -> None:
    mapping = map_columns(ACCOUNTS, ["customer_id", "First Name", "first_name"])
    used = set(mapping.canonical.values()) | set(mapping.extras.values())
    assert used == {"customer_id", "First Name", "first_name"}


# -- explicit mapping -----------------------------------------------------------------------


def test_explicit_mapping_beats_inference() -> None:
    mapping = map_columns(
        ACCOUNTS,
        ["customer_id", "Account Ref", "first_name", "Preferred Name"],
        {"customer_id": "Account Ref", "first_name": "Preferred Name"},
    )
    assert mapping.canonical["customer_id"] == "Account Ref"
    assert mapping.canonical["first_name"] == "Preferred Name"
    # the columns inference would have used are kept, renamed so they cannot clash
    assert mapping.extras == {
        "extra_customer_id": "customer_id",
        "extra_first_name": "first_name",
    }


def test_explicit_mapping_to_a_missing_column_names_the_columns_found() -> None:
    with pytest.raises(IngestError) as info:
        map_columns(
            ACCOUNTS, ["customer_id", "Given Name"], {"first_name": "GivenName"}, source="a.csv"
        )
    message = str(info.value)
    assert message.startswith("a.csv:")
    assert "'GivenName'" in message
    assert "Columns found: customer_id, Given Name" in message
    assert "Closest match: 'Given Name'" in message


def test_explicit_mapping_of_an_unknown_canonical_column_lists_the_known_ones() -> None:
    with pytest.raises(IngestError, match="unknown accounts column 'shoe_size'") as info:
        map_columns(ACCOUNTS, ["customer_id", "shoe"], {"shoe_size": "shoe"}, source="a.csv")
    assert "customer_id, first_name, surname" in str(info.value)


# -- required columns -----------------------------------------------------------------------


def test_missing_required_column_lists_columns_found_and_closest_match() -> None:
    with pytest.raises(IngestError) as info:
        map_columns(ACCOUNTS, ["Customer Nr", "email", "name"], source="shop/accounts.csv")
    message = str(info.value)
    assert message.startswith("shop/accounts.csv:")
    assert "no 'customer_id' column" in message
    assert "Columns found: Customer Nr, email, name." in message
    assert "Closest match: 'Customer Nr'." in message
    assert "[sources.accounts.columns]" in message


def test_transactions_need_price_or_amount() -> None:
    assert map_columns(TRANSACTIONS, ["date", "amount"]).canonical["amount"] == "amount"
    assert map_columns(TRANSACTIONS, ["date", "price"]).canonical["price"] == "price"
    with pytest.raises(IngestError, match="no 'price' or 'amount' column"):
        map_columns(TRANSACTIONS, ["date", "customer_id"], source="t.csv")


def test_every_required_and_canonical_column_has_a_synonym_entry() -> None:
    for role, groups in REQUIRED.items():
        for alternatives in groups:
            assert all(a in SYNONYMS[role] for a in alternatives)
    for role, names in CANONICAL.items():
        # each canonical column can be reached from a file, and its own name is a synonym
        assert all(name in SYNONYMS[role] and name in SYNONYMS[role][name] for name in names)


# -- addresses from parts (FEBRL) -----------------------------------------------------------


def test_address_parts_are_found_when_there_is_no_address_column() -> None:
    columns = [
        "rec_id",
        "given_name",
        "surname",
        "street_number",
        "address_1",
        "address_2",
        "suburb",
        "postcode",
        "state",
        "date_of_birth",
        "soc_sec_id",
    ]
    mapping = map_columns(ACCOUNTS, columns)
    assert mapping.canonical["customer_id"] == "rec_id"
    assert mapping.canonical["first_name"] == "given_name"
    assert "address" not in mapping.canonical
    assert mapping.address_parts == {
        "number": "street_number",
        "line1": "address_1",
        "line2": "address_2",
    }


def test_address_parts_are_ignored_without_a_first_line() -> None:
    mapping = map_columns(ACCOUNTS, ["customer_id", "street_number", "address_2"])
    assert mapping.address_parts == {}
    assert set(mapping.extras) == {"street_number", "address_2"}


def test_an_address_column_wins_over_parts() -> None:
    mapping = map_columns(ACCOUNTS, ["customer_id", "address", "address_1"])
    assert mapping.canonical["address"] == "address"
    assert mapping.address_parts == {}


def test_composed_address_and_extras_in_the_warehouse(tmp_path: Path, write_csv) -> None:
    path = write_csv(
        "febrl.csv",
        [
            "rec_id",
            " given_name",
            " surname",
            " street_number",
            " address_1",
            " address_2",
            " age",
            " Country",
        ],
        [
            ["rec-1-org", " jo", " waller", " 6", " tullaroop street", " willaroo", "31", "AU"],
            ["rec-2-org", " al", " berry", "", " maltby circuit", "", "40", "AU"],
            ["rec-3-org", " kay", " moore", " 12", "", " coaling", "22", "NZ"],
        ],
    )
    wh = DuckDBWarehouse(tmp_path / "wh")
    ingest(wh, {ACCOUNTS: SourceConfig(path=path)})
    rows = wh.query(
        "SELECT customer_id, first_name, surname, address, age, country FROM accounts "
        "ORDER BY source_row"
    ).to_pylist()
    assert rows == [
        {
            "customer_id": "rec-1-org",
            "first_name": "jo",
            "surname": "waller",
            "address": "6 tullaroop street, willaroo",
            "age": "31",
            "country": "AU",
        },
        {
            "customer_id": "rec-2-org",
            "first_name": "al",
            "surname": "berry",
            "address": "maltby circuit",
            "age": "40",
            "country": "AU",
        },
        {
            "customer_id": "rec-3-org",
            "first_name": "kay",
            "surname": "moore",
            "address": "12, coaling",
            "age": "22",
            "country": "NZ",
        },
    ]


def test_uci_style_transactions_in_the_warehouse(tmp_path: Path, write_csv) -> None:
    path = write_csv(
        "retail.csv",
        [
            "InvoiceNo",
            "StockCode",
            "Description",
            "Quantity",
            "InvoiceDate",
            "UnitPrice",
            "CustomerID",
            "Country",
        ],
        [
            [
                "536365",
                "85123A",
                "WHITE HEART",
                "6",
                "2010-12-01 08:26:00",
                "2.55",
                "17850.0",
                "United Kingdom",
            ],
            ["536366", "22633", "HAND WARMER", "2", "2010-12-01 08:28:00", "1.85", "", "France"],
        ],
    )
    wh = DuckDBWarehouse(tmp_path / "wh")
    ingest(wh, {TRANSACTIONS: SourceConfig(path=path)})
    rows = wh.query(
        "SELECT session_id, product_id, quantity, price, amount, customer_id, "
        "CAST(event_time AS VARCHAR) AS t, country FROM transactions ORDER BY source_row"
    ).to_pylist()
    assert rows == [
        {
            "session_id": "536365",
            "product_id": "85123A",
            "quantity": 6.0,
            "price": 2.55,
            "amount": pytest.approx(15.3),
            "customer_id": "17850",
            "t": "2010-12-01 08:26:00",
            "country": "United Kingdom",
        },
        {
            "session_id": "536366",
            "product_id": "22633",
            "quantity": 2.0,
            "price": 1.85,
            "amount": pytest.approx(3.7),
            "customer_id": None,
            "t": "2010-12-01 08:28:00",
            "country": "France",
        },
    ]
    # the guest line's invoice is one guest identity record
    assert wh.query("SELECT session_id FROM guest_sessions").to_pylist() == [
        {"session_id": "536366"}
    ]


def test_real_febrl_header_maps_without_configuration(shared_data: Path) -> None:
    path = shared_data / "er" / "febrl" / "dataset1.csv"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    with path.open(encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    mapping = map_columns(ACCOUNTS, header, source=str(path))
    assert mapping.canonical["customer_id"].strip() == "rec_id"
    assert mapping.canonical["first_name"].strip() == "given_name"
    assert mapping.canonical["date_of_birth"].strip() == "date_of_birth"
    assert {k: v.strip() for k, v in mapping.address_parts.items()} == {
        "number": "street_number",
        "line1": "address_1",
        "line2": "address_2",
    }
