"""Splitting a full name into first name and surname.

Written by hand because the parsers on PyPI (nameparser, probablepeople) either pull in large
models or are US-centric about suffixes; the cases shops actually produce are few and are
covered here: "SURNAME, First", "First M. Surname", titles and suffixes, surname particles
("van der Berg") and an upper-cased surname written first ("SMITH John").
"""

from __future__ import annotations

import re

TITLES = frozenset(
    "mr mrs ms miss mx master dr prof professor sir dame lord lady rev revd reverend fr "
    "capt captain col major sgt hon".split()
)
SUFFIXES = frozenset("jr jnr sr snr ii iii iv phd md esq obe mbe cbe dds qc kc".split())
PARTICLES = frozenset(
    "van von der den de del della di da du la le st st. bin ibn al el ter".split()
)

_SPACES = re.compile(r"\s+")


def _bare(token: str) -> str:
    return token.strip(".,").lower()


def split_full_name(full_name: str | None) -> tuple[str | None, str | None]:
    """Return ``(first_name, surname)``; either may be None.

    >>> split_full_name("Smith, John A.")
    ('John', 'Smith')
    >>> split_full_name("Dr. Jane van der Berg PhD")
    ('Jane', 'van der Berg')
    >>> split_full_name("SMITH John")
    ('John', 'SMITH')
    >>> split_full_name("Webb E.")
    ('E', 'Webb')
    """
    if full_name is None:
        return None, None
    text = _SPACES.sub(" ", full_name).strip()
    if not text:
        return None, None
    if "," in text:
        before, _, after = text.partition(",")
        after_tokens = _strip_affixes(after.split())
        before_tokens = _strip_affixes(before.split())
        # "Smith, John" vs "John Smith, Jr." (a suffix after the comma, already stripped)
        if after_tokens and before_tokens:
            return after_tokens[0], " ".join(before_tokens)
        text = " ".join(before_tokens or after_tokens)
    tokens = _strip_affixes(text.split())
    if not tokens:
        return None, None
    if len(tokens) == 1:
        return None, tokens[0]
    if len(tokens) == 2 and len(_bare(tokens[1])) == 1 and len(_bare(tokens[0])) > 1:
        # "Webb E." : a trailing initial means the surname came first
        return tokens[1].rstrip("."), tokens[0]
    upper = [t for t in tokens if t.isupper() and len(_bare(t)) > 1]
    if len(upper) == 1 and len(upper) < len(tokens) and tokens[0] == upper[0]:
        rest = [t for t in tokens[1:] if len(_bare(t)) > 1] or tokens[1:]
        return rest[0], tokens[0]
    surname_start = len(tokens) - 1
    while surname_start > 1 and _bare(tokens[surname_start - 1]) in PARTICLES:
        surname_start -= 1
    return tokens[0], " ".join(tokens[surname_start:])


def _strip_affixes(tokens: list[str]) -> list[str]:
    while tokens and _bare(tokens[0]) in TITLES:
        tokens = tokens[1:]
    while tokens and _bare(tokens[-1]) in SUFFIXES:
        tokens = tokens[:-1]
    return [t.strip(",") for t in tokens if t.strip(",")]
