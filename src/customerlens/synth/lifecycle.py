"""When each person became a customer, when they stopped, and their accounts and CRM entries."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from customerlens.synth.lexicon import Int
from customerlens.synth.rates import Rates
from customerlens.synth.timeline import (
    EARLIEST,
    NEVER,
    WINDOW_END,
    WINDOW_START,
    YEAR,
    uniform_days,
)

JOINED_IN_WINDOW = 0.42  # share of customers whose first contact is inside the window
CHURNERS = 0.5  # share of customers who stop buying at some point
MEAN_TENURE_BEFORE_WINDOW = 3.0  # years, for customers who joined before the window
MEAN_LIFETIME = 2.5  # years, for churners
ADULT_AGE = 16


@dataclass(frozen=True)
class Lifecycle:
    """Per person: customer life (``start`` .. ``end``), accounts and CRM entries.

    Attributes
    ----------
    start, end : first contact day, day after the last possible purchase (``NEVER`` if none)
    n_accounts, signup : number of accounts, (n, 3) sign-up days sorted (``NEVER`` if absent)
    n_crm, crm_day : number of CRM entries, (n, 2) creation days (``NEVER`` if absent)
    """

    start: Int
    end: Int
    n_accounts: Int
    signup: Int
    n_crm: Int
    crm_day: Int

    @property
    def last_day(self) -> Int:
        """Last day a record of the person can be created (exclusive)."""
        return np.minimum(self.end, WINDOW_END)


def make_lifecycle(rng: np.random.Generator, dob: Int, rates: Rates) -> Lifecycle:
    """Draw customer lives, accounts (0-3) and CRM entries (0-2) for people born on ``dob``."""
    n = len(dob)
    joined_before = WINDOW_START - 1 - np.floor(
        rng.exponential(MEAN_TENURE_BEFORE_WINDOW * YEAR, n)).astype(np.int64)
    joined_in = uniform_days(rng, WINDOW_START, WINDOW_END - 7, n)
    start = np.where(rng.random(n) < JOINED_IN_WINDOW, joined_in,
                     np.maximum(joined_before, EARLIEST))
    start = np.maximum(start, dob + int(ADULT_AGE * YEAR))  # nobody shops here before 16
    lifetime = 30 + np.floor(rng.exponential(MEAN_LIFETIME * YEAR, n)).astype(np.int64)
    end = np.where(rng.random(n) < CHURNERS, start + lifetime, NEVER)
    last = np.minimum(end, WINDOW_END)

    u = rng.random(n)
    extra = rates.two_accounts + rates.three_accounts
    has = rng.random(n) >= rates.no_account
    n_accounts = (has * (1 + (u < extra) + (u < rates.three_accounts))).astype(np.int64)
    quick = start + np.floor(rng.exponential(15, n)).astype(np.int64)
    anytime = uniform_days(rng, start, last, n)
    first = np.where((rng.random(n) < 0.7) & (quick < last), quick, anytime)
    first = np.minimum(first, WINDOW_END - 1)
    later = uniform_days(rng, np.tile(first, 2), np.tile(last, 2), 2 * n).reshape(2, n).T
    later = np.sort(later, axis=1)
    later = np.maximum(np.minimum(later, WINDOW_END - 1), first[:, None])
    signup = np.column_stack([first, later])
    signup = np.where(np.arange(3)[None, :] < n_accounts[:, None], signup, NEVER)

    u = rng.random(n)
    n_crm = (u < rates.one_crm_entry + rates.two_crm_entries).astype(np.int64) + (
        u < rates.two_crm_entries)
    crm_from = np.maximum(start - 180, EARLIEST)
    crm_day = uniform_days(rng, np.tile(crm_from, 2), np.tile(last, 2), 2 * n).reshape(2, n).T
    crm_day = np.sort(crm_day, axis=1)
    crm_day = np.where(np.arange(2)[None, :] < n_crm[:, None], crm_day, NEVER)
    return Lifecycle(start, end, n_accounts, signup.astype(np.int64), n_crm, crm_day)
