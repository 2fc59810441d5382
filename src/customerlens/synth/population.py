"""Households and the people in them: roles, genders, ages, names and marriages.

People are numbered household by household, so the members of a household are consecutive.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from customerlens.synth.lexicon import (
    ORIGINS,
    POOL_EAST_EUROPEAN,
    POOL_GENERAL,
    POOL_HINDU_SIKH,
    POOL_MUSLIM,
    Bool,
    Int,
    Lexicon,
    Str,
)
from customerlens.synth.rates import Rates
from customerlens.synth.timeline import NEVER, REFERENCE, YEAR, day, uniform_days

HEAD, PARTNER, CHILD, FLATMATE = 0, 1, 2, 3
SINGLE, COUPLE, SINGLE_PARENT, FLATSHARE, FAMILY = 0, 1, 2, 3, 4
MALE, FEMALE = 0, 1

MIDDLE_NAME_SHARE = 0.6
OWN_POOL_SHARE = 0.85  # households of South Asian / East European origin naming from own pool
# surname origin -> first-name pool used by most such households
_OWN_POOL = {ORIGINS.index("sam"): POOL_MUSLIM, ORIGINS.index("sah"): POOL_HINDU_SIKH,
             ORIGINS.index("eeu"): POOL_EAST_EUROPEAN}
_MARRIAGE_FROM, _MARRIAGE_TO = day("2012-06-01"), day("2024-10-01")


@dataclass(frozen=True)
class Households:
    """Household structure of one block of people.

    Attributes
    ----------
    of_person, position, role : per person: household index, position in it (0 = head), role
    start, size, kind : per household: first person, number of people, kind (``SINGLE`` ...)
    """

    of_person: Int
    position: Int
    role: Int
    start: Int
    size: Int
    kind: Int

    @property
    def n_people(self) -> int:
        return len(self.of_person)

    @property
    def n_households(self) -> int:
        return len(self.start)


@dataclass(frozen=True)
class People:
    """Who each person is. Surnames change on ``name_change`` (``NEVER`` when they do not)."""

    gender: Int
    dob: Int
    first: Int
    middle: Int
    surname_old: Str
    surname_new: Str
    name_change: Int
    married: Bool


def make_households(rng: np.random.Generator, n_people: int, rates: Rates) -> Households:
    """Split ``n_people`` into households and give everyone a role."""
    p = np.array(rates.household_sizes)
    sizes = rng.choice(5, size=n_people, p=p / p.sum()) + 1
    ends = np.cumsum(sizes)
    last = int(np.searchsorted(ends, n_people))
    sizes = sizes[: last + 1].copy()
    sizes[last] -= ends[last] - n_people
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    of_person = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
    position = np.arange(n_people, dtype=np.int64) - start[of_person]
    u = rng.random(len(sizes))
    kind = np.select(
        [sizes == 1, (sizes == 2) & (u < 0.75), (sizes == 2) & (u < 0.95), sizes == 2,
         u < 0.82, u < 0.95],
        [SINGLE, COUPLE, SINGLE_PARENT, FLATSHARE, FAMILY, SINGLE_PARENT],
        FLATSHARE,
    ).astype(np.int64)
    kind_p = kind[of_person]
    role = np.select(
        [position == 0, (position == 1) & np.isin(kind_p, (COUPLE, FAMILY)), kind_p == FLATSHARE],
        [HEAD, PARTNER, FLATMATE],
        CHILD,
    ).astype(np.int64)
    return Households(of_person, position, role, start, sizes.astype(np.int64), kind)


def _genders(rng: np.random.Generator, hh: Households) -> Int:
    g = rng.integers(0, 2, hh.n_people)
    mothers = rng.random(hh.n_households) < 0.75  # single parents are mostly mothers
    head_g = np.where(hh.kind == SINGLE_PARENT, mothers.astype(np.int64), g[hh.start])
    g[hh.start] = head_g
    partner = hh.role == PARTNER
    same_sex = rng.random(hh.n_people) < 0.04
    head_of = head_g[hh.of_person]
    g[partner] = np.where(same_sex[partner], head_of[partner], 1 - head_of[partner])
    return g.astype(np.int64)


def _birth_days(rng: np.random.Generator, hh: Households, gender: Int, twins: float) -> Int:
    n, role = hh.n_people, hh.role
    # ages at REFERENCE; gamma tails instead of clipping avoid piles of identical birthdays
    age = 18 + rng.gamma(3.2, 7.5, n)
    age = np.where(age > 95, 18 + 60 * rng.random(n), age)
    has_kids = np.isin(hh.kind, (FAMILY, SINGLE_PARENT))
    head_age = np.where(
        has_kids,
        38 + rng.gamma(3.0, 5.5, hh.n_households),
        np.where(hh.kind == FLATSHARE, 18 + rng.gamma(3.0, 3.0, hh.n_households),
                 age[hh.start]),
    )
    age[hh.start] = head_age
    head_of = head_age[hh.of_person]
    noise = rng.normal(0, 1, n)
    partner, flatmate, child = role == PARTNER, role == FLATMATE, role == CHILD
    shift = np.where(gender == FEMALE, -1.5, 1.5)
    spread = 18 + 3 * rng.random(n)
    age[partner] = np.maximum(head_of + shift + 4 * noise, spread)[partner]
    age[flatmate] = np.maximum(head_of + 3 * noise, spread)[flatmate]
    kid = head_of - rng.uniform(20, 38, n)
    kid = np.minimum(np.where(kid < 16, 16 + 6 * rng.random(n), kid), head_of - 17)
    age[child] = kid[child]
    dob = REFERENCE - np.round(age * YEAR).astype(np.int64)
    twin_u = rng.random(n)
    prev_child = np.zeros(n, dtype=bool)
    prev_child[1:] = role[:-1] == CHILD
    twin = np.flatnonzero(child & prev_child & (hh.position >= 1) & (twin_u < twins))
    dob[twin] = dob[twin - 1]
    return dob


def _surnames(
    rng: np.random.Generator, hh: Households, gender: Int, dob: Int, region: Int,
    rates: Rates, lex: Lexicon,
) -> tuple[Int, Str, Str, Int, Bool]:
    """Return (family surname index per household, old and new surnames, change day, married)."""
    n, role = hh.n_people, hh.role
    names = lex.surnames.names
    own_idx = lex.surnames.draw(rng, region[hh.of_person])
    own = names[own_idx]
    hs = hh.start
    second = np.where(hh.size >= 2, hs + 1, hs)
    couple = np.isin(hh.kind, (COUPLE, FAMILY))
    married_h = couple & (rng.random(hh.n_households) < np.where(hh.kind == FAMILY, 0.85, 0.65))
    opposite = gender[hs] != gender[second]
    husband = np.where(gender[hs] == MALE, hs, second)
    family_idx = own_idx[np.where(married_h & opposite, husband, hs)]
    family = names[family_idx][hh.of_person]

    new = own.copy()
    child = role == CHILD
    keeps_mothers = (hh.kind[hh.of_person] != SINGLE_PARENT) | (rng.random(n) < 0.7)
    new[child & keeps_mothers] = family[child & keeps_mothers]

    u = rng.random(n)
    spouse = (role == HEAD) | (role == PARTNER)
    married = spouse & (married_h & opposite)[hh.of_person]
    wife = married & (gender == FEMALE)
    barrel = rates.double_barrelled
    takes = wife & (u < 0.9)
    new[takes] = family[takes]
    double = np.flatnonzero(wife & (u < barrel))
    new[double] = [f"{a}-{b}" for a, b in zip(own[double], family[double], strict=True)]

    age = (REFERENCE - dob) / YEAR
    single_woman = (hh.kind[hh.of_person] == SINGLE) & (gender == FEMALE) & (age > 24) & (age < 45)
    weds = single_woman & (rng.random(n) < rates.single_woman_married)
    husband_name = names[lex.surnames.draw(rng, region[hh.of_person])]
    new[weds] = husband_name[weds]
    double = np.flatnonzero(weds & (rng.random(n) < barrel))
    new[double] = [f"{a}-{b}" for a, b in zip(own[double], husband_name[double], strict=True)]

    in_window = (wife & (age < 55) & (rng.random(n) < rates.married_in_window)) | weds
    change = np.where(in_window & (new != own),
                      uniform_days(rng, _MARRIAGE_FROM, _MARRIAGE_TO, n), NEVER)
    old = np.where(change < NEVER, own, new)
    return family_idx, old, new, change.astype(np.int64), married | weds


def _first_names(
    rng: np.random.Generator, hh: Households, gender: Int, dob: Int, origin: Int,
    rates: Rates, lex: Lexicon,
) -> tuple[Int, Int]:
    n = hh.n_people
    u = rng.random(n)
    own = np.array([_OWN_POOL.get(int(o), POOL_GENERAL) for o in range(len(ORIGINS))])[origin]
    pool = np.where(u < OWN_POOL_SHARE, own, POOL_GENERAL).astype(np.int64)
    year = 1970 + dob / YEAR
    cohort = ((year >= 1965).astype(np.int64) + (year >= 1990)).astype(np.int64)
    first = lex.first.draw(rng, gender, pool, cohort)
    middle = lex.first.draw(rng, gender, pool, cohort)
    middle = np.where((rng.random(n) < MIDDLE_NAME_SHARE) & (middle != first), middle, -1)

    # a son named after his father (a "junior"): same name, same address, other birthday
    hs = hh.start
    second = np.where(hh.size >= 2, hs + 1, hs)
    father_h = np.where(gender[hs] == MALE, hs, np.where(gender[second] == MALE, second, -1))
    father = father_h[hh.of_person]
    child = hh.role == CHILD
    junior = child & (gender == MALE) & (father >= 0) & (rng.random(n) < rates.junior)
    first[junior] = first[father[junior]]
    # parents rarely give two children the same name: redraw a clash with the previous member
    redraw = lex.first.draw(rng, gender, pool, cohort)
    clash = np.zeros(n, dtype=bool)
    clash[1:] = (first[1:] == first[:-1]) & (hh.position[1:] > 0)
    clash &= child & ~junior
    first[clash] = redraw[clash]

    # children sharing a parent's initial (hard negatives for initial-only records)
    pick = np.flatnonzero(child & ~junior & (rng.random(n) < rates.same_initial_child))
    tries = 40
    cand = lex.first.draw(rng, np.repeat(gender[pick], tries), np.repeat(pool[pick], tries),
                          np.repeat(cohort[pick], tries)).reshape(len(pick), tries)
    initials = np.array([str(s)[0] for s in lex.first.names])
    parent = hs[hh.of_person[pick]]
    match = (initials[cand] == initials[first[parent]][:, None]) & (cand != first[parent][:, None])
    has = match.any(axis=1)
    first[pick[has]] = cand[has, match[has].argmax(axis=1)]
    return first, middle


def make_people(
    rng: np.random.Generator, hh: Households, region: Int, rates: Rates, lex: Lexicon
) -> People:
    """Draw everyone's gender, birth day, names and marriage.

    Parameters
    ----------
    rng : numpy.random.Generator
        The block's generator.
    hh : Households
        Household structure from :func:`make_households`.
    region : numpy.ndarray
        Region index of each household's first home (drives surname frequencies).
    rates : Rates
        Difficulty rates.
    lex : Lexicon
        Vocabularies.
    """
    gender = _genders(rng, hh)
    dob = _birth_days(rng, hh, gender, rates.twins)
    family_idx, old, new, change, married = _surnames(rng, hh, gender, dob, region, rates, lex)
    origin = lex.surnames.origin[family_idx][hh.of_person]
    first, middle = _first_names(rng, hh, gender, dob, origin, rates, lex)
    return People(gender, dob, first, middle, old, new, change, married)
