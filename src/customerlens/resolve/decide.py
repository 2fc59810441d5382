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

import numpy as np
import pyarrow as pa

from customerlens.resolve.comparisons import EMAIL_EXACT_LEVEL, FIRST_NAME_WEAK_LEVELS


def apply_conflicts(pairs: pa.Table, cap: float, person_fields: list[str]) -> pa.Table:
    """Add ``conflict`` (bool) and ``decision_probability`` to scored pairs.

    Parameters
    ----------
    pairs : Arrow table
        Splink output with ``gamma_first_name`` and ``mw_<field>`` columns.
    cap : float
        Decision probability given to a conflict.
    person_fields : list of str
        Comparisons whose agreement is person-specific (``dob``, exact extra identifiers).
    """
    probability = pairs.column("match_probability").to_numpy(zero_copy_only=False)
    conflict = np.zeros(pairs.num_rows, dtype=bool)
    if "gamma_first_name" in pairs.column_names:
        first = pairs.column("gamma_first_name").to_numpy(zero_copy_only=False)
        personal = np.zeros(pairs.num_rows)
        for field in person_fields:
            column = f"mw_{field}"
            if column in pairs.column_names:
                personal += np.nan_to_num(pairs.column(column).to_numpy(zero_copy_only=False))
        conflict = np.isin(first, FIRST_NAME_WEAK_LEVELS) & (personal <= 0)
        if "gamma_email" in pairs.column_names:
            email = pairs.column("gamma_email").to_numpy(zero_copy_only=False)
            conflict &= email != EMAIL_EXACT_LEVEL
    decision = np.where(conflict, np.minimum(probability, cap), probability)
    return pairs.append_column("conflict", pa.array(conflict)).append_column(
        "decision_probability", pa.array(decision)
    )
