"""The match model's definition: comparisons per field and the blocking rules.

Comparisons read the standardised columns of ``records_std`` (see ``standardise.py``). Each
field gets the levels its real-world errors call for: nicknames and swapped name order for first
names, phonetic keys and double-barrelled names for surnames, provider rules (done in
standardisation) and typos for email, last digits for phones, the outward code for postcodes,
day/month swaps and near dates for dates of birth. Exact-match levels carry term-frequency
adjustments, so "smith" counts for less than "featherstonehaugh" and a shared household landline
for less than a personal mobile.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import block_on

from customerlens.resolve.behaviour import BEHAVIOUR_COLUMNS

#: Columns of ``records_std`` the model reads (besides ``unique_id``).
MODEL_COLUMNS = (
    "first_name",
    "surname",
    "first_name_related",
    "first_related_sounds",
    "first_metaphone",
    "surname_metaphone",
    "email",
    "email_user",
    "phone",
    "postcode",
    "postcode_outward",
    "address",
    "house_number",
    "dob",
    "name_key",
    "name_sound_key",
    "first_surname_sound_key",
    "dob_key",
    "postcode_key",
    *BEHAVIOUR_COLUMNS,
)


#: Functions the custom levels call, per SQL dialect (Splink's own levels are rendered for
#: each dialect by Splink; these conditions are ours). On Spark ``jaro_winkler`` is Splink's
#: similarity UDF (its jar ships inside the splink package).
DIALECT_FUNCTIONS = {
    "duckdb": {
        "jw": "jaro_winkler_similarity",
        "has": "list_contains",
        "digits": "regexp_replace({}, '[^0-9]', '', 'g')",
    },
    "spark": {
        "jw": "jaro_winkler",
        "has": "array_contains",
        "digits": "regexp_replace({}, '[^0-9]', '')",
    },
}
#: first name and surname given the other way round (both fuzzy)
SWAPPED = "{jw}(first_name_l, surname_r) >= 0.9 AND {jw}(surname_l, first_name_r) >= 0.9"
#: one record's first name is the other's surname (fuzzy): a name typed into the wrong field,
#: the other half of the name missing or different ("Thomson Holly" / "- Thomson")
CROSSED = "({jw}(first_name_l, surname_r) >= 0.9 OR {jw}(surname_l, first_name_r) >= 0.9)"

#: first-name levels (Splink gammas) that count as disagreement for the household veto: "else"
#: only. Adding Jaro-Winkler >= 0.8 ("Charles" / "Chloe") was measured and lost F1 on the
#: generated shop (0.9486 -> 0.9449) and fake_1000 (0.8844 -> 0.8801): typos outnumber them.
FIRST_NAME_WEAK_LEVELS = (0,)
#: the email level (gamma) of an identical normalised address: a mailbox, usually one person's.
#: On the generated shop 88-92% of first-name conflicts sharing it were one person (unknown
#: nicknames such as Bex / Rebecca), the rest a family's shared mailbox.
EMAIL_EXACT_LEVEL = 3


def _first_name(fn: Mapping[str, str]) -> Any:
    return cl.CustomComparison(
        output_column_name="first_name",
        comparison_description="first name",
        comparison_levels=[
            cll.NullLevel("first_name"),
            cll.ExactMatchLevel("first_name", term_frequency_adjustments=True),
            cll.CustomLevel(
                SWAPPED.format(**fn),
                label_for_charts="first name and surname swapped",
            ),
            cll.CustomLevel(
                "{has}(first_name_related_l, first_name_r) "
                "OR {has}(first_name_related_r, first_name_l) "
                "OR {has}(first_related_sounds_l, first_metaphone_r) "
                "OR {has}(first_related_sounds_r, first_metaphone_l)".format(**fn),
                label_for_charts="nickname of each other",
            ),
            cll.JaroWinklerLevel("first_name", 0.92),
            cll.CustomLevel(
                "first_metaphone_l = first_metaphone_r", label_for_charts="sound alike"
            ),
            cll.CustomLevel(
                "(length(first_name_l) = 1 OR length(first_name_r) = 1) "
                "AND left(first_name_l, 1) = left(first_name_r, 1)",
                label_for_charts="initial matches",
            ),
            cll.JaroWinklerLevel("first_name", 0.8),
            cll.ElseLevel(),
        ],
    )


def _surname(fn: Mapping[str, str]) -> Any:
    return cl.CustomComparison(
        output_column_name="surname",
        comparison_description="surname",
        comparison_levels=[
            cll.NullLevel("surname"),
            cll.ExactMatchLevel("surname", term_frequency_adjustments=True),
            # swapped order is scored once, by the first-name comparison: neutral here
            cll.CustomLevel(
                SWAPPED.format(**fn),
                label_for_charts="swapped with first name (scored there)",
            ).configure(is_null_level=True),
            cll.JaroWinklerLevel("surname", 0.92),
            cll.CustomLevel(
                "surname_metaphone_l = surname_metaphone_r", label_for_charts="sound alike"
            ),
            cll.CustomLevel(
                "(length(surname_l) >= 4 AND length(surname_r) >= 4) AND "
                "(contains(surname_l, surname_r) OR contains(surname_r, surname_l))",
                label_for_charts="one contains the other (double-barrelled)",
            ),
            # only where a first name is missing: with both present, a full swap is the first-name
            # comparison's level, and a half crossing ("Thomas James" / "James Smith") was
            # measured as a first-name level and dropped (fake_1000 0.9587 -> 0.9551, P 0.996)
            cll.CustomLevel(
                f"{CROSSED.format(**fn)} AND (first_name_l IS NULL OR first_name_r IS NULL)",
                label_for_charts="one's first name (first name missing)",
            ),
            cll.JaroWinklerLevel("surname", 0.8),
            cll.ElseLevel(),
        ],
    )


def _dob(fn: Mapping[str, str]) -> Any:
    return cl.CustomComparison(
        output_column_name="dob",
        comparison_description="date of birth",
        comparison_levels=[
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob"),
            cll.CustomLevel(
                "substr(dob_l, 1, 4) = substr(dob_r, 1, 4) AND substr(dob_l, 6, 2) = "
                "substr(dob_r, 9, 2) AND substr(dob_l, 9, 2) = substr(dob_r, 6, 2)",
                label_for_charts="day and month swapped",
            ),
            cll.LevenshteinLevel("dob", 1),
            cll.AbsoluteDateDifferenceLevel(
                "dob", input_is_string=True, threshold=1, metric="month"
            ),
            cll.AbsoluteDateDifferenceLevel(
                "dob", input_is_string=True, threshold=1, metric="year"
            ),
            cll.AbsoluteDateDifferenceLevel(
                "dob", input_is_string=True, threshold=10, metric="year"
            ),
            cll.ElseLevel(),
        ],
    )


def _email(fn: Mapping[str, str]) -> Any:
    return cl.CustomComparison(
        output_column_name="email",
        comparison_description="email",
        comparison_levels=[
            cll.NullLevel("email"),
            cll.ExactMatchLevel("email", term_frequency_adjustments=True),
            # the user part often spells the name, so it is evidence only when it is identical
            cll.ExactMatchLevel("email_user", term_frequency_adjustments=True),
            # a typo (Splink's own email comparison has fuzzy levels too), but only with the same
            # digits in the user part: without that guard, at 1,000,000 people the level linked
            # namesakes whose addresses differ by a counter (john.smith1 / john.smith2),
            # customers -5% (docs/resolution.md, "Scale", run 6)
            cll.CustomLevel(
                "damerau_levenshtein(email_l, email_r) <= 2 AND "
                f"{fn['digits'].format('email_user_l')} = {fn['digits'].format('email_user_r')}",
                "a typo apart, same digits",
            ),
            cll.ElseLevel(),
        ],
    )


def _phone(fn: Mapping[str, str]) -> Any:
    return cl.CustomComparison(
        output_column_name="phone",
        comparison_description="phone",
        comparison_levels=[
            cll.NullLevel("phone"),
            cll.ExactMatchLevel("phone", term_frequency_adjustments=True),
            cll.CustomLevel("right(phone_l, 7) = right(phone_r, 7)", "last 7 digits"),
            cll.ElseLevel(),
        ],
    )


def _postcode(fn: Mapping[str, str]) -> Any:
    return cl.CustomComparison(
        output_column_name="postcode",
        comparison_description="postcode",
        comparison_levels=[
            cll.NullLevel("postcode"),
            cll.ExactMatchLevel("postcode", term_frequency_adjustments=True),
            cll.DamerauLevenshteinLevel("postcode", 1),  # a typo or two swapped characters
            cll.ExactMatchLevel("postcode_outward"),
            cll.ElseLevel(),
        ],
    )


def _address(fn: Mapping[str, str]) -> Any:
    return cl.CustomComparison(
        output_column_name="address",
        comparison_description="address",
        comparison_levels=[
            cll.NullLevel("address"),
            cll.ExactMatchLevel("address", term_frequency_adjustments=True),
            cll.CustomLevel(
                "house_number_l = house_number_r AND {jw}(address_l, address_r) >= 0.88".format(
                    **fn
                ),
                label_for_charts="same number, similar street",
            ),
            cll.JaroWinklerLevel("address", 0.88),
            cll.ElseLevel(),
        ],
    )


def _behaviour(fn: Mapping[str, str]) -> Any:
    """What the two records bought (see ``behaviour.py``): the same product, the same brand in
    the same category, the same category, or nothing in common."""
    return cl.CustomComparison(
        output_column_name="behaviour",
        comparison_description="purchase behaviour",
        comparison_levels=[
            cll.CustomLevel(
                "(buy_products_l IS NULL AND buy_categories_l IS NULL) OR "
                "(buy_products_r IS NULL AND buy_categories_r IS NULL)",
                label_for_charts="no purchases on one side",
            ).configure(is_null_level=True),
            cll.ArrayIntersectLevel("buy_products", 1),
            cll.ArrayIntersectLevel("buy_brands", 1),
            cll.ArrayIntersectLevel("buy_categories", 1),
            cll.ElseLevel(),
        ],
    )


#: field -> (the column whose presence makes the comparison useful, its builder)
_FIELDS = {
    "first_name": _first_name,
    "surname": _surname,
    "dob": _dob,
    "email": _email,
    "phone": _phone,
    "postcode": _postcode,
    "address": _address,
    "behaviour": _behaviour,
}

#: Blocking keys whose union finds candidate pairs; chosen for recall (measured by the
#: benchmark). Keys with a column absent from the data are skipped.
BLOCKING_KEYS: tuple[tuple[str, ...], ...] = (
    ("email",),
    ("phone",),
    ("name_key",),
    ("surname", "postcode"),
    ("first_metaphone", "surname_metaphone", "postcode_outward"),
    ("surname", "dob"),
    ("first_name", "dob"),
    ("email_user",),
    ("first_name", "postcode"),
    ("first_name", "address"),
    ("name_sound_key",),
    ("dob", "postcode"),
    ("dob", "house_number"),
    ("dob", "surname_metaphone"),
    ("dob", "first_metaphone"),
    ("postcode", "house_number"),
    ("address",),
    ("first_surname_sound_key",),
    ("dob_key",),
    ("postcode_key",),
)

#: Swapped first name and surname ("Smith John"), a blocking rule of its own.
SWAPPED_NAMES = "l.first_name = r.surname AND l.surname = r.first_name"

#: Deterministic rules for the prior (share of matching pairs), strongest evidence only.
PRIOR_KEYS: tuple[tuple[str, ...], ...] = (
    ("email",),
    ("first_name", "surname", "dob"),
    ("first_name", "surname", "postcode"),
    ("first_name", "surname", "address"),
)

#: EM sessions, tried in order; each trains the comparisons not in its rule.
EM_KEYS: tuple[tuple[str, ...], ...] = (
    ("first_name", "surname"),
    ("email",),
    ("postcode", "dob"),
    ("dob",),
    ("postcode",),
    ("phone",),
)


def extra_comparison(column: str, kind: str) -> Any:
    """A configured extra field: exact (with term frequencies) or fuzzy."""
    levels = [cll.NullLevel(column), cll.ExactMatchLevel(column, term_frequency_adjustments=True)]
    if kind == "fuzzy":
        levels += [cll.JaroWinklerLevel(column, 0.92), cll.JaroWinklerLevel(column, 0.8)]
    return cl.CustomComparison(
        output_column_name=column,
        comparison_description=column,
        comparison_levels=[*levels, cll.ElseLevel()],
    )


def comparisons(
    present: set[str], extras: dict[str, str] | None = None, dialect: str = "duckdb"
) -> list[Any]:
    """Comparisons for the fields present in the data, then the configured extra fields."""
    fn = DIALECT_FUNCTIONS[dialect]
    found = [build(fn) for field, build in _FIELDS.items() if field in present]
    return found + [extra_comparison(c, k) for c, k in (extras or {}).items()]


def usable_keys(
    keys: tuple[tuple[str, ...], ...], present: set[str]
) -> tuple[tuple[str, ...], ...]:
    """The keys whose columns all come from fields present in the data."""
    return tuple(k for k in keys if all(_base(c) in present for c in k))


def rules(keys: tuple[tuple[str, ...], ...], present: set[str]) -> list[Any]:
    """``block_on`` rules for the keys whose columns are all present."""
    return [block_on(*k) for k in usable_keys(keys, present)]


def prediction_rules(
    present: set[str], extras: dict[str, str] | None = None, identifiers: set[str] | None = None
) -> list[Any]:
    """The blocking rules that generate the pairs to score.

    An extra field blocks on its own only when it is identifier-like (``identifiers``: mostly
    distinct values, such as a national id); a low-cardinality one (gender, occupation) would
    pair up a large share of all records, so it blocks together with the first-name sound.
    """
    found = rules(BLOCKING_KEYS, present)
    if {"first_name", "surname"} <= present:
        found.append(SWAPPED_NAMES)
    for column in extras or {}:
        if column in (identifiers or set()):
            found.append(block_on(column))
        elif "first_name" in present:
            found.append(block_on(column, "first_metaphone"))
    return found


def _base(column: str) -> str:
    """The field a derived column comes from (``email_user`` from ``email``...)."""
    for prefix in ("email", "postcode", "first", "surname", "phone", "address"):
        # first_name and first_metaphone both come from the first name
        if column.startswith(prefix):
            return {"first": "first_name"}.get(prefix, prefix)
    derived = {
        "house_number": "address",
        "name_key": "surname",
        "name_sound_key": "surname",
        "dob_key": "dob",
        "postcode_key": "postcode",
    }
    return derived.get(column, column)
