"""RFM: recency, frequency and monetary scores 1-5, and the 11 named RFM segments.

Scores are quintiles by rank, ``1 + floor(5 * percent_rank())``: tied customers share the
score of the lowest of them (every one-order customer gets F = 1), and recency is ordered so
that the most recent buyers score 5. The segment comes from R and FM = round((F + M) / 2), by
the rules of ``SEGMENT_RULES`` applied in order — the first that holds names the segment,
"Other" when none does: customers with no purchase or whose purchases were all cancelled or
returned (net spend not above zero) are not scored. The rules partition the R x FM grid so
every named segment can occur:

    R \\ FM | 1               2                   3               4-5
    5      | New Customers   Potential Loyalist  Loyal           Champions
    4      | Promising       Potential Loyalist  Loyal           Champions
    3      | About To Sleep  Need Attention      Loyal           Loyal
    2      | Hibernating     Hibernating         At Risk         At Risk
    1      | Lost            Lost                At Risk         Can't Lose Them
"""

from __future__ import annotations

#: (segment, R min, R max, FM min, FM max), applied in this order; first match wins
SEGMENT_RULES: tuple[tuple[str, int, int, int, int], ...] = (
    ("Champions", 4, 5, 4, 5),
    ("Loyal Customers", 3, 5, 3, 5),
    ("Can't Lose Them", 1, 1, 4, 5),
    ("At Risk", 1, 2, 3, 5),
    ("New Customers", 5, 5, 1, 1),
    ("Promising", 4, 4, 1, 1),
    ("Potential Loyalist", 4, 5, 2, 2),
    ("Need Attention", 3, 3, 2, 2),
    ("About To Sleep", 3, 3, 1, 1),
    ("Hibernating", 2, 2, 1, 2),
    ("Lost", 1, 1, 1, 2),
)
FALLBACK_SEGMENT = "Other"


def segment_case(r: str = "r_score", fm: str = "fm_score") -> str:
    """SQL CASE naming the segment from the R and FM score columns ``r`` and ``fm``."""
    whens = " ".join(
        f"WHEN {r} BETWEEN {r0} AND {r1} AND {fm} BETWEEN {f0} AND {f1} "
        f"THEN '{name.replace(chr(39), chr(39) * 2)}'"
        for name, r0, r1, f0, f1 in SEGMENT_RULES
    )
    return f"CASE {whens} ELSE '{FALLBACK_SEGMENT}' END"


def _score(order: str) -> str:
    # quintile by rank: tied customers share the score of the lowest of them, so the many
    # one-order customers all get F = 1 (a cume_dist quintile would lift them all to 2)
    return f"CAST(least(5, 1 + floor(5 * percent_rank() OVER (ORDER BY {order}))) AS INTEGER)"


def rfm_sql(features: str) -> str:
    """SQL: RFM scores and segment per customer of ``features`` (see ``customer.py``)."""
    return f"""
        WITH buyers AS (
            SELECT customer_id, recency_days AS recency, orders AS frequency,
                   net_spend AS monetary
            FROM {features} WHERE orders > 0 AND net_spend > 0
        ),
        scored AS (
            SELECT *,
                   {_score("recency DESC")} AS r_score,
                   {_score("frequency")} AS f_score,
                   {_score("monetary")} AS m_score
            FROM buyers
        ),
        fm AS (
            SELECT *, CAST(floor((f_score + m_score) / 2.0 + 0.5) AS INTEGER) AS fm_score
            FROM scored
        )
        SELECT f.customer_id, b.recency, b.frequency, b.monetary,
               b.r_score, b.f_score, b.m_score, b.fm_score,
               {segment_case("b.r_score", "b.fm_score")} AS segment
        FROM {features} f LEFT JOIN fm b USING (customer_id)
        ORDER BY f.customer_id
    """
