"""How a person's name and birth date end up written in a record.

Name fields (accounts, guest checkouts) get nicknames, initials, swapped fields, middle names in
the first-name box, alternative spellings, typos and case noise; CRM entries get one ``full_name``
in the many formats staff use (``SMITH, John``, ``Mr John A. Smith``, ``Mrs J Smith`` ...).
"""

from __future__ import annotations

import numpy as np

from customerlens.synth.lexicon import Int, Lexicon, Str
from customerlens.synth.noise import (
    with_accents_folded,
    with_case_noise,
    with_spelling_variants,
    with_stray_spaces,
    with_typos,
)
from customerlens.synth.population import FEMALE, People
from customerlens.synth.rates import ChannelNoise, Rates
from customerlens.synth.timeline import REFERENCE, YEAR

_FORMATS = (  # CRM full-name formats and their weights
    ("F S", 40), ("S_UP, F", 8), ("S, F", 12), ("T F S", 8), ("T F M. S", 4), ("F M. S", 3),
    ("F Mid S", 3), ("F. S", 4), ("F S_initial", 2), ("T F. S", 6), ("T S", 2),
)
_FORMAT_CUM = np.cumsum([w for _, w in _FORMATS], dtype=float)
PLACEHOLDER_DOBS = ("1900-01-01", "1970-01-01", "1901-01-01")


def _given(people: People, idx: Int, noise: ChannelNoise, rng: np.random.Generator,
           lex: Lexicon, middle_ok: bool) -> Str:
    names = lex.first.names
    out = names[people.first[idx]].copy()
    u = rng.random((len(idx), 3))
    for i in np.flatnonzero(u[:, 0] < noise.nickname):
        nicks = lex.first.nicknames[people.first[idx[i]]]
        if nicks:
            out[i] = nicks[int(u[i, 1] * len(nicks))]
    if middle_ok:
        has_middle = people.middle[idx] >= 0
        for i in np.flatnonzero((u[:, 2] < noise.middle_in_first) & has_middle):
            out[i] = f"{out[i]} {names[people.middle[idx[i]]]}"
    out = with_spelling_variants(out, noise.spelling_variant, rng)
    out = with_accents_folded(out, noise.accent_folded, rng)
    return with_typos(out, noise.typo, rng)


def surname_at(people: People, idx: Int, days: Int, noise: ChannelNoise,
               rng: np.random.Generator) -> Str:
    """The surname a record shows: the new one after a name change, unless the record is stale."""
    changed = days >= people.name_change[idx]
    stale = rng.random(len(idx)) < noise.stale_surname
    out = np.where(changed & ~stale, people.surname_new[idx], people.surname_old[idx])
    out = with_spelling_variants(out, noise.spelling_variant, rng)
    out = with_accents_folded(out, noise.accent_folded, rng)
    return with_typos(out, noise.typo, rng)


def name_fields(people: People, idx: Int, days: Int, noise: ChannelNoise,
                rng: np.random.Generator, lex: Lexicon) -> tuple[Str, Str]:
    """``(first_name, surname)`` as typed into a form on the given days."""
    first = _given(people, idx, noise, rng, lex, middle_ok=True)
    last = surname_at(people, idx, days, noise, rng)
    u = rng.random((len(idx), 3))
    for i in np.flatnonzero(u[:, 0] < noise.initial_only):
        first[i] = str(first[i])[:1] + ("." if u[i, 1] < 0.4 else "")
    swap = u[:, 2] < noise.swapped_names
    first[swap], last[swap] = last[swap], first[swap].copy()
    # one decision per record: people who type in lower case do so in both boxes
    case = rng.random(len(idx))
    for arr in (first, last):
        for i in np.flatnonzero(case < noise.lower_case + noise.upper_case):
            if isinstance(arr[i], str):
                arr[i] = arr[i].lower() if case[i] < noise.lower_case else arr[i].upper()
    return with_stray_spaces(first, 0.01, rng), with_stray_spaces(last, 0.01, rng)


