"""Mailboxes: which e-mail addresses people own, which one each account used, how they are typed.

A person owns up to three personal mailboxes (the first from before any record, later ones opened
at some date, e.g. for a new account) and may share a family mailbox with their household.
Mailboxes are unique across people; records show variants of them (gmail dots, googlemail,
``+tags``, case, typos) that still reach the same mailbox.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from customerlens.synth.data.places import PLUS_TAGS
from customerlens.synth.geography import Homes
from customerlens.synth.lexicon import Bool, Int, Lexicon, Str, as_obj, draw
from customerlens.synth.lifecycle import Lifecycle
from customerlens.synth.noise import fold_accents, typo
from customerlens.synth.population import Households, People
from customerlens.synth.rates import ChannelNoise, Rates
from customerlens.synth.registry import UniqueKeys, string_keys
from customerlens.synth.timeline import NEVER, YEAR, uniform_days

OLD_PROVIDERS_BEFORE = 1970  # people born earlier favour btinternet, aol, sky ...
GMAIL = ("gmail.com", "googlemail.com")

# local-part patterns and their weights
_PATTERNS = (
    ("first.last", 22), ("firstlast", 12), ("first_last", 4), ("f.last", 5), ("flast", 6),
    ("first.lastNN", 8), ("firstlastNN", 10), ("firstNN", 5), ("nick.last", 6),
    ("last.first", 3), ("first.m.last", 2), ("lastNN", 4), ("handle", 9), ("initialsNN", 4),
)
_PATTERN_CUM = np.cumsum([w for _, w in _PATTERNS], dtype=float)


@dataclass(frozen=True)
class Mailboxes:
    """E-mail addresses of a block.

    Attributes
    ----------
    mailbox : (n, 3) canonical personal addresses, ``None`` when absent
    opened : (n, 3) day each mailbox was opened (``NEVER`` when absent)
    family : (n,) household address shared with the family, ``None`` when none
    account_email : (n, 3) address each account was registered with, ``None`` when no account
    """

    mailbox: Str
    opened: Int
    family: Str
    account_email: Str

    def at(self, person: Int, days: Int, stale: Bool) -> Str:
        """The mailbox each person used on a day: the newest opened by then (oldest if stale)."""
        opened = np.where(self.opened[person] <= days[:, None], self.opened[person], -2 * NEVER)
        newest = np.where(stale, 0, opened.argmax(axis=1))
        return self.mailbox[person, newest]


@lru_cache(maxsize=65_536)
def _clean(name: str) -> str:
    return re.sub(r"[^a-z]", "", fold_accents(name).lower())


def _number(yob: int, u: float, v: float) -> str:
    if u < 0.40:
        return f"{yob % 100:02d}"
    if u < 0.55:
        return str(yob)
    return str(1 + int(v * 99)) if u < 0.9 else str(100 + int(v * 900))


def local_part(first: str, middle: str, last: str, nick: str, yob: int, u: np.ndarray,
               words: Str) -> str:
    """One e-mail local part in a style people really use (``john.smith84`` ...)."""
    f, m, s, k = _clean(first), _clean(middle), _clean(last), _clean(nick)
    nn = _number(yob, float(u[1]), float(u[2]))
    style = _PATTERNS[int(np.searchsorted(_PATTERN_CUM, u[0] * _PATTERN_CUM[-1], "right"))][0]
    if style == "nick.last" and k:
        return f"{k}.{s}" if u[3] < 0.6 else f"{k}{s}{nn}"
    if style == "first.m.last" and m:
        return f"{f}.{m[0]}.{s}"
    if style == "handle":
        w = str(words[int(u[3] * len(words))])
        w2 = str(words[int(u[4] * len(words))]) if u[4] < 0.3 else ""
        return f"{w}{w2}{nn}"
    return {
        "firstlast": f"{f}{s}", "first_last": f"{f}_{s}", "f.last": f"{f[:1]}.{s}",
        "flast": f"{f[:1]}{s}", "first.lastNN": f"{f}.{s}{nn}", "firstlastNN": f"{f}{s}{nn}",
        "firstNN": f"{f}{nn}", "last.first": f"{s}.{f}", "lastNN": f"{s}{f[:1]}{nn}",
        "initialsNN": f"{f[:1]}{m[:1]}{s[:1]}{nn}",
    }.get(style, f"{f}.{s}")


def mailbox_key(address: str) -> str:
    """What identifies a mailbox: case-insensitive; gmail ignores dots and ``+tags``."""
    local, _, domain = address.lower().partition("@")
    local = local.split("+", 1)[0]
    if domain in GMAIL:
        return local.replace(".", "") + "@gmail.com"
    return f"{local}@{domain}"


def _keys(values: np.ndarray) -> np.ndarray:
    return string_keys(as_obj(mailbox_key(str(v)) for v in values))


def _domains(rng: np.random.Generator, yob: Int, lex: Lexicon) -> Str:
    u = rng.random(len(yob))
    old = draw(lex.email.cum_old, u)
    young = draw(lex.email.cum_young, u)
    return lex.email.domains[np.where(yob < OLD_PROVIDERS_BEFORE, old, young)]


def _settle(values: Str, registry: UniqueKeys, rng: np.random.Generator) -> Str:
    """Make addresses unique across people: later claimants add digits, as in real life."""
    base = values.copy()

    def redraw(pos: Int, round_: int) -> Str:
        top = 10 ** (1 + round_ // 3)
        digits = rng.integers(1, top, len(pos))
        return as_obj(str(base[p]).replace("@", f"{d}@", 1) for p, d in
                      zip(pos, digits, strict=True))

    return registry.settle(values, _keys, redraw)


def gmail_variant(address: str, k: int) -> str:
    """Another spelling of the same gmail mailbox (dots toggled, or a ``+tag``)."""
    local, _, domain = address.partition("@")
    if k == 1:
        local = local.replace(".", "") if "." in local else f"{local[:len(local) // 2]}." \
            f"{local[len(local) // 2:]}"
        return f"{local}@{domain}"
    return f"{local}+{PLUS_TAGS[len(local) % len(PLUS_TAGS)]}@{domain}"


def _open(
    rng: np.random.Generator, owners: Int, day: Int, people: People, yob: Int, lex: Lexicon,
    registry: UniqueKeys,
) -> Str:
    """Open one personal mailbox for each owner on ``day`` (named after them on that day)."""
    surname = np.where(day >= people.name_change[owners], people.surname_new[owners],
                       people.surname_old[owners])
    domains = _domains(rng, yob[owners], lex)
    u = rng.random((len(owners), 5))
    names = lex.first.names
    locals_ = [
        local_part(str(names[people.first[p]]),
                   str(names[people.middle[p]]) if people.middle[p] >= 0 else "",
                   str(sn), _nickname(lex, people.first[p], float(u[i, 4])), int(yob[p]),
                   u[i], lex.email.handle_words)
        for i, (p, sn) in enumerate(zip(owners, surname, strict=True))
    ]
    cand = as_obj(f"{lp}@{d}" for lp, d in zip(locals_, domains, strict=True))
    return _settle(cand, registry, rng)


def make_mailboxes(
    rng: np.random.Generator, hh: Households, people: People, homes: Homes, life: Lifecycle,
    rates: Rates, lex: Lexicon, registry: UniqueKeys,
) -> Mailboxes:
    """Open everyone's mailboxes and decide which address each account was registered with.

    A second or third account is registered either with a new mailbox or, for gmail users,
    with another spelling of the first one (dots toggled, ``+tag``).
    """
    n = hh.n_people
    yob = np.floor(1970 + people.dob / YEAR).astype(np.int64)
    signup = life.signup
    everyone = np.arange(n, dtype=np.int64)
    mailbox = np.full((n, 3), None, dtype=object)
    opened = np.full((n, 3), NEVER, dtype=np.int64)
    opened[:, 0] = -NEVER
    mailbox[:, 0] = _open(rng, everyone, np.full(n, -1), people, yob, lex, registry)
    family = _family_mailboxes(rng, hh, people, homes, yob, rates, lex, registry)
    has_family = np.array([f is not None for f in family], dtype=bool)
    head_uses = (hh.position == 0) & has_family & (rng.random(n) < 0.5)
    mailbox[head_uses, 0] = family[head_uses]

    gmail0 = np.array([str(m).endswith(GMAIL) for m in mailbox[:, 0]])
    variant = (rng.random((n, 3)) < rates.variant_email_account) & gmail0[:, None]
    needs1 = (life.n_accounts >= 2) & ~variant[:, 1]
    wants1 = rng.random(n) < rates.new_mailbox
    day1 = np.where(needs1, uniform_days(rng, signup[:, 0], signup[:, 1] + 1, n),
                    uniform_days(rng, life.start, life.last_day, n))
    needs2 = (life.n_accounts == 3) & ~variant[:, 2]
    day2 = uniform_days(rng, signup[:, 1], signup[:, 2] + 1, n)
    for k, has, day in ((1, needs1 | wants1, day1), (2, needs2, day2)):
        owners = np.flatnonzero(has)
        opened[owners, k] = day[owners]
        mailbox[owners, k] = _open(rng, owners, day[owners], people, yob, lex, registry)

    account_email = np.full((n, 3), None, dtype=object)
    registered = life.n_accounts > 0
    account_email[registered, 0] = mailbox[registered, 0]
    for k in (1, 2):
        for p in np.flatnonzero(life.n_accounts > k):
            account_email[p, k] = (gmail_variant(str(mailbox[p, 0]), k) if variant[p, k]
                                   else mailbox[p, k])
    return Mailboxes(mailbox, opened, family, account_email)


def _nickname(lex: Lexicon, first: int, u: float) -> str:
    nicks = lex.first.nicknames[first]
    return nicks[int(u * len(nicks))] if nicks else ""


def _family_mailboxes(
    rng: np.random.Generator, hh: Households, people: People, homes: Homes, yob: Int,
    rates: Rates, lex: Lexicon, registry: UniqueKeys,
) -> Str:
    shared = np.flatnonzero((hh.size >= 2) & (rng.random(hh.n_households) < rates.family_email))
    heads = hh.start[shared]
    u = rng.random((len(shared), 2))
    domains = _domains(rng, yob[heads], lex)
    firsts = lex.first.names
    cand = []
    for i, h in enumerate(heads):
        s = _clean(str(people.surname_new[h]))
        f1, f2 = _clean(str(firsts[people.first[h]])), _clean(str(firsts[people.first[h + 1]]))
        house = homes.book.house[homes.slots[h, 0]]
        local = (f"the{s}s", f"{s}family", f"{f1}and{f2}", f"{s}{house}")[int(u[i, 0] * 4)]
        cand.append(f"{local}@{domains[i]}")
    settled = _settle(as_obj(cand), registry, rng)
    family = np.full(hh.n_households, None, dtype=object)
    family[shared] = settled
    return family[hh.of_person]


def render_emails(addresses: Str, noise: ChannelNoise, rng: np.random.Generator) -> Str:
    """Type addresses as people do: gmail variants, case, typos; some left blank."""
    n = len(addresses)
    u = rng.random((n, 6))
    out = addresses.copy()
    for i in range(n):
        a = out[i]
        if a is None:
            continue
        if u[i, 0] < noise.email_missing:
            out[i] = None
            continue
        local, _, domain = str(a).partition("@")
        if domain in GMAIL and u[i, 1] < noise.email_variant:
            kind = int(u[i, 2] * 3)
            if kind == 0:
                domain = GMAIL[1] if domain == GMAIL[0] else GMAIL[0]
            elif kind == 1:
                local = gmail_variant(local + "@", 1).rstrip("@")
            else:
                local = f"{local}+{PLUS_TAGS[int(u[i, 3] * len(PLUS_TAGS))]}"
        if u[i, 4] < noise.email_typo:
            if u[i, 3] < 0.7:
                local = typo(local, u[i, 1:4])
            else:
                domain = typo(domain, u[i, 1:4])
        if u[i, 5] < noise.email_case / 3:
            local, domain = local.upper(), domain.upper()
        elif u[i, 5] < noise.email_case:
            local = ".".join(part[:1].upper() + part[1:] for part in local.split("."))
            domain = domain[:1].upper() + domain[1:] if u[i, 2] < 0.5 else domain
        out[i] = f"{local}@{domain}"
    return out
