"""String noise of the kinds people make: typos, spelling variants, case, accents, spacing.

Every ``with_*`` function takes an object array of strings (``None`` = missing), a rate and the
block's random generator, and returns a new array. Random numbers are drawn for every element,
hit or not, so a block's stream of random numbers never depends on which elements were hit.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

from customerlens.synth.lexicon import Float, Str

_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_ROW_SHIFT = (0.0, 0.3, 0.8)


def _keyboard_neighbours() -> dict[str, str]:
    pos = {ch: (r, c + _ROW_SHIFT[r]) for r, row in enumerate(_ROWS) for c, ch in enumerate(row)}
    out: dict[str, str] = {}
    for ch, (r, x) in pos.items():
        near = [o for o, (r2, x2) in pos.items() if o != ch and abs(r2 - r) <= 1
                and abs(x2 - x) <= 1.0]
        out[ch] = "".join(sorted(near))
    return out


NEIGHBOURS = _keyboard_neighbours()

# Real alternative spellings (both directions are common real names, so no rule can undo them).
SPELLINGS: dict[str, tuple[str, ...]] = {
    "Thompson": ("Thomson",), "Thomson": ("Thompson",), "Phillips": ("Philips",),
    "Philips": ("Phillips",), "Clarke": ("Clark",), "Clark": ("Clarke",),
    "Stephen": ("Steven",), "Steven": ("Stephen",), "Matthews": ("Mathews",),
    "Mathews": ("Matthews",), "Catherine": ("Katherine", "Kathryn"),
    "Katherine": ("Catherine",), "Kathryn": ("Catherine", "Katherine"), "Sarah": ("Sara",),
    "Ann": ("Anne",), "Anne": ("Ann",), "Jonathan": ("Johnathan", "Jonathon"),
    "Geoffrey": ("Jeffrey", "Geoffery"), "Michelle": ("Michele",), "Rachel": ("Rachael",),
    "Rachael": ("Rachel",), "Tracey": ("Tracy",), "Tracy": ("Tracey",),
    "Mohammed": ("Muhammad", "Mohammad", "Mohamed"), "Muhammad": ("Mohammed", "Muhammed"),
    "Mohammad": ("Mohammed",), "Reid": ("Reed", "Read"), "Reed": ("Reid", "Read"),
    "Read": ("Reed",), "Gray": ("Grey",), "Grey": ("Gray",),
    "MacDonald": ("McDonald", "Macdonald"), "McDonald": ("MacDonald", "Mcdonald"),
    "Stuart": ("Stewart",), "Stewart": ("Stuart",), "Lewis": ("Louis",), "Louis": ("Lewis",),
    "Sean": ("Shaun",), "Shaun": ("Sean",), "Davies": ("Davis",), "Davis": ("Davies",),
    "Philip": ("Phillip",), "Nicola": ("Nichola",), "Isabelle": ("Isabel", "Isobel"),
    "Smith": ("Smyth",), "Smyth": ("Smith",), "Ian": ("Iain",), "Iain": ("Ian",),
    "Neil": ("Neal",), "Alan": ("Allan", "Allen"), "Allen": ("Allan", "Alan"),
    "Brian": ("Bryan",), "Carl": ("Karl",), "Karl": ("Carl",), "Dennis": ("Denis",),
    "Leslie": ("Lesley",), "Lesley": ("Leslie",), "Hughes": ("Hughs",),
    "Matthew": ("Mathew",), "Lloyd": ("Loyd",), "Griffiths": ("Griffith",),
    "Stevens": ("Stephens",), "Stephens": ("Stevens",), "Zoe": ("Zoey",),
    "Jenkins": ("Jenkin",), "Wilkinson": ("Wilkenson",), "Kelly": ("Kelley",),
}

# Generic sound-alike rewrites, tried when a name has no listed alternative.
_SOUND_ALIKE = (
    (r"([lnrst])\1", r"\1"),
    (r"ie$", "y"),
    (r"y$", "ie"),
    (r"ey$", "y"),
    (r"ph", "f"),
    (r"^C(?=[aou])", "K"),
    (r"ck", "k"),
    (r"son$", "sen"),
    (r"ei", "ie"),
    (r"([aeiou])([lnrt])([aeiouy])", r"\1\2\2\3"),
)

_FOLD = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "ß": "ss"})


def fold_accents(text: str) -> str:
    """Strip diacritics (``Zoë`` -> ``Zoe``, ``Łukasz`` -> ``Lukasz``)."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def typo(text: str, u: Float) -> str:
    """One keyboard typo: neighbour substitution, deletion, insertion or transposition.

    ``u`` holds three uniforms: kind, position and replacement character.
    """
    n = len(text)
    if n < 2:
        return text
    kind = int(u[0] * 4)
    # the first letter is rarely wrong; positions 1..n-1 get most typos
    pos = 1 + int(u[1] * (n - 1)) if u[1] < 0.9 else 0
    pos = min(pos, n - 1)
    ch = text[pos]
    near = NEIGHBOURS.get(ch.lower(), "")
    new = near[int(u[2] * len(near))] if near else ch
    new = new.upper() if ch.isupper() else new
    if kind == 0:
        return text[:pos] + new + text[pos + 1:]
    if kind == 1:
        return text[:pos] + text[pos + 1:]
    if kind == 2:
        return text[:pos] + (new if u[2] < 0.6 else ch) + text[pos:]
    if pos == n - 1:
        pos -= 1
    return text[:pos] + text[pos + 1] + text[pos] + text[pos + 2:]


