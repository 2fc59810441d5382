"""Identity records: guest sessions, and every source's records in one shape.

A guest session (all guest rows sharing a session_id) is one identity record of source
``transactions``. ``records`` stacks accounts, CRM entries and guest sessions with the same
identity columns: it is what resolution reads.
"""

from __future__ import annotations

from customerlens.ingest.columns import PERSON_COLUMNS as IDENTITY_COLUMNS
from customerlens.tables import ACCOUNTS, API_RECORDS, CRM, GUEST_SESSIONS, TRANSACTIONS


def guest_sessions_sql() -> str:
    """One row per guest session: the session's most frequent value of each guest field."""
    return f"""
        SELECT session_id,
               mode(guest_first_name) AS first_name,
               mode(guest_surname) AS surname,
               mode(guest_full_name) AS full_name,
               mode(guest_email) AS email,
               mode(guest_postcode) AS postcode,
               min(event_time) AS first_event_time,
               max(event_time) AS last_event_time,
               count(*) AS lines,
               sum(amount) AS amount,
               count(DISTINCT concat_ws('|', guest_first_name, guest_surname, guest_postcode,
                                        guest_email)) AS identities
        FROM {TRANSACTIONS}
        WHERE customer_id IS NULL
        GROUP BY session_id
        ORDER BY min(source_row)
    """


def records_sql(present: set[str], *, api_records: bool = False) -> str:
    """``records(source, record_id, <identity columns>, record_date)`` over the present sources.

    ``api_records``: also keep the records added through the API (source ``api``), so a new
    ingest of the shop's files does not forget them.
    """
    parts = []
    if ACCOUNTS in present:
        parts.append(_select(ACCOUNTS, "customer_id", "CAST(signup_date AS TIMESTAMP)"))
    if CRM in present:
        parts.append(_select(CRM, "crm_id", "CAST(NULL AS TIMESTAMP)"))
    if TRANSACTIONS in present:
        parts.append(_select(GUEST_SESSIONS, "session_id", "first_event_time", source=TRANSACTIONS))
    if api_records:
        columns = ", ".join(IDENTITY_COLUMNS)
        parts.append(f"SELECT source, record_id, {columns}, record_date FROM {API_RECORDS}")
    return "\nUNION ALL\n".join(parts)


def _select(table: str, id_column: str, date_expr: str, source: str | None = None) -> str:
    columns = ", ".join(
        f"CAST(NULL AS {'DATE' if c == 'date_of_birth' else 'VARCHAR'}) AS {c}"
        if table == GUEST_SESSIONS and c in ("phone", "address", "date_of_birth")
        else c
        for c in IDENTITY_COLUMNS
    )
    return (
        f"SELECT '{source or table}' AS source, {id_column} AS record_id, {columns}, "
        f"{date_expr} AS record_date FROM {table}"
    )
