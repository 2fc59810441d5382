"""Column names: normalisation, the synonym table, and the mapping of a file onto a role.

``First Name``, ``FIRST_NAME``, ``firstName`` and ``first-name`` all normalise to
``first_name``; the normalised name is then looked up in the role's synonym table. An explicit
mapping (``customerlens.toml``) always wins over the table.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from customerlens.errors import IngestError
from customerlens.tables import ACCOUNTS, CRM, TRANSACTIONS

_CAMEL_1 = re.compile(r"([a-z0-9])([A-Z])")
_CAMEL_2 = re.compile(r"([A-Z]+)([A-Z][a-z])")
_LETTER_DIGIT = re.compile(r"([a-zA-Z])([0-9])")
_NON_WORD = re.compile(r"[^0-9a-zA-Z]+")


def normalise_column_name(name: str) -> str:
    """``'InvoiceNo'`` -> ``'invoice_no'``, ``' First Name '`` -> ``'first_name'``."""
    text = _CAMEL_2.sub(r"\1_\2", name.strip())
    text = _CAMEL_1.sub(r"\1_\2", text)
    text = _LETTER_DIGIT.sub(r"\1_\2", text)
    text = _NON_WORD.sub("_", text).strip("_").lower()
    return text or "column"


# Shared identity synonyms. Order matters inside a list: the first present column wins.
_PERSON: dict[str, list[str]] = {
    "first_name": [
        "first_name",
        "firstname",
        "given_name",
        "givenname",
        "forename",
        "forenames",
        "first",
        "fname",
        "christian_name",
        "name_first",
    ],
    "surname": [
        "surname",
        "last_name",
        "lastname",
        "family_name",
        "lname",
        "second_name",
        "last",
        "name_last",
    ],
    "full_name": [
        "full_name",
        "fullname",
        "name",
        "customer_name",
        "contact_name",
        "client_name",
        "person_name",
    ],
    "email": ["email", "email_address", "e_mail", "mail", "emailaddress", "e_mail_address"],
    "phone": [
        "phone",
        "phone_number",
        "telephone",
        "tel",
        "mobile",
        "mobile_number",
        "phone_no",
        "contact_number",
        "cell",
        "telephone_number",
    ],
    "postcode": [
        "postcode",
        "post_code",
        "postal_code",
        "postalcode",
        "zip",
        "zip_code",
        "zipcode",
        "plz",
    ],
    "address": [
        "address",
        "street_address",
        "address_line",
        "full_address",
        "addr",
        "home_address",
    ],
    "date_of_birth": ["date_of_birth", "dob", "birth_date", "birthdate", "birthday", "born"],
}

SYNONYMS: dict[str, dict[str, list[str]]] = {
    ACCOUNTS: {
        "customer_id": [
            "customer_id",
            "cust_id",
            "customer_no",
            "customer_number",
            "account_id",
            "user_id",
            "client_id",
            "member_id",
            "rec_id",
            "record_id",
            "unique_id",
            "id",
        ],
        **_PERSON,
        "signup_date": [
            "signup_date",
            "sign_up_date",
            "registration_date",
            "registered",
            "created_at",
            "created",
            "join_date",
            "date_joined",
            "account_created",
        ],
    },
    CRM: {
        "crm_id": [
            "crm_id",
            "contact_id",
            "crm_customer_id",
            "crm_record_id",
            "rec_id",
            "record_id",
            "unique_id",
            "id",
            "customer_id",
            "client_id",
        ],
        **_PERSON,
    },
    TRANSACTIONS: {
        "event_time": [
            "event_time",
            "invoice_date",
            "order_date",
            "purchase_date",
            "transaction_date",
            "order_time",
            "event_date",
            "timestamp",
            "datetime",
            "date_time",
            "date",
            "time",
            "created_at",
        ],
        "session_id": [
            "session_id",
            "invoice_no",
            "invoice",
            "invoice_id",
            "invoice_number",
            "order_id",
            "order_no",
            "order_number",
            "transaction_id",
            "basket_id",
            "receipt_id",
            "user_session",
        ],
        "product_id": [
            "product_id",
            "stock_code",
            "sku",
            "item_id",
            "product_code",
            "article_id",
            "item_code",
        ],
        "product_name": [
            "product_name",
            "description",
            "item_name",
            "product_description",
            "title",
        ],
        "category_id": ["category_id", "cat_id"],
        "category_code": ["category_code", "category", "category_name", "product_category"],
        "brand": ["brand", "brand_name", "manufacturer"],
        "price": ["price", "unit_price", "item_price", "price_each"],
        "quantity": ["quantity", "qty", "units", "number_of_items", "n_items", "items", "count"],
        "amount": [
            "amount",
            "line_total",
            "total",
            "total_price",
            "line_amount",
            "sales_amount",
            "value",
            "sales",
            "revenue",
            "spend",
            "dollar_value",
        ],
        "customer_id": [
            "customer_id",
            "cust_id",
            "customer_no",
            "user_id",
            "account_id",
            "client_id",
            "member_id",
        ],
        "guest_first_name": ["guest_first_name", "guest_firstname", "guest_given_name"],
        "guest_surname": ["guest_surname", "guest_last_name", "guest_lastname"],
        "guest_full_name": ["guest_full_name", "guest_name"],
        "guest_postcode": ["guest_postcode", "guest_post_code", "guest_zip", "guest_postal_code"],
        "guest_email": ["guest_email", "guest_email_address"],
    },
}

#: Patterns tried after exact synonyms, per role: a column such as ``number_of_cds`` is a
#: quantity; ``euro_value`` an amount. Kept generic (no data set's names in here).
PATTERNS: dict[str, list[tuple[str, re.Pattern[str]]]] = {
    TRANSACTIONS: [
        ("quantity", re.compile(r"^(number_of|num|n|no_of)_\w+$")),
        ("amount", re.compile(r"^\w+_(value|amount|total)$")),
    ],
}

#: Parts that make up an address when the file has no single address column.
ADDRESS_PARTS: dict[str, list[str]] = {
    "number": ["street_number", "house_number", "house_no", "building_number", "number"],
    "line1": ["address_1", "address_line_1", "addr_1", "street", "street_name"],
    "line2": ["address_2", "address_line_2", "addr_2"],
}

#: Columns each role cannot do without; alternatives are given as tuples.
REQUIRED: dict[str, list[tuple[str, ...]]] = {
    ACCOUNTS: [("customer_id",)],
    CRM: [("crm_id",)],
    TRANSACTIONS: [("event_time",), ("price", "amount")],
}

IDENTIFYING = ("first_name", "surname", "full_name", "email", "phone", "postcode", "address")


@dataclass
class ColumnMapping:
    """How one file's columns map onto a role's canonical columns.

    Attributes
    ----------
    canonical : dict
        canonical name -> column name in the file.
    extras : dict
        normalised extra name -> column name in the file (kept as extra attributes).
    address_parts : dict
        part name -> column name, when the address must be composed from parts.
    """

    role: str
    canonical: dict[str, str] = field(default_factory=dict)
    extras: dict[str, str] = field(default_factory=dict)
    address_parts: dict[str, str] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.canonical


def map_columns(
    role: str, columns: list[str], explicit: dict[str, str] | None = None, *, source: str = ""
) -> ColumnMapping:
    """Map a file's columns onto ``role``; raise :class:`IngestError` if a required one is absent.

    Parameters
    ----------
    role : str
        ``accounts``, ``crm`` or ``transactions``.
    columns : list of str
        Column names as found in the file.
    explicit : dict, optional
        canonical -> file column, from ``customerlens.toml``; wins over inference.
    source : str
        The file's name, for error messages.
    """
    synonyms = SYNONYMS[role]
    mapping = ColumnMapping(role)
    explicit = explicit or {}
    for canonical, column in explicit.items():
        if canonical not in synonyms:
            raise IngestError(
                f"{source}: the mapping names an unknown {role} column {canonical!r}; "
                f"known columns are: {', '.join(synonyms)}."
            )
        if column not in columns:
            raise IngestError(
                f"{source}: the mapping says {canonical} = {column!r}, but the file has no such "
                f"column. Columns found: {', '.join(columns)}.{_closest_hint(column, columns)}"
            )
        mapping.canonical[canonical] = column
    taken = set(mapping.canonical.values())
    by_norm: dict[str, str] = {}
    clashes: list[tuple[str, str]] = []
    for column in columns:
        if column not in taken:
            norm = normalise_column_name(column)
            if norm in by_norm:
                clashes.append((norm, column))  # kept as an extra, never dropped
            else:
                by_norm[norm] = column
    for canonical, names in synonyms.items():
        if canonical in mapping.canonical:
            continue
        for name in names:
            if name in by_norm and by_norm[name] not in taken:
                mapping.canonical[canonical] = by_norm[name]
                taken.add(by_norm[name])
                break
    for canonical, pattern in PATTERNS.get(role, []):
        if canonical in mapping.canonical:
            continue
        for norm, column in by_norm.items():
            if column not in taken and pattern.match(norm):
                mapping.canonical[canonical] = column
                taken.add(column)
                break
    if "address" not in mapping.canonical:
        for part, names in ADDRESS_PARTS.items():
            found = [by_norm[n] for n in names if n in by_norm and by_norm[n] not in taken]
            if found:
                mapping.address_parts[part] = found[0]
        if "line1" not in mapping.address_parts:
            mapping.address_parts = {}
    for norm, column in [*by_norm.items(), *clashes]:
        if column not in taken:
            mapping.extras[_unique_extra(norm, mapping)] = column
    _check_required(role, mapping, columns, source)
    return mapping


def _unique_extra(norm: str, mapping: ColumnMapping) -> str:
    name = norm if norm not in SYNONYMS[mapping.role] else f"extra_{norm}"
    while name in mapping.extras:
        name += "_"
    return name


def _check_required(role: str, mapping: ColumnMapping, columns: list[str], source: str) -> None:
    for alternatives in REQUIRED[role]:
        if any(mapping.has(a) for a in alternatives):
            continue
        wanted = " or ".join(repr(a) for a in alternatives)
        synonyms = ", ".join(SYNONYMS[role][alternatives[0]][:6])
        hint = _closest_hint(alternatives[0], columns)
        raise IngestError(
            f"{source}: the {role} file has no {wanted} column (looked for: {synonyms}, ...). "
            f"Columns found: {', '.join(columns)}.{hint} "
            f"Name the column in customerlens.toml, e.g. [sources.{role}.columns] "
            f'{alternatives[0]} = "<column>".'
        )


def _closest_hint(name: str, columns: list[str]) -> str:
    normalised = {normalise_column_name(c): c for c in columns}
    close = difflib.get_close_matches(
        normalise_column_name(name), list(normalised), n=1, cutoff=0.5
    )
    return f" Closest match: {normalised[close[0]]!r}." if close else ""


#: How each canonical column is parsed; anything not listed is text.
KINDS: dict[str, str] = {
    "customer_id": "id",
    "crm_id": "id",
    "session_id": "id",
    "product_id": "id",
    "category_id": "id",
    "date_of_birth": "date",
    "signup_date": "date",
    "event_time": "timestamp",
    "price": "number",
    "quantity": "number",
    "amount": "number",
}

#: The identity columns shared by accounts and CRM entries (and, in ``records``, guests).
PERSON_COLUMNS: tuple[str, ...] = (
    "first_name", "surname", "full_name", "email", "phone", "postcode", "address",
    "date_of_birth",
)  # fmt: skip

#: The canonical columns every table of a role has, in order (NULL where the file has none).
CANONICAL: dict[str, list[str]] = {
    ACCOUNTS: ["customer_id", *PERSON_COLUMNS, "signup_date"],
    CRM: ["crm_id", *PERSON_COLUMNS],
    TRANSACTIONS: [
        "event_time",
        "session_id",
        "product_id",
        "product_name",
        "category_id",
        "category_code",
        "brand",
        "price",
        "quantity",
        "amount",
        "customer_id",
        "guest_first_name",
        "guest_surname",
        "guest_full_name",
        "guest_postcode",
        "guest_email",
    ],
}

#: The primary id of each role (unique per file).
PRIMARY_ID: dict[str, str] = {ACCOUNTS: "customer_id", CRM: "crm_id"}
