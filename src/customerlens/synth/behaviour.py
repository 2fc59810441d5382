"""What people buy and when: taste, order cadence, seasonality, basket lines and prices.

Each person has a consistent taste (2-4 preferred top-level categories, a favourite brand per
category and a loyalty to it, a price level, a basket size), a cadence (orders per year from a
heavy-tailed distribution, or a one-time buyer), a seasonality (some buy mostly before
Christmas), and a propensity to check out as a guest even when they have an account.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from customerlens.synth.catalogue import Catalogue, favourite_groups, pick_products
from customerlens.synth.lexicon import Bool, Float, Int
from customerlens.synth.lifecycle import Lifecycle
from customerlens.synth.population import FEMALE, People
from customerlens.synth.rates import Rates
from customerlens.synth.timeline import REFERENCE, WINDOW_END, WINDOW_START, YEAR

ONE_TIME_BUYERS = 0.3
CHRISTMAS_SHOPPERS = 0.22
ORDERS_PER_YEAR_MEDIAN = 4.0
ORDERS_PER_YEAR_SIGMA = 0.9
MAX_ORDERS = 300
_HOUR_WEIGHTS = np.array([1, .5, .3, .2, .2, .3, .8, 1.5, 2.5, 3, 3.2, 3.4, 3.8, 3.5, 3.3, 3.2,
                          3.3, 3.6, 4.2, 5, 5.5, 5.2, 4, 2.2])
_TOP_APPEAL = {"electronics": 1.5, "apparel": 1.4, "beauty": 1.0, "appliances": 1.0,
               "computers": 1.0, "kids": 0.7, "sport": 0.8, "furniture": 0.6,
               "construction": 0.6, "country_yard": 0.5, "auto": 0.4, "stationery": 0.5}
_FEMALE_APPEAL = {"beauty": 2.5, "apparel": 1.3, "construction": 0.5, "auto": 0.5}
_MALE_APPEAL = {"beauty": 0.4, "construction": 1.8, "auto": 1.8, "computers": 1.3}


@dataclass(frozen=True)
class Taste:
    """Per person: category weights (cumulative), favourite brand groups, loyalty, price level."""

    top_cum: Float
    group: Int
    loyalty: Float
    price_z: Float
    basket: Float
    guest_propensity: Float


@dataclass(frozen=True)
class Orders:
    """One row per order: who, when (seconds since 1970), which account slot (-1 = guest)."""

    person: Int
    time: Int
    account: Int

    @property
    def day(self) -> Int:
        return self.time // 86_400


@dataclass(frozen=True)
class Lines:
    """One row per purchased item: its order, product, quantity and unit price in pence."""

    order: Int
    product: Int
    quantity: Int
    price_pence: Int


def make_taste(rng: np.random.Generator, people: People, cat: Catalogue, rates: Rates) -> Taste:
    """Draw everyone's taste."""
    n = len(people.dob)
    names = [str(t) for t in cat.top_names]
    base = np.array([_TOP_APPEAL.get(t, 0.5) for t in names])
    fem = np.array([_FEMALE_APPEAL.get(t, 1.0) for t in names])
    male = np.array([_MALE_APPEAL.get(t, 1.0) for t in names])
    appeal = base[None, :] * np.where(people.gender[:, None] == FEMALE, fem, male)
    score = np.log(appeal) - np.log(-np.log(rng.random(appeal.shape)))  # Gumbel top-k
    k = rng.integers(2, 5, n)
    threshold = -np.sort(-score, axis=1)[np.arange(n), k - 1]
    preferred = score >= threshold[:, None]
    weights = np.where(preferred, rng.gamma(2.0, 1.0, appeal.shape), 0.03)
    age = (REFERENCE - people.dob) / YEAR
    m = rates.guest_propensity
    return Taste(
        top_cum=np.cumsum(weights, axis=1),
        group=favourite_groups(cat, rng, n),
        loyalty=rng.beta(2.0, 3.0, n),
        price_z=rng.normal(0, 1, n) + 0.25 * (age - 45) / 15,
        basket=rng.gamma(2.0, 0.5, n),
        guest_propensity=rng.beta(0.6, 0.6 * (1 - m) / m, n),
    )


def _season_weight(day: Int, christmas: Bool) -> Float:
    doy = (day.astype("datetime64[D]") - day.astype("datetime64[D]").astype("datetime64[Y]"))
    d = doy.astype(np.int64).astype(float)
    usual = (1 + 0.8 * np.exp(-(((d - 332) / 12) ** 2)) + 0.5 * np.exp(-(((d - 350) / 10) ** 2))
             - 0.25 * np.exp(-(((d - 40) / 20) ** 2))) / 2.3
    xmas = (0.25 + 3.0 * np.exp(-(((d - 338) / 20) ** 2))) / 3.25
    return np.where(christmas, xmas, usual)


