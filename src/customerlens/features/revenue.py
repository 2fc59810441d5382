"""Revenue gap: how much revenue the shop can tie to a customer, before and after resolution.

Per month, from ``sales`` (all sums net of cancellations and returns):

- ``revenue``: product lines — what customers spent;
- ``non_product``: services and adjustments (postage, fees, bad debt...), reported apart;
- ``tracked``: revenue on lines that carried the shop's customer id;
- ``untracked``: the rest (guest checkouts, lines without an id);
- ``attributed``: untracked revenue that resolution gave to an identified customer;
- ``recovered``: the part of it tied to a customer who also has other records (an account, a
  CRM entry, other sessions) — revenue resolution brought back to a known customer.
"""

from __future__ import annotations

from typing import Any

from customerlens.tables import REVENUE_GAP, SALES
from customerlens.warehouse import DuckDBWarehouse

GAP_SQL = f"""
    SELECT strftime(day, '%Y-%m') AS month,
           coalesce(sum(amount) FILTER (WHERE kind = 'product'), 0) AS revenue,
           coalesce(sum(amount) FILTER (WHERE kind = 'non_product'), 0) AS non_product,
           coalesce(sum(amount) FILTER (WHERE kind = 'product' AND tracked), 0) AS tracked,
           coalesce(sum(amount) FILTER (WHERE kind = 'product' AND NOT tracked), 0) AS untracked,
           coalesce(sum(amount) FILTER (WHERE kind = 'product' AND NOT tracked
                                        AND customer_id IS NOT NULL), 0) AS attributed,
           coalesce(sum(amount) FILTER (WHERE kind = 'product' AND recovered), 0) AS recovered,
           count(DISTINCT order_id) FILTER (WHERE kind = 'product') AS orders
    FROM {SALES}
    WHERE day IS NOT NULL
    GROUP BY 1 ORDER BY 1
"""


def revenue_gap(wh: DuckDBWarehouse) -> dict[str, Any]:
    """Write ``revenue_gap`` (by month) and return the totals for ``metrics.json``."""
    wh.create_table_as(REVENUE_GAP, GAP_SQL)
    row = wh.query(f"""
        SELECT sum(revenue) AS total, sum(non_product) AS non_product, sum(tracked) AS tracked,
               sum(untracked) AS untracked, sum(attributed) AS attributed,
               sum(recovered) AS recovered
        FROM {REVENUE_GAP}
    """).to_pylist()[0]
    totals = {k: round(float(v or 0.0), 2) for k, v in row.items()}
    total = totals["total"]
    totals["untracked_share"] = round(totals["untracked"] / total, 6) if total else 0.0
    totals["recovered_by_resolution"] = totals.pop("recovered")
    totals["recovered_share_of_untracked"] = (
        round(totals["recovered_by_resolution"] / totals["untracked"], 6)
        if totals["untracked"]
        else 0.0
    )
    undated = wh.scalar(f"SELECT count(*) FROM {SALES} WHERE day IS NULL")
    if undated:
        totals["lines_without_date"] = int(undated)
    return totals
