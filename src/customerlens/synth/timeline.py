"""Dates as integer day numbers (days since 1970-01-01) and the fixed transaction window."""

from __future__ import annotations

import numpy as np

from customerlens.synth.lexicon import Int, Str


def day(iso: str) -> int:
    """Day number of an ISO date."""
    return int(np.datetime64(iso, "D").astype(np.int64))


WINDOW_START = day("2023-01-01")  # first day with transactions
WINDOW_END = day("2025-01-01")  # exclusive: transactions end on 2024-12-31
EARLIEST = day("2010-01-01")  # no account or CRM entry is older
REFERENCE = day("2024-01-01")  # ages are computed at this date
NEVER = day("2200-01-01")  # "this change never happens"
YEAR = 365.25


def iso_dates(days: Int) -> Str:
    """ISO ``YYYY-MM-DD`` strings for day numbers."""
    return np.datetime_as_string(days.astype("datetime64[D]")).astype(object)


def uniform_days(rng: np.random.Generator, lo: Int | int, hi: Int | int, n: int) -> Int:
    """Uniform integer days in ``[lo, hi)`` (``hi <= lo`` gives ``lo``)."""
    lo_a = np.broadcast_to(np.asarray(lo, dtype=np.int64), (n,))
    span = np.maximum(np.broadcast_to(np.asarray(hi, dtype=np.int64), (n,)) - lo_a, 1)
    return lo_a + np.floor(rng.random(n) * span).astype(np.int64)
