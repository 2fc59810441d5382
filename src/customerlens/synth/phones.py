"""Phone numbers: personal mobiles (sometimes replaced), household landlines, and how they're typed.

Numbers are stored as UK national significant numbers (``7700900123``, ``1134960123``) and are
unique across people, except a landline, which the whole household shares.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from customerlens.synth.geography import Homes
from customerlens.synth.lexicon import Int, Lexicon, Str
from customerlens.synth.population import Households, People
from customerlens.synth.rates import ChannelNoise, Rates
from customerlens.synth.registry import UniqueKeys, int_keys
from customerlens.synth.timeline import NEVER, REFERENCE, YEAR, day, uniform_days

MOBILE_PREFIXES = np.array([4, 5, 7, 8, 9])  # 07[45789]xx are mobile ranges; 076 is pagers
_CITY_CODES = frozenset({"113", "114", "115", "116", "117", "118", "121", "131", "141", "151",
                         "161", "191"})
_STYLE_CUM = np.cumsum([34, 25, 10, 8, 4, 4, 8, 4, 3], dtype=float)
_CHANGE_FROM, _CHANGE_TO = day("2014-01-01"), day("2024-10-01")


@dataclass(frozen=True)
class Phones:
    """Phone numbers of a block.

    Attributes
    ----------
    mobile : (n, 2) first and replacement mobile number; 0 when none
    mobile_change : (n,) day the replacement took over (``NEVER`` when none)
    landline : per address id, the household's landline there; 0 when none
    """

    mobile: Int
    mobile_change: Int
    landline: Int

    def mobile_at(self, person: Int, days: Int) -> Int:
        """Mobile number each person used on a day (0 when none)."""
        later = (days >= self.mobile_change[person]) & (self.mobile[person, 1] > 0)
        return np.where(later, self.mobile[person, 1], self.mobile[person, 0])


def _random_mobiles(rng: np.random.Generator, n: int) -> Int:
    prefix = MOBILE_PREFIXES[rng.integers(0, len(MOBILE_PREFIXES), n)]
    return (7_000_000_000 + prefix * 100_000_000 + rng.integers(0, 100_000_000, n)).astype(
        np.int64)


def make_phones(
    rng: np.random.Generator, hh: Households, people: People, homes: Homes, rates: Rates,
    lex: Lexicon, registry: UniqueKeys,
) -> Phones:
    """Give people mobiles (fewer among the old) and some households a landline per home."""
    n = hh.n_people
    age = (REFERENCE - people.dob) / YEAR
    p_mobile = np.where(age < 60, 0.95, np.where(age < 75, 0.85, 0.65))
    has = rng.random(n) < p_mobile
    changes = has & (rng.random(n) < rates.new_mobile)
    mobile = np.zeros((n, 2), dtype=np.int64)

    def redraw(pos: Int, _: int) -> Int:
        return _random_mobiles(rng, len(pos))

    for k, owners in enumerate((np.flatnonzero(has), np.flatnonzero(changes))):
        mobile[owners, k] = registry.settle(_random_mobiles(rng, len(owners)), int_keys, redraw)
    change = np.where(changes, uniform_days(rng, _CHANGE_FROM, _CHANGE_TO, n), NEVER)

    head_age = age[hh.start]
    has_line = rng.random(hh.n_households) < 0.2 + 0.35 * (head_age > 55)
    ids = homes.slots[hh.start[has_line]].ravel()
    ids = ids[ids >= 0]
    dial = lex.geo.area_dial[homes.book.area[ids]]
    code = np.array([int(str(d)[1:]) for d in dial], dtype=np.int64)
    local_len = np.array([11 - len(str(d)) for d in dial], dtype=np.int64)
    scale = 10 ** (local_len - 1)

    def landlines(pos: Int, _: int = 0) -> Int:
        lead = rng.integers(2, 10, len(pos))
        rest = np.floor(rng.random(len(pos)) * scale[pos]).astype(np.int64)
        return code[pos] * scale[pos] * 10 + lead * scale[pos] + rest

    landline = np.zeros(len(homes.book.postcode), dtype=np.int64)
    all_pos = np.arange(len(ids), dtype=np.int64)
    landline[ids] = registry.settle(landlines(all_pos), int_keys, landlines)
    return Phones(mobile, change.astype(np.int64), landline)


def _code_length(digits: str) -> int:
    if digits[0] == "2":
        return 2
    if digits[0] == "1" and digits[:3] in _CITY_CODES:
        return 3
    return 4


def format_phone(nsn: str, style: int) -> str:
    """Write a national significant number in one of the styles people use."""
    c = _code_length(nsn)
    code, rest = nsn[:c], nsn[c:]
    if len(rest) == 8:
        spaced = f"{rest[:4]} {rest[4:]}"
    elif len(rest) == 7 and c == 3:
        spaced = f"{rest[:3]} {rest[3:]}"
    else:
        spaced = rest
    triples = f"{rest[:3]} {rest[3:]}" if len(rest) == 6 else spaced
    return (
        f"0{code} {spaced}", f"0{nsn}", f"+44 {code} {spaced}", f"+44{nsn}",
        f"0044 {code} {triples}", f"(0{code}) {rest}", f"0{code} {triples}",
        f"+44 (0){code} {spaced}", f"0{code}-{rest}",
    )[style]


def _phone_typo(digits: str, u: float) -> str:
    j = 1 + int(u * (len(digits) - 2))
    if u < 0.5:
        return digits[:j] + digits[j + 1] + digits[j] + digits[j + 2:]
    return digits[:j] + str((int(digits[j]) + 1) % 10) + digits[j + 1:]


def render_phones(mobile: Int, landline: Int, noise: ChannelNoise,
                  rng: np.random.Generator) -> Str:
    """Choose the number a record shows (mobile or landline), write it, or leave it blank."""
    n = len(mobile)
    u = rng.random((n, 4))
    use_line = (landline > 0) & ((mobile == 0) | (u[:, 0] < noise.phone_landline))
    number = np.where(use_line, landline, mobile)
    number = np.where(u[:, 1] < noise.phone_missing, 0, number)
    styles = np.searchsorted(_STYLE_CUM, u[:, 2] * _STYLE_CUM[-1], side="right")
    out = np.full(n, None, dtype=object)
    for i in np.flatnonzero(number > 0):
        digits = str(number[i])
        if u[i, 3] < noise.typo / 2:
            digits = _phone_typo(digits, u[i, 3] / (noise.typo / 2))
        out[i] = format_phone(digits, int(styles[i]))
    return out
