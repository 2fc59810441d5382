"""Homes: where each household lives, when it moved, and how addresses and postcodes are written.

A district (``LS6``) holds ``UNITS_PER_DISTRICT`` postcode units; a unit is one stretch of one
street with one inward code (``2AB``), so neighbours in a unit share street and postcode and
differ by house or flat number. Unit properties come from a fixed hash, so the map is the same
for every seed and every block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from customerlens.synth.data.places import INWARD_LETTERS as _LETTERS
from customerlens.synth.lexicon import Int, Lexicon, Str, as_obj, draw
from customerlens.synth.noise import with_typos
from customerlens.synth.population import CHILD, Households
from customerlens.synth.rates import Rates
from customerlens.synth.timeline import NEVER, REFERENCE, YEAR, day, uniform_days

UNITS_PER_DISTRICT = 400
LOCAL_MOVE_SHARE = 0.6  # moves that stay in the same postcode area
FLAT_BLOCK_SHARE = 15  # percent of units that are blocks of flats
_MOVE_FROM, _MOVE_TO = day("2013-01-01"), day("2024-11-30")
_LOOKALIKE = str.maketrans("0O1I5S8B2Z", "O0I1S5B8Z2")


@dataclass(frozen=True)
class AddressBook:
    """Canonical parts of every address of a block (index = address id)."""

    postcode: Str
    street: Str
    street_type: Int
    house: Int
    flat: Int
    town: Str
    area: Int


@dataclass(frozen=True)
class Homes:
    """Addresses of a block and who lived where when.

    Attributes
    ----------
    book : AddressBook
    slots : (n_people, 3) address ids in the order lived in; -1 when unused
    moved : (n_people, 2) day of the first and second move; ``NEVER`` when none
    region : region index of each household's first home
    """

    book: AddressBook
    slots: Int
    moved: Int
    region: Int

    def at(self, person: Int, days: Int) -> Int:
        """Address id of each ``person`` on the matching day."""
        k = (days >= self.moved[person, 0]).astype(np.int64) + (days >= self.moved[person, 1])
        return self.slots[person, k]


def _mix(x: Int) -> npt.NDArray[np.uint64]:
    """splitmix64 finaliser: a fixed, well-spread hash of integers."""
    h = x.astype(np.uint64)
    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    return h


def _next_district(rng: np.random.Generator, prev: Int, lex: Lexicon) -> Int:
    geo = lex.geo
    n = len(prev)
    area = geo.district_area[prev]
    local = geo.area_first_district[area] + np.floor(
        rng.random(n) * geo.area_n_districts[area]).astype(np.int64)
    anywhere = draw(geo.district_cum, rng.random(n))
    return np.where(rng.random(n) < LOCAL_MOVE_SHARE, local, anywhere)


def _book(rng: np.random.Generator, district: Int, lex: Lexicon) -> AddressBook:
    geo = lex.geo
    n = len(district)
    unit = rng.integers(0, UNITS_PER_DISTRICT, n)
    h = _mix(district * UNITS_PER_DISTRICT + unit)
    street = (h % np.uint64(len(geo.streets))).astype(np.int64)
    street_type = draw(geo.street_type_cum, ((h >> np.uint64(16)) % np.uint64(10_000)) / 1e4)
    sector = ((h >> np.uint64(30)) % np.uint64(10)).astype(np.int64)
    l1 = ((h >> np.uint64(34)) % np.uint64(20)).astype(np.int64)
    l2 = ((h >> np.uint64(40)) % np.uint64(20)).astype(np.int64)
    flats = ((h >> np.uint64(46)) % np.uint64(100)).astype(np.int64) < FLAT_BLOCK_SHARE
    top = (8 + (h >> np.uint64(53)) % np.uint64(140)).astype(np.int64)
    house = np.where(flats, top, 1 + np.floor(rng.random(n) * top).astype(np.int64))
    n_flats = (4 + (h >> np.uint64(20)) % np.uint64(40)).astype(np.int64)
    flat = np.where(flats, 1 + np.floor(rng.random(n) * n_flats).astype(np.int64), 0)
    outward = geo.district_outward[district]
    postcode = as_obj(f"{o} {s}{_LETTERS[a]}{_LETTERS[b]}"
                      for o, s, a, b in zip(outward, sector, l1, l2, strict=True))
    area = geo.district_area[district]
    return AddressBook(postcode, geo.streets[street], street_type, house, flat,
                       geo.area_town[area], area)


def first_districts(rng: np.random.Generator, n_households: int, lex: Lexicon) -> Int:
    """District of each household's first home (drawn before names: it sets the region)."""
    return draw(lex.geo.district_cum, rng.random(n_households))


