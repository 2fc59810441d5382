"""Vocabularies as arrays: names, surnames (head + generated tail), places and e-mail providers.

Everything here is a fixed "world", independent of the user's seed, built once per process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from customerlens.synth.data import first_names as fn
from customerlens.synth.data import nicknames, places, surnames

Str = npt.NDArray[np.object_]
Int = npt.NDArray[np.int64]
Float = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]

ORIGINS = ("gb", "wal", "sco", "iri", "sam", "sah", "eeu", "eas", "afr")
REGIONS = ("eng", "lon", "mid", "wal", "sco", "ni")
# First-name pools; households of South Asian / East European surname mostly use their own.
POOL_GENERAL, POOL_MUSLIM, POOL_HINDU_SIKH, POOL_EAST_EUROPEAN = 0, 1, 2, 3
COHORT_BOUNDS = (1965, 1990)  # birth years splitting the three first-name cohorts

HEAD_SHARE = 0.62  # share of people whose surname comes from the hand-written head
HEAD_FLATTEN = 0.70  # exponent < 1 softens the head so Smith stays near its real ~1.3-1.8%
TAIL_POOL = 80_000  # distinct generated surnames
TAIL_ZIPF_OFFSET = 100.0
TAIL_ZIPF_EXPONENT = 0.8

_WORLD_SEED = 20_240_101  # fixed: the vocabulary does not depend on the user's seed


def as_obj(values: Any) -> Str:
    """Return ``values`` as a 1-d numpy object array (strings stay Python ``str``)."""
    items = list(values)
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def draw(cum: Float, u: Float) -> Int:
    """Inverse-CDF draw: indices for uniforms ``u`` in [0, 1) given unnormalised ``cum``."""
    return np.searchsorted(cum, u * cum[-1], side="right").astype(np.int64)


def _rows(table: str) -> list[list[str]]:
    return [line.split() for line in table.strip().splitlines() if line.strip()]


@dataclass(frozen=True)
class FirstNames:
    """First-name vocabulary and cumulative weights per (gender, pool, cohort)."""

    names: Str
    cum: dict[tuple[int, int, int], Float]
    nicknames: tuple[tuple[str, ...], ...]

    def draw(self, rng: np.random.Generator, gender: Int, pool: Int, cohort: Int) -> Int:
        """Draw one name index per person."""
        u = rng.random(len(gender))
        out = np.zeros(len(gender), dtype=np.int64)
        for (g, p, c), cum in self.cum.items():
            mask = (gender == g) & (pool == p) & (cohort == c)
            if mask.any():
                out[mask] = draw(cum, u[mask])
        return out


@dataclass(frozen=True)
class Surnames:
    """Surname vocabulary (head first, then tail), origins and cumulative weights per region."""

    names: Str
    origin: Int
    cum: npt.NDArray[np.float64]  # shape (n_regions, n_names)

    def draw(self, rng: np.random.Generator, region: Int) -> Int:
        """Draw one surname index per person of the given region."""
        u = rng.random(len(region))
        out = np.zeros(len(region), dtype=np.int64)
        for r in range(len(REGIONS)):
            mask = region == r
            if mask.any():
                out[mask] = draw(self.cum[r], u[mask])
        return out


@dataclass(frozen=True)
class Geography:
    """Postcode areas and districts, streets and street types."""

    area_town: Str
    area_region: Int
    area_dial: Str
    district_outward: Str
    district_area: Int
    district_cum: Float
    area_first_district: Int
    area_n_districts: Int
    streets: Str
    street_types: Str
    street_type_cum: Float
    street_type_abbrev: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Email:
    """E-mail providers with cumulative weights for older / younger people, and handle words."""

    domains: Str
    cum_old: Float
    cum_young: Float
    gmail_like: Bool
    handle_words: Str


@dataclass(frozen=True)
class Lexicon:
    """Everything the generator draws names, places and providers from."""

    first: FirstNames
    surnames: Surnames
    geo: Geography
    email: Email


def _first_names() -> FirstNames:
    general = {g: _rows(t) for g, t in enumerate((fn.MALE, fn.FEMALE))}
    special = {
        (0, POOL_MUSLIM): _rows(fn.MUSLIM_MALE),
        (1, POOL_MUSLIM): _rows(fn.MUSLIM_FEMALE),
        (0, POOL_HINDU_SIKH): _rows(fn.HINDU_SIKH_MALE),
        (1, POOL_HINDU_SIKH): _rows(fn.HINDU_SIKH_FEMALE),
        (0, POOL_EAST_EUROPEAN): _rows(fn.EAST_EUROPEAN_MALE),
        (1, POOL_EAST_EUROPEAN): _rows(fn.EAST_EUROPEAN_FEMALE),
    }
    vocab: dict[str, int] = {}
    for rows in [*general.values(), *special.values()]:
        for row in rows:
            vocab.setdefault(row[0], len(vocab))
    cum: dict[tuple[int, int, int], Float] = {}
    for g, rows in general.items():
        for c in range(3):
            w = np.zeros(len(vocab))
            for row in rows:
                w[vocab[row[0]]] = float(row[1 + c])
            cum[(g, POOL_GENERAL, c)] = np.cumsum(w)
    for (g, p), rows in special.items():
        w = np.zeros(len(vocab))
        for row in rows:
            w[vocab[row[0]]] = float(row[1])
        for c in range(3):
            cum[(g, p, c)] = np.cumsum(w)
    names = as_obj(vocab)
    nick = tuple(nicknames.NICKNAMES.get(str(n), ()) for n in names)
    return FirstNames(names=names, cum=cum, nicknames=nick)


def _join_parts(first: str, second: str) -> str:
    name = re.sub(r"(.)\1\1+", r"\1\1", (first + second).lower())
    name = name.replace("hh", "h")
    return name[:1].upper() + name[1:]


def _tail(exclude: set[str]) -> list[str]:
    prefixes = surnames.TAIL_PREFIXES.split()
    suffixes = surnames.TAIL_SUFFIXES.split()
    roots = [o + r for o in surnames.TAIL_ONSETS.split() for r in surnames.TAIL_RIMES.split()]
    pool = {_join_parts(p, s) for p in prefixes + roots for s in suffixes}
    pool -= exclude
    ordered = sorted(pool)
    rng = np.random.default_rng(_WORLD_SEED)
    pick = rng.permutation(len(ordered))[:TAIL_POOL]
    return [ordered[i] for i in pick]


def _surnames() -> Surnames:
    head = _rows(surnames.HEAD)
    head_names = [r[0] for r in head]
    head_w = np.array([float(r[1]) for r in head]) ** HEAD_FLATTEN
    head_origin = np.array([ORIGINS.index(r[2]) for r in head], dtype=np.int64)
    tail_names = _tail({n.lower().capitalize() for n in head_names} | set(head_names))
    tail_w = (np.arange(len(tail_names)) + TAIL_ZIPF_OFFSET) ** -TAIL_ZIPF_EXPONENT
    tail_w *= (1.0 - HEAD_SHARE) / tail_w.sum()
    cum = np.empty((len(REGIONS), len(head_names) + len(tail_names)))
    for r, region in enumerate(REGIONS):
        mult = places.REGION_ORIGIN_WEIGHT.get(region, {})
        w = head_w * np.array([mult.get(ORIGINS[o], 1.0) for o in head_origin])
        w *= HEAD_SHARE / w.sum()
        cum[r] = np.cumsum(np.concatenate([w, tail_w]))
    origin = np.concatenate([head_origin, np.zeros(len(tail_names), dtype=np.int64)])
    return Surnames(names=as_obj(head_names + tail_names), origin=origin, cum=cum)


def _districts(spec: str) -> list[str]:
    out: list[str] = []
    for item in spec.split(","):
        if re.fullmatch(r"\d+-\d+", item):
            lo, hi = (int(x) for x in item.split("-"))
            out.extend(str(d) for d in range(lo, hi + 1))
        else:
            out.append(item)
    return out


def _geography() -> Geography:
    rng = np.random.default_rng(_WORLD_SEED + 1)
    towns: list[str] = []
    dials: list[str] = []
    outward: list[str] = []
    regions: list[int] = []
    d_area: list[int] = []
    first: list[int] = []
    count: list[int] = []
    d_weight: list[float] = []
    for a, row in enumerate(_rows(places.AREAS)):
        code, town, region, weight, dial, spec = row
        towns.append(town.replace("_", " "))
        regions.append(REGIONS.index(region))
        dials.append(dial)
        districts = _districts(spec)
        first.append(len(outward))
        count.append(len(districts))
        outward.extend(code + d for d in districts)
        d_area.extend([a] * len(districts))
        d_weight.extend(float(weight) / len(districts) * rng.lognormal(0, 0.4, len(districts)))
    types = _rows(places.STREET_TYPES)
    return Geography(
        area_town=as_obj(towns),
        area_region=np.array(regions, dtype=np.int64),
        area_dial=as_obj(dials),
        district_outward=as_obj(outward),
        district_area=np.array(d_area, dtype=np.int64),
        district_cum=np.cumsum(d_weight),
        area_first_district=np.array(first, dtype=np.int64),
        area_n_districts=np.array(count, dtype=np.int64),
        streets=as_obj(s.replace("_", " ") for s in places.STREET_NAMES.split()),
        street_types=as_obj(t[0] for t in types),
        street_type_cum=np.cumsum([float(t[1]) for t in types]),
        street_type_abbrev=tuple(tuple(t[2].split(",")) if t[2] != "-" else () for t in types),
    )


def _email() -> Email:
    rows = _rows(places.EMAIL_PROVIDERS)
    return Email(
        domains=as_obj(r[0] for r in rows),
        cum_old=np.cumsum([float(r[1]) for r in rows]),
        cum_young=np.cumsum([float(r[2]) for r in rows]),
        gmail_like=np.array([r[3] == "y" for r in rows]),
        handle_words=as_obj(w.replace("_", "") for w in places.HANDLE_WORDS.split()),
    )


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """Build (once per process) and return the generator's vocabularies."""
    return Lexicon(first=_first_names(), surnames=_surnames(), geo=_geography(), email=_email())
