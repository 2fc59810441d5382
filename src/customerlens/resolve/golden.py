"""Golden records: one row per customer, each field chosen by survivorship, with provenance.

For every field, among the customer's records that have it: the most frequent value (compared
case- and space-insensitively) wins; ties go to the most recent record, then to the source with
the higher priority (accounts, then CRM, then guest checkouts). ``provenance`` names the record
each field came from.
"""

from __future__ import annotations

from customerlens.tables import RECORDS

GOLDEN_FIELDS = (
    "first_name",
    "surname",
    "email",
    "phone",
    "postcode",
    "address",
    "date_of_birth",
)
SOURCE_PRIORITY = {"accounts": 3, "crm": 2, "transactions": 1}


def golden_sql(record_customer: str, records: str = RECORDS) -> str:
    """SQL for ``customers``: golden fields, record counts per source, provenance (JSON)."""
    priority = " ".join(f"WHEN '{s}' THEN {p}" for s, p in SOURCE_PRIORITY.items())
    unpivot = "\nUNION ALL\n".join(
        f"SELECT rc.customer_id, r.source, r.record_id, r.record_date, '{f}' AS field, "
        f"CAST(r.{f} AS VARCHAR) AS value FROM {records} r "
        f"JOIN {record_customer} rc USING (source, record_id) WHERE r.{f} IS NOT NULL"
        for f in GOLDEN_FIELDS
    )
    picks = ", ".join(f"max(value) FILTER (WHERE field = '{f}') AS {f}" for f in GOLDEN_FIELDS)
    provenance = ", ".join(
        f"'{f}': max(origin) FILTER (WHERE field = '{f}')" for f in GOLDEN_FIELDS
    )
    # most frequent, then most recent, then the source's priority, then the record id
    rank = (
        "struct_pack(f := freq, d := coalesce(record_date, TIMESTAMP '1900-01-01'), "
        "p := priority, r := record_id)"
    )
    return f"""
        WITH vals AS ({unpivot}),
        scored AS (
            SELECT *, count(*) OVER (
                       PARTITION BY customer_id, field, lower(trim(value))) AS freq,
                   CASE source {priority} ELSE 0 END AS priority
            FROM vals
        ),
        best AS (
            SELECT customer_id, field,
                   arg_max(value, {rank}) AS value,
                   arg_max(source || ':' || record_id, {rank}) AS origin
            FROM scored GROUP BY customer_id, field
        ),
        golden AS (
            SELECT customer_id, {picks}, to_json({{{provenance}}}) AS provenance
            FROM best GROUP BY customer_id
        ),
        counts AS (
            SELECT rc.customer_id, count(*) AS records,
                   count(*) FILTER (WHERE rc.source = 'accounts') AS accounts,
                   count(*) FILTER (WHERE rc.source = 'crm') AS crm_entries,
                   count(*) FILTER (WHERE rc.source = 'transactions') AS guest_sessions,
                   min(r.record_date) AS first_seen, max(r.record_date) AS last_seen
            FROM {record_customer} rc JOIN {records} r USING (source, record_id)
            GROUP BY rc.customer_id
        )
        SELECT c.customer_id, {", ".join("g." + f for f in GOLDEN_FIELDS)},
               c.records, c.accounts, c.crm_entries, c.guest_sessions,
               c.first_seen, c.last_seen, g.provenance
        FROM counts c LEFT JOIN golden g USING (customer_id)
        ORDER BY c.customer_id
    """