def region_of(districts: Int, lex: Lexicon) -> Int:
    """Region index (see ``lexicon.REGIONS``) of districts."""
    return lex.geo.area_region[lex.geo.district_area[districts]]


def make_homes(
    rng: np.random.Generator, hh: Households, first: Int, dob: Int, rates: Rates, lex: Lexicon
) -> Homes:
    """Give every household zero to two moves after ``first``; let some children leave home."""
    n_hh, n = hh.n_households, hh.n_people
    second = _next_district(rng, first, lex)
    third = _next_district(rng, second, lex)
    u = rng.random(n_hh)
    n_moves = (u < rates.move_once + rates.move_twice).astype(np.int64) + (u < rates.move_twice)
    days = np.sort(uniform_days(rng, _MOVE_FROM, _MOVE_TO, 2 * n_hh).reshape(n_hh, 2), axis=1)
    hh_moved = np.where(np.arange(2)[None, :] < n_moves[:, None], days, NEVER)

    # children who left home get one extra address each, stored after the households' three
    age = (REFERENCE - dob) / YEAR
    leaves = ((hh.role == CHILD) & (n_moves[hh.of_person] == 0) & (age >= 19)
              & (rng.random(n) < rates.child_left_home))
    own = _next_district(rng, first[hh.of_person], lex)
    book = _book(rng, np.concatenate([np.stack([first, second, third], axis=1).ravel(), own]),
                 lex)

    ids = np.arange(3 * n_hh, dtype=np.int64).reshape(n_hh, 3)
    ids = np.where(np.arange(3)[None, :] <= n_moves[:, None], ids, -1)
    slots = ids[hh.of_person].copy()
    moved = hh_moved[hh.of_person].copy()
    adult_day = np.maximum(dob + np.int64(round(18 * YEAR)), _MOVE_FROM)
    leave_day = uniform_days(rng, adult_day, _MOVE_TO, n)
    slots[leaves, 1] = 3 * n_hh + np.flatnonzero(leaves)
    moved[leaves, 0] = leave_day[leaves]
    return Homes(book, slots, moved, region_of(first, lex))


def render_addresses(
    book: AddressBook, ids: Int, variant: float, typo_rate: float,
    rng: np.random.Generator, lex: Lexicon,
) -> Str:
    """Write address lines (``Flat 3, 45 High Street``) with abbreviations, towns and case."""
    n = len(ids)
    u = rng.random((n, 7))
    street = with_typos(book.street[ids], typo_rate, rng)
    types, abbrevs = lex.geo.street_types, lex.geo.street_type_abbrev
    out = np.empty(n, dtype=object)
    for i in range(n):
        a, ui = ids[i], u[i]
        vary = ui[0] < variant
        t = book.street_type[a]
        kind = str(types[t])
        if vary and ui[1] < 0.6 and abbrevs[t]:
            kind = abbrevs[t][int(ui[2] * len(abbrevs[t]))] + ("." if ui[2] < 0.15 else "")
        line = f"{book.house[a]} {street[i]} {kind}"
        f = book.flat[a]
        if f:
            style = int(ui[3] * 5) if vary else 0
            line = (f"Flat {f}, {line}", f"Flat {f} {line}", f"{f}/{line}", f"{line}, Flat {f}",
                    f"Apartment {f}, {line}")[style]
        if vary and ui[4] < 0.4:
            line = f"{line}, {book.town[a]}" if ui[5] < 0.7 else f"{line} {book.town[a]}"
        if vary and ui[6] < 0.12:
            line = line.upper() if ui[6] < 0.08 else line.lower()
        out[i] = line
    return out


def render_postcodes(
    canonical: Str, variant: float, typo_rate: float, rng: np.random.Generator
) -> Str:
    """Write postcodes as people do: no space, lower case, extra spaces, look-alike typos."""
    n = len(canonical)
    u = rng.random((n, 3))
    out = canonical.copy()
    for i in np.flatnonzero(u[:, 0] < variant + typo_rate):
        pc = str(out[i])
        if u[i, 0] < variant:
            style = int(u[i, 1] * 8)
            pc = (pc.replace(" ", ""), pc.lower(), pc.lower().replace(" ", ""),
                  pc.replace(" ", "  "), f" {pc}", f"{pc} ", pc.title(),
                  pc.replace(" ", "-"))[style]
        else:
            j = int(u[i, 2] * len(pc))
            swapped = pc[j].translate(_LOOKALIKE)
            if swapped != pc[j]:
                pc = pc[:j] + swapped + pc[j + 1:]
            elif j + 1 < len(pc) and pc[j + 1] != " " and pc[j] != " ":
                pc = pc[:j] + pc[j + 1] + pc[j] + pc[j + 2:]
        out[i] = pc
    return out