def make_orders(
    rng: np.random.Generator, life: Lifecycle, taste: Taste, rates: Rates
) -> Orders:
    """Draw every order in the window: how many, when, and with which account (or as guest)."""
    n = len(life.start)
    lo = np.maximum(life.start, WINDOW_START)
    hi = np.minimum(life.end, WINDOW_END)
    rate = np.exp(rng.normal(np.log(ORDERS_PER_YEAR_MEDIAN), ORDERS_PER_YEAR_SIGMA, n))
    rate = np.where(life.n_accounts == 0, 0.6 * rate, rate)
    span = np.maximum(hi - lo, 0)
    one_time = rng.random(n) < ONE_TIME_BUYERS
    count = np.where(one_time, span > 0, rng.poisson(rate * span / YEAR))
    # everyone leaves a trace: people with neither account nor CRM entry buy at least once
    silent = (life.n_accounts == 0) & (life.n_crm == 0) & (count == 0)
    count = np.minimum(np.where(silent, 1, count), MAX_ORDERS)
    lo = np.where(silent, WINDOW_START, lo)
    span = np.where(silent, WINDOW_END - WINDOW_START, span)
    christmas = rng.random(n) < CHRISTMAS_SHOPPERS

    person = np.repeat(np.arange(n, dtype=np.int64), count)
    m = len(person)
    days = lo[person] + np.floor(rng.random(m) * span[person]).astype(np.int64)
    for _ in range(6):  # thinning: accept a day with probability of its seasonal weight
        reject = rng.random(m) > _season_weight(days, christmas[person])
        redrawn = lo[person] + np.floor(rng.random(m) * span[person]).astype(np.int64)
        days = np.where(reject, redrawn, days)
    hours = np.searchsorted(np.cumsum(_HOUR_WEIGHTS), rng.random(m) * _HOUR_WEIGHTS.sum(),
                            side="right")
    time = days * 86_400 + hours * 3_600 + rng.integers(0, 3_600, m)
    order = np.lexsort((time, person))
    person, time = person[order], time[order]

    signed_up = life.signup[person] <= (time // 86_400)[:, None]
    n_open = signed_up.sum(axis=1)
    u = rng.random((m, 3))
    guest = (n_open == 0) | (u[:, 0] < taste.guest_propensity[person])
    newest = n_open - 1
    older = np.floor(u[:, 2] * n_open).astype(np.int64)
    account = np.where(guest, -1, np.where(u[:, 1] < 0.85, newest, older))
    return Orders(person, time.astype(np.int64), account.astype(np.int64))


def make_lines(
    rng: np.random.Generator, orders: Orders, taste: Taste, cat: Catalogue
) -> Lines:
    """Fill each order with 1+ items picked by the buyer's taste, with quantities and prices."""
    n_lines = 1 + np.minimum(rng.poisson(taste.basket[orders.person]), 11)
    order = np.repeat(np.arange(len(orders.person), dtype=np.int64), n_lines)
    person = orders.person[order]
    m = len(order)
    cum = taste.top_cum[person]
    top = (cum < (rng.random(m) * cum[:, -1])[:, None]).sum(axis=1).astype(np.int64)
    loyal = rng.random(m) < taste.loyalty[person]
    product = pick_products(cat, rng, top, taste.group[person, top], loyal,
                            taste.price_z[person])
    u = rng.random((m, 3))
    multi = cat.multi_quantity[cat.top[product]]
    quantity = 1 + (u[:, 0] < np.where(multi, 0.3, 0.1)) + (u[:, 0] < np.where(multi, 0.1, 0.03))
    quantity += (u[:, 0] < 0.01) * rng.integers(1, 4, m)
    base = cat.price_pence[product]
    day = orders.day[order]
    rise = np.where((day >= WINDOW_START + 365) & (cat.product_id[product] % 5 < 3), 1.04, 1.0)
    promo = np.where(u[:, 1] < 0.12, 0.7 + 0.2 * u[:, 2], 1.0)
    factor = rise * promo
    changed = np.floor(base * factor / 100).astype(np.int64) * 100 + 99
    price = np.where((factor != 1.0) & (base >= 200), changed, base)
    return Lines(order, product, quantity.astype(np.int64), price.astype(np.int64))
