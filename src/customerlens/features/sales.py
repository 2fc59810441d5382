"""Transaction lines as sales: net amount, kind, order, and the customer resolution found.

Every line of ``transactions`` becomes one row of ``sales`` (nothing is dropped):

- ``amount``: the line's value, signed — the file's line total when it has one, else
  price x quantity. Cancellations and returns (negative quantity or amount) stay in with their
  negative value, so every sum over sales is *net*.
- ``kind``: ``product``, or ``non_product`` for services and adjustments (postage, fees, manual
  adjustments, bad debt, discounts...), recognised by words in the product name or listed ids
  (``[features]`` options). Non-product lines are reported apart, never counted as spend.
- ``order_id``: the session / invoice, or the customer and day when the file has none.
- ``tracked``: the shop itself knew the customer (the line carries a customer id).
- ``customer_id``: the resolved customer. A line with a shop customer id takes the customer of
  that account (or the shop's id itself when no account record exists, e.g. a transactions file
  alone); a guest line takes the customer of its guest session when the session had any
  identifying field; an anonymous guest line has none.
- ``recovered``: an untracked line that resolution attributed to a customer who has other
  records too (an account, a CRM entry, other guest sessions).
"""

from __future__ import annotations

import re

from customerlens.config import FeatureOptions
from customerlens.errors import ConfigError
from customerlens.tables import ACCOUNTS, RECORD_CUSTOMER, SALES, TRANSACTIONS
from customerlens.warehouse import DuckDBWarehouse, quote_literal


def non_product_sql(options: FeatureOptions, columns: set[str]) -> str:
    """SQL boolean over a transactions row: the line is a service or an adjustment."""
    tests = []
    if options.non_product_words and "product_name" in columns:
        words = "|".join(re.escape(w.lower()) for w in options.non_product_words)
        pattern = quote_literal(r"\b(" + words + r")\b")
        tests.append(f"regexp_matches(lower(coalesce(t.product_name, '')), {pattern})")
    if options.non_product_ids and "product_id" in columns:
        ids = ", ".join(quote_literal(i) for i in options.non_product_ids)
        tests.append(f"CAST(t.product_id AS VARCHAR) IN ({ids})")
    return " OR ".join(tests) or "false"


def build_sales(wh: DuckDBWarehouse, options: FeatureOptions) -> int:
    """Write the ``sales`` table from ``transactions`` and ``record_customer``; return its rows."""
    if not wh.has_table(TRANSACTIONS):
        raise ConfigError("No transactions in the warehouse: `run` needs --transactions.")
    columns = set(wh.columns(TRANSACTIONS))
    if not {"customer_id", "session_id"} & columns:
        raise ConfigError(
            "The transactions have neither a customer id nor a session / invoice column, so no "
            "purchase can be attributed to anyone; map one in customerlens.toml "
            '([sources.transactions.columns] customer_id = "...").'
        )
    if not wh.has_table(RECORD_CUSTOMER):
        raise ConfigError("No resolved customers in the warehouse: run `resolve` first.")

    def col(name: str, cast: str = "VARCHAR") -> str:
        return f"CAST(t.{name} AS {cast})" if name in columns else f"CAST(NULL AS {cast})"

    amount = (
        f"coalesce({col('amount', 'DOUBLE')}, {col('price', 'DOUBLE')} * "
        f"coalesce({col('quantity', 'DOUBLE')}, 1))"
    )
    day = "strftime(t.event_time, '%Y-%m-%d')"
    order = f"coalesce({col('session_id')}, {col('customer_id')} || '@' || {day})"
    return wh.create_table_as(
        SALES,
        f"""
        WITH rc AS (
            SELECT CAST(r.source AS VARCHAR) AS source, CAST(r.record_id AS VARCHAR) AS record_id,
                   CAST(r.customer_id AS VARCHAR) AS customer_id, r.identity_fields,
                   count(*) OVER (PARTITION BY r.customer_id) AS records
            FROM {RECORD_CUSTOMER} r
        )
        SELECT t.source_row, t.event_time, CAST(t.event_time AS DATE) AS day, {order} AS order_id,
               {col("product_id")} AS product_id, {col("category_code")} AS category_code,
               {col("quantity", "DOUBLE")} AS quantity,
               {amount} AS amount,
               CASE WHEN {non_product_sql(options, columns)} THEN 'non_product'
                    ELSE 'product' END AS kind,
               {col("customer_id")} IS NOT NULL AS tracked,
               CASE WHEN {col("customer_id")} IS NOT NULL
                        THEN coalesce(acc.customer_id, {col("customer_id")})
                    WHEN guest.identity_fields > 0 THEN guest.customer_id END AS customer_id,
               {col("customer_id")} IS NULL AND guest.identity_fields > 0
                   AND guest.records > 1 AS recovered
        FROM {TRANSACTIONS} t
        LEFT JOIN rc acc ON acc.source = '{ACCOUNTS}'
             AND acc.record_id = {col("customer_id")}
        LEFT JOIN rc guest ON guest.source = '{TRANSACTIONS}'
             AND guest.record_id = {col("session_id")} AND {col("customer_id")} IS NULL
        """,
    )