def spelling_variant(text: str, u: float) -> str:
    """A real alternative spelling of a name, or a sound-alike rewrite of it."""
    listed = SPELLINGS.get(text)
    if listed:
        return listed[int(u * len(listed))]
    options = [(p, r) for p, r in _SOUND_ALIKE if re.search(p, text)]
    if not options:
        return text
    pattern, repl = options[int(u * len(options))]
    return re.sub(pattern, repl, text, count=1)


def _hits(values: Str, rate: float, rng: np.random.Generator) -> np.ndarray:
    present = np.array([isinstance(v, str) and v != "" for v in values], dtype=bool)
    return np.flatnonzero((rng.random(len(values)) < rate) & present)


def with_typos(values: Str, rate: float, rng: np.random.Generator) -> Str:
    """Give a share ``rate`` of the values one keyboard typo."""
    hits = _hits(values, rate, rng)
    u = rng.random((len(values), 3))
    out = values.copy()
    for i in hits:
        out[i] = typo(out[i], u[i])
    return out


def with_spelling_variants(values: Str, rate: float, rng: np.random.Generator) -> Str:
    """Replace a share ``rate`` of the values by an alternative spelling."""
    hits = _hits(values, rate, rng)
    u = rng.random(len(values))
    out = values.copy()
    for i in hits:
        out[i] = spelling_variant(out[i], float(u[i]))
    return out


def with_case_noise(values: Str, lower: float, upper: float, rng: np.random.Generator) -> Str:
    """Lower-case a share ``lower`` and upper-case a share ``upper`` of the values."""
    u = rng.random(len(values))
    out = values.copy()
    for i in np.flatnonzero(u < lower + upper):
        v = out[i]
        if isinstance(v, str):
            out[i] = v.lower() if u[i] < lower else v.upper()
    return out


def with_accents_folded(values: Str, rate: float, rng: np.random.Generator) -> Str:
    """Strip diacritics from a share ``rate`` of the values that have any."""
    u = rng.random(len(values))
    out = values.copy()
    for i in np.flatnonzero(u < rate):
        v = out[i]
        if isinstance(v, str) and not v.isascii():
            out[i] = fold_accents(v)
    return out


def with_stray_spaces(values: Str, rate: float, rng: np.random.Generator) -> Str:
    """Add a leading, trailing or doubled space to a share ``rate`` of the values."""
    u = rng.random(len(values))
    out = values.copy()
    for i in np.flatnonzero(u < rate):
        v = out[i]
        if isinstance(v, str) and v:
            kind = int(u[i] / rate * 3)
            out[i] = (" " + v) if kind == 0 else (v + " ") if kind == 1 else v.replace(" ", "  ")
    return out


def blank_out(values: Str, rate: float, rng: np.random.Generator) -> Str:
    """Set a share ``rate`` of the values to missing (``None``)."""
    out = values.copy()
    out[rng.random(len(values)) < rate] = None
    return out
