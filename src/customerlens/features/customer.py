"""Per-customer features at a cutoff, and what happened in the horizon after it.

Everything is SQL over ``sales`` (see ``sales.py``), so it runs where the data is. Features read
only product lines on or before the cutoff day; labels read only the horizon after it. The
test suite checks this by computing features on data truncated at the cutoff and comparing.

An *order* is a customer's session / invoice; its value is its net product amount. Orders worth
more than zero are purchases; an order that only returns goods is not. A customer is included
at a cutoff when they have any product line by then (an all-cancelled customer has zero
purchases and a non-positive spend: a defined result, not a missing one).
"""

from __future__ import annotations

import datetime as dt

from customerlens.tables import SALES

#: numeric feature columns, in a fixed order (models read these)
FEATURE_COLUMNS = (
    "recency_days",
    "tenure_days",
    "orders",
    "active_days",
    "net_spend",
    "gross_spend",
    "return_share",
    "avg_order_value",
    "max_order_value",
    "mean_days_between",
    "orders_30d",
    "orders_90d",
    "orders_365d",
    "spend_90d",
    "spend_365d",
    "orders_trend",
    "distinct_products",
    "distinct_categories",
)


def _date(value: dt.date) -> str:
    return f"DATE '{value.isoformat()}'"


def _orders_sql(source: str, days: str) -> str:
    """SQL: each customer's orders (product lines by order) whose lines fall in ``days``
    (a condition on ``day``): ``customer_id, order_id, day`` (first day), ``value`` (net)."""
    return f"""
        SELECT customer_id, order_id, min(day) AS day, sum(amount) AS value
        FROM {source}
        WHERE kind = 'product' AND customer_id IS NOT NULL AND {days}
        GROUP BY customer_id, order_id
    """


def _until(cutoff: dt.date) -> str:
    return f"day <= {_date(cutoff)}"


def _after(cutoff: dt.date, horizon_days: int) -> str:
    c = _date(cutoff)
    return f"day > {c} AND day <= {c} + {int(horizon_days)}"


def features_sql(cutoff: dt.date, source: str = SALES) -> str:
    """SQL: one row per customer with ``FEATURE_COLUMNS`` as of the end of ``cutoff``."""
    c = _date(cutoff)
    return f"""
        WITH lines AS (
            SELECT * FROM {source}
            WHERE kind = 'product' AND customer_id IS NOT NULL AND day <= {c}
        ),
        orders AS ({_orders_sql("lines", "true")}),
        purchases AS (SELECT * FROM orders WHERE value > 0),
        p AS (
            SELECT customer_id,
                   min(day) AS first_day, max(day) AS last_day,
                   count(*) AS orders, count(DISTINCT day) AS active_days,
                   avg(value) AS avg_order_value, max(value) AS max_order_value,
                   count(*) FILTER (WHERE day > {c} - 30) AS orders_30d,
                   count(*) FILTER (WHERE day > {c} - 90) AS orders_90d,
                   count(*) FILTER (WHERE day > {c} - 180 AND day <= {c} - 90) AS orders_prev_90d,
                   count(*) FILTER (WHERE day > {c} - 365) AS orders_365d
            FROM purchases GROUP BY customer_id
        ),
        l AS (
            SELECT customer_id, min(day) AS first_line_day, max(day) AS last_line_day,
                   sum(amount) AS net_spend,
                   sum(amount) FILTER (WHERE amount > 0) AS gross_spend,
                   -sum(amount) FILTER (WHERE amount < 0) AS returned,
                   sum(amount) FILTER (WHERE day > {c} - 90) AS spend_90d,
                   sum(amount) FILTER (WHERE day > {c} - 365) AS spend_365d,
                   count(DISTINCT product_id) AS distinct_products,
                   count(DISTINCT split_part(category_code, '.', 1)) AS distinct_categories
            FROM lines GROUP BY customer_id
        )
        SELECT l.customer_id,
               date_diff('day', coalesce(p.last_day, l.last_line_day), {c}) AS recency_days,
               date_diff('day', coalesce(p.first_day, l.first_line_day), {c}) AS tenure_days,
               coalesce(p.orders, 0) AS orders,
               coalesce(p.active_days, 0) AS active_days,
               l.net_spend,
               coalesce(l.gross_spend, 0) AS gross_spend,
               coalesce(l.returned, 0) / nullif(l.gross_spend, 0) AS return_share,
               coalesce(p.avg_order_value, 0) AS avg_order_value,
               coalesce(p.max_order_value, 0) AS max_order_value,
               date_diff('day', p.first_day, p.last_day) / nullif(p.active_days - 1, 0)
                   AS mean_days_between,
               coalesce(p.orders_30d, 0) AS orders_30d,
               coalesce(p.orders_90d, 0) AS orders_90d,
               coalesce(p.orders_365d, 0) AS orders_365d,
               coalesce(l.spend_90d, 0) AS spend_90d,
               coalesce(l.spend_365d, 0) AS spend_365d,
               coalesce(p.orders_90d, 0) - coalesce(p.orders_prev_90d, 0) AS orders_trend,
               l.distinct_products, l.distinct_categories,
               coalesce(p.first_day, l.first_line_day) AS first_purchase,
               coalesce(p.last_day, l.last_line_day) AS last_purchase
        FROM l LEFT JOIN p USING (customer_id)
    """


