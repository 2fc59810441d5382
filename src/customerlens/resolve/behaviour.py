"""Purchase behaviour of each identity record, for matching.

A guest checkout after a move shares no postcode or email with its owner's account: names alone
cannot tell "John Smith who moved" from another John Smith. What still links them is what they
buy. Each record with purchases (an account through ``transactions.customer_id``, a guest session
through its own lines) gets three short lists of its most bought items (sorted by name, so
every engine writes the same list):

- ``buy_products``: its most bought products;
- ``buy_brands``: its most bought (top-level category, brand) pairs, the taste for a brand in a
  kind of product;
- ``buy_categories``: its most bought top-level categories (``category_code`` up to the first
  dot, else ``category_id``).

The lists are capped so a heavy buyer's thousand lines do not overlap everyone by sheer volume.
The match model compares them by intersection (see ``comparisons._behaviour``) and learns with
EM how much each kind of overlap says in *this* shop: where everyone buys the same bestsellers the
weights come out small. Returns and cancellations (negative quantities) are not taste.
"""

from __future__ import annotations

from customerlens.tables import ACCOUNTS, TRANSACTIONS
from customerlens.warehouse import DuckDBWarehouse

#: list column -> (expression of the token over ``transactions``, how many tokens to keep)
BEHAVIOUR_LISTS: dict[str, tuple[str, int]] = {
    "buy_products": ("product_id", 10),
    "buy_brands": ("CASE WHEN brand IS NOT NULL THEN category_top || '|' || brand END", 5),
    "buy_categories": ("category_top", 3),
}

#: the list columns the match model compares
BEHAVIOUR_COLUMNS = tuple(BEHAVIOUR_LISTS)
#: per-record summaries the hybrid re-scorer compares: median unit price, first and last
#: purchase (see ``hybrid.py``)
PROFILE_COLUMNS = ("buy_price", "buy_first", "buy_last")


def add_behaviour(wh: DuckDBWarehouse, table: str = "records_std") -> None:
    """Add the ``buy_*`` list columns to ``table`` (NULL for records without purchases)."""
    columns = set(wh.columns(TRANSACTIONS)) if wh.has_table(TRANSACTIONS) else set()
    if not {"customer_id", "session_id"} & columns:
        nulls = ", ".join(
            [f"CAST(NULL AS VARCHAR[]) AS {c}" for c in BEHAVIOUR_COLUMNS]
            + ["CAST(NULL AS DOUBLE) AS buy_price"]
            + [f"CAST(NULL AS TIMESTAMP) AS {c}" for c in PROFILE_COLUMNS[1:]]
        )
        wh.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT *, {nulls} FROM {table}")
        return
    wh.execute(f"CREATE OR REPLACE TEMP TABLE __lines AS {_lines_sql(columns)}")
    lists = "\nUNION ALL\n".join(
        _top_tokens_sql(name, expr, keep) for name, (expr, keep) in BEHAVIOUR_LISTS.items()
    )
    pivot = ", ".join(
        f"max(CASE WHEN kind = '{c}' THEN tokens END) AS {c}" for c in BEHAVIOUR_COLUMNS
    )
    wh.execute(f"""
        CREATE OR REPLACE TEMP TABLE {table} AS
        WITH lists AS ({lists}),
        per_record AS (SELECT unique_id, {pivot} FROM lists GROUP BY unique_id),
        profile AS (
            SELECT unique_id, median(price) AS buy_price, min(event_time) AS buy_first,
                   max(event_time) AS buy_last
            FROM __lines WHERE unique_id IS NOT NULL GROUP BY unique_id
        )
        SELECT s.*, {", ".join(f"p.{c}" for c in BEHAVIOUR_COLUMNS)},
               {", ".join(f"f.{c}" for c in PROFILE_COLUMNS)}
        FROM {table} s
        LEFT JOIN per_record p USING (unique_id)
        LEFT JOIN profile f USING (unique_id)
    """)
    wh.drop_temp("__lines")


def _lines_sql(columns: set[str]) -> str:
    """Purchase lines with the identity record they belong to and their category and brand."""

    def col(name: str) -> str:
        return f"CAST({name} AS VARCHAR)" if name in columns else "CAST(NULL AS VARCHAR)"

    def num(name: str) -> str:
        return f"TRY_CAST({name} AS DOUBLE)" if name in columns else "CAST(NULL AS DOUBLE)"

    def time_(name: str) -> str:
        return f"TRY_CAST({name} AS TIMESTAMP)" if name in columns else "CAST(NULL AS TIMESTAMP)"

    owner = []
    if "customer_id" in columns:
        owner.append(f"WHEN customer_id IS NOT NULL THEN '{ACCOUNTS}:' || customer_id")
    if "session_id" in columns:
        owner.append(f"WHEN session_id IS NOT NULL THEN '{TRANSACTIONS}:' || session_id")
    quantity = "coalesce(quantity, 1) > 0" if "quantity" in columns else "TRUE"
    return f"""
        SELECT CASE {" ".join(owner)} END AS unique_id,
               {col("product_id")} AS product_id,
               coalesce(nullif(split_part({col("category_code")}, '.', 1), ''),
                        {col("category_id")}) AS category_top,
               nullif(lower(trim({col("brand")})), '') AS brand,
               coalesce({num("price")}, {num("amount")} / nullif({num("quantity")}, 0)) AS price,
               {time_("event_time")} AS event_time
        FROM {TRANSACTIONS}
        WHERE {quantity}
    """


def _top_tokens_sql(name: str, expr: str, keep: int) -> str:
    """The ``keep`` most bought tokens of each record (ties by token), sorted by token."""
    return f"""
        SELECT unique_id, '{name}' AS kind, list_sort(list(token)) AS tokens
        FROM (
            SELECT unique_id, token,
                   row_number() OVER (PARTITION BY unique_id ORDER BY n DESC, token) AS rank
            FROM (
                SELECT unique_id, {expr} AS token, count(*) AS n
                FROM __lines
                WHERE unique_id IS NOT NULL AND {expr} IS NOT NULL
                GROUP BY 1, 2
            )
        )
        WHERE rank <= {keep}
        GROUP BY unique_id
    """