def _titles(people: People, idx: Int, rng: np.random.Generator) -> Str:
    u = rng.random((len(idx), 3))
    female = people.gender[idx] == FEMALE
    young = (REFERENCE - people.dob[idx]) / YEAR < 30
    married = people.married[idx]
    her = np.where(married, np.where(u[:, 0] < 0.8, "Mrs", "Ms"),
                   np.where(young | (u[:, 0] < 0.4), "Miss", "Ms"))
    title = np.where(female, her, "Mr").astype(object)
    title[u[:, 1] < 0.02] = "Dr"
    dotted = u[:, 2] < 0.25
    title[dotted] = [f"{t}." for t in title[dotted]]
    return title


def full_names(people: People, idx: Int, days: Int, noise: ChannelNoise,
               rng: np.random.Generator, lex: Lexicon) -> Str:
    """One ``full_name`` per CRM entry, in the formats staff use."""
    first = _given(people, idx, noise, rng, lex, middle_ok=False)
    last = surname_at(people, idx, days, noise, rng)
    title = _titles(people, idx, rng)
    names = lex.first.names
    style = np.searchsorted(_FORMAT_CUM, rng.random(len(idx)) * _FORMAT_CUM[-1], side="right")
    initial_only = rng.random(len(idx)) < noise.initial_only
    style = np.where(initial_only & (style < 7), 7, style)
    out = np.empty(len(idx), dtype=object)
    for i, p in enumerate(idx):
        f, s, t = str(first[i]), str(last[i]), str(title[i])
        mid = str(names[people.middle[p]]) if people.middle[p] >= 0 else ""
        fmt = _FORMATS[style[i]][0]
        if "M" in fmt.replace("S_UP", "") and not mid:
            fmt = "T F S" if fmt.startswith("T") else "F S"
        out[i] = {
            "F S": f"{f} {s}", "S_UP, F": f"{s.upper()}, {f}", "S, F": f"{s}, {f}",
            "T F S": f"{t} {f} {s}", "T F M. S": f"{t} {f} {mid[:1]}. {s}",
            "F M. S": f"{f} {mid[:1]}. {s}", "F Mid S": f"{f} {mid} {s}",
            "F. S": f"{f[:1]}. {s}", "F S_initial": f"{f[:1]} {s}", "T F. S": f"{t} {f[:1]} {s}",
            "T S": f"{t} {s}",
        }[fmt]
    out = with_case_noise(out, noise.lower_case, noise.upper_case, rng)
    return with_stray_spaces(out, 0.01, rng)


def render_dobs(dob: Int, rates: Rates, rng: np.random.Generator) -> Str:
    """Birth dates as ISO strings: often missing, sometimes day/month swapped or a placeholder."""
    n = len(dob)
    d = dob.astype("datetime64[D]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = (d.astype("datetime64[M]") - d.astype("datetime64[Y]")).astype(np.int64) + 1
    dom = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    u = rng.random((n, 3))
    swap = (u[:, 0] < rates.dob_day_month_swapped) & (dom <= 12) & (dom != month)
    month, dom = np.where(swap, dom, month), np.where(swap, month, dom)
    bad = u[:, 1] < rates.dob_typo
    year = np.where(bad & (u[:, 2] < 0.5), year + np.where(u[:, 2] < 0.25, -1, 1), year)
    dom = np.where(bad & (u[:, 2] >= 0.5) & (dom < 28), dom + 1, dom)
    out = np.array([f"{y:04d}-{m:02d}-{x:02d}" for y, m, x in zip(year, month, dom, strict=True)],
                   dtype=object)
    missing = rng.random(n) < rates.dob_missing
    placeholder = rng.random(n) < rates.dob_placeholder
    pick = rng.integers(0, len(PLACEHOLDER_DOBS), n)
    out[placeholder] = [PLACEHOLDER_DOBS[k] for k in pick[placeholder]]
    out[missing] = None
    return out