def outcomes_sql(cutoff: dt.date, horizon_days: int, source: str = SALES) -> str:
    """SQL: per customer, purchases and net spend in the ``horizon_days`` after ``cutoff``."""
    return f"""
        WITH future AS ({_orders_sql(source, _after(cutoff, horizon_days))})
        SELECT customer_id, count(*) FILTER (WHERE value > 0) AS future_orders,
               sum(value) AS future_spend
        FROM future GROUP BY customer_id
    """


def labelled_sql(cutoff: dt.date, horizon_days: int, source: str = SALES) -> str:
    """Features at ``cutoff`` joined with the outcome after it (``churned``: no purchase)."""
    return f"""
        SELECT f.*, coalesce(o.future_orders, 0) AS future_orders,
               coalesce(o.future_spend, 0) AS future_spend,
               coalesce(o.future_orders, 0) = 0 AS churned
        FROM ({features_sql(cutoff, source)}) f
        LEFT JOIN ({outcomes_sql(cutoff, horizon_days, source)}) o USING (customer_id)
        ORDER BY f.customer_id
    """


def btyd_summary_sql(cutoff: dt.date, days_per_unit: int, source: str = SALES) -> str:
    """SQL: the buy-till-you-die summary per customer as of ``cutoff``.

    ``frequency``: repeat purchase days (days with a purchase, minus the first); ``recency``:
    first to last purchase day; ``T``: first purchase day to the cutoff; ``monetary_value``:
    mean value of the repeat purchase days (0 without any) — in units of ``days_per_unit``
    days, the convention of Fader, Hardie and Lee (purchases on one day are one transaction).
    """
    c = _date(cutoff)
    u = float(days_per_unit)
    return f"""
        WITH orders AS ({_orders_sql(source, _until(cutoff))}),
        days AS (
            SELECT customer_id, day, sum(value) AS value FROM orders WHERE value > 0
            GROUP BY customer_id, day
        ),
        firsts AS (
            SELECT *, min(day) OVER (PARTITION BY customer_id) AS first_day FROM days
        )
        SELECT customer_id, count(*) - 1 AS frequency,
               date_diff('day', min(day), max(day)) / {u} AS recency,
               date_diff('day', min(day), {c}) / {u} AS T,
               coalesce(avg(value) FILTER (WHERE day > first_day), 0) AS monetary_value
        FROM firsts GROUP BY customer_id ORDER BY customer_id
    """


def purchase_days_sql(cutoff: dt.date, horizon_days: int, source: str = SALES) -> str:
    """SQL: per customer, the purchase days in the horizon after ``cutoff`` (BTYD's count)."""
    return f"""
        WITH orders AS ({_orders_sql(source, _after(cutoff, horizon_days))})
        SELECT customer_id, count(DISTINCT day) AS purchase_days
        FROM orders WHERE value > 0 GROUP BY customer_id
    """
