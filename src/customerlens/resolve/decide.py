"""From match probability to decision: household conflicts veto automatic merges.

Fellegi-Sunter treats fields as independent given the match status, which households break:
two members share surname, address, postcode, often a landline and sometimes an email, so
their pair can score above the auto-merge threshold although their first names differ. The
veto is narrow on purpose: a pair is a *conflict* when the first names disagree outright (both
present, and no level — exact, swapped order, nickname, typo, sound, initial — matched) and
nothing person-specific agrees (no positive date-of-birth evidence, not the same email
address, no configured exact identifier such as a national id or loyalty card). Everything such
a pair agrees on can be shared by a household. A typo-ridden first name with a matching birth
date is not a conflict.

A conflict's decision probability is capped below the review band; the model's probability
is kept beside it for the explanation.
"""

from __future__ import annotations

from customerlens.resolve.comparisons import EMAIL_EXACT_LEVEL, FIRST_NAME_WEAK_LEVELS


def conflict_sql(columns: list[str], person_fields: list[str]) -> str:
    """SQL boolean: the pair is a household conflict (see the module docstring).

    Parameters
    ----------
    columns : list of str
        Columns of the scored pairs (which comparisons exist in this model).
    person_fields : list of str
        Comparisons whose agreement is person-specific (``dob``, exact extra identifiers).
    """
    if "gamma_first_name" not in columns:
        return "false"
    weak = ", ".join(str(g) for g in FIRST_NAME_WEAK_LEVELS)
    personal = (
        " + ".join(f"coalesce(mw_{f}, 0)" for f in person_fields if f"mw_{f}" in columns) or "0"
    )
    condition = f"gamma_first_name IN ({weak}) AND ({personal}) <= 0"
    if "gamma_email" in columns:
        condition += f" AND gamma_email <> {EMAIL_EXACT_LEVEL}"
    return f"coalesce({condition}, false)"


def decision_sql(conflict: str, cap: float) -> str:
    """SQL: the probability decisions use — the model's, capped for a conflict."""
    return (
        f"CASE WHEN {conflict} THEN least(match_probability, {float(cap)}) "
        "ELSE match_probability END"
    )


def is_conflict(
    gamma_first_name: int | None, person_weight: float, gamma_email: int | None
) -> bool:
    """The same test as :func:`conflict_sql`, for one pair scored in Python (real time)."""
    return (
        gamma_first_name in FIRST_NAME_WEAK_LEVELS
        and person_weight <= 0
        and gamma_email != EMAIL_EXACT_LEVEL
    )
