"""u-probabilities and term frequencies without the matches hidden among random pairs.

Splink estimates a level's u-probability from random pairs of records, and the u of an exact
match on a value from that value's share of the records (its term frequency), both as if no
random pair were a match. Some are: a share equal to the prior, and they agree far more often
than non-matches, so a random pair reaches level l with probability ``prior * m_l + (1 - prior)
* u_l``. Where people have several records each the matches make up much of what is seen:
Splink's fake_1000 (four records a person, prior 0.004) has exact dates of birth in 0.175% of
random pairs, of which 0.159 points are a person's own records; the u taken as seen
undervalued every agreement and the model was underconfident (pairs scored 0.5-0.75 were 87%
one person). ``without_matches`` solves that equation for ``u_l`` with the trained m and prior
(Splink estimates u before m and has no such step); ``frequency_sql`` does the same for a term
frequency, with the m of agreeing on that field (a value's duplicates are its person's
records). Both are first-order estimates (one m for every value of a field), so a rate keeps
at least ``MIN_SHARE`` of what was seen. docs/resolution.md, "Score", has the figures.
"""

from __future__ import annotations

import copy
from typing import Any

#: A level's u keeps at least this share of what was seen (its weight rises by at most
#: log2(1 / MIN_SHARE) = 4.3 bits): where the matches explain all of what the sample saw, the
#: sample cannot tell how rare the agreement is among non-matches.
MIN_SHARE = 0.05
#: A value's frequency keeps at least this share (at most +1 bit). The correction takes off the
#: records' *mean* number of other copies of their person, which the few people with many
#: records inflate (the generated shop: 7.9 a record, most people have one to three records);
#: for a rare value two people share that mean would take off the other person too. At 1M people
#: the 5% floor merged such namesakes: F1 0.8938 -> 0.8879, customers -4.9% -> -5.9%.
MIN_FREQUENCY_SHARE = 0.5


def net_rate(seen: float, match_rate: float, prior: float, floor: float = MIN_SHARE) -> float:
    """The rate among non-matching pairs of something seen at ``seen`` among random pairs,
    when matches (a share ``prior`` of the pairs) show it at ``match_rate``; at least
    ``floor`` of what was seen."""
    return max((seen - prior * match_rate) / (1 - prior), seen * floor)


def without_matches(model: dict[str, Any]) -> dict[str, Any]:
    """A copy of a trained Splink model whose u-probabilities leave out the random pairs'
    matches (``net_rate`` with each level's m and the model's prior)."""
    model = copy.deepcopy(model)
    prior = float(model["probability_two_random_records_match"])
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            m, u = level.get("m_probability"), level.get("u_probability")
            if not level.get("is_null_level") and m is not None and u is not None:
                level["u_probability"] = net_rate(float(u), float(m), prior)
    return model


def agreement_m(model: dict[str, Any]) -> dict[str, float]:
    """Per term-frequency column, the probability that a match agrees on it: the m of its
    exact level and of the levels above it (stricter agreements of the same field: an exact
    email also agrees on the email's user part)."""
    found: dict[str, float] = {}
    for comparison in model["comparisons"]:
        total = 0.0
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            total += float(level.get("m_probability") or 0.0)
            column = level.get("tf_adjustment_column")
            if column and column not in found:
                found[column] = min(total, 1.0)
    return found


def frequency_sql(column: str, share: str, model: dict[str, Any]) -> str:
    """SQL for the frequency of a ``column`` value among other people's records, from
    ``share`` (SQL for its share of all records): ``net_rate`` in SQL (DuckDB and Spark) with
    the floor ``MIN_FREQUENCY_SHARE``."""
    prior = float(model["probability_two_random_records_match"])
    shift = prior * agreement_m(model).get(column, 0.0)
    return f"greatest(({share} - {shift!r}) / {1 - prior!r}, ({share}) * {MIN_FREQUENCY_SHARE!r})"
