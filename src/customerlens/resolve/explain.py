"""Explanations: what each comparison level means and weighs, and a pair's evidence.

``match_levels`` (written by resolve) turns the ``gamma_<field>`` / ``mw_<field>`` columns of
``match_pairs`` into words: for every field, which level the pair reached ("nickname of each
other", "exact match on postcode") and the log2 Bayes factor it added.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from customerlens.tables import MATCH_LEVELS, MATCH_PAIRS, RECORDS
from customerlens.warehouse import DuckDBWarehouse


def levels_table(model: dict[str, Any]) -> pd.DataFrame:
    """One row per comparison level of a trained Splink model.

    Splink numbers the non-null levels of a comparison from the top (most agreement) down to
    0 ("else"); the null level is -1.
    """
    rows = []
    for comparison in model.get("comparisons", []):
        field = comparison["output_column_name"]
        levels = comparison["comparison_levels"]
        non_null = [lv for lv in levels if not lv.get("is_null_level")]
        for level in levels:
            if level.get("is_null_level"):
                gamma, m, u = -1, None, None
            else:
                gamma = len(non_null) - 1 - non_null.index(level)
                m, u = level.get("m_probability"), level.get("u_probability")
            weight = math.log2(m / u) if m and u else None
            rows.append(
                {
                    "field": field,
                    "gamma": gamma,
                    "label": level.get("label_for_charts") or level["sql_condition"],
                    "m_probability": m,
                    "u_probability": u,
                    "weight": weight,
                }
            )
    return pd.DataFrame(rows).drop_duplicates(["field", "gamma"])


def explain_pair(wh: DuckDBWarehouse, unique_id_l: str, unique_id_r: str) -> pd.DataFrame:
    """Field by field: both values, the level reached and the weight it added."""
    pair = wh.query_df(
        f"SELECT * FROM {MATCH_PAIRS} WHERE unique_id_l = ? AND unique_id_r = ?",
        [unique_id_l, unique_id_r],
    )
    if pair.empty:
        return pd.DataFrame(columns=["field", "left", "right", "level", "weight"])
    row = pair.iloc[0]
    levels = wh.query_df(f"SELECT * FROM {MATCH_LEVELS}")
    # filter on the stored columns (not on source || ':' || record_id), so DuckDB can skip
    # row groups instead of scanning every record; a source name holds no ':'
    (source_l, _, id_l), (source_r, _, id_r) = (
        unique_id_l.partition(":"),
        unique_id_r.partition(":"),
    )
    records = wh.query_df(
        f"SELECT * FROM {RECORDS} WHERE (source = ? AND record_id = ?) "
        "OR (source = ? AND record_id = ?)",
        [source_l, id_l, source_r, id_r],
    )
    values = {f"{r.source}:{r.record_id}": r for r in records.itertuples(index=False)}
    out = []
    for field in levels["field"].unique():
        gamma = row.get(f"gamma_{field}")
        if gamma is None or pd.isna(gamma):
            continue
        match = levels[(levels["field"] == field) & (levels["gamma"] == int(gamma))]
        weight = row.get(f"mw_{field}", 0.0) + (row.get(f"mw_tf_adj_{field}") or 0.0)
        column = {"dob": "date_of_birth"}.get(field, field)
        out.append(
            {
                "field": field,
                "left": getattr(values.get(unique_id_l), column, None),
                "right": getattr(values.get(unique_id_r), column, None),
                "level": match["label"].iloc[0] if not match.empty else str(gamma),
                "weight": None if pd.isna(weight) else round(float(weight), 2),
            }
        )
    return pd.DataFrame(out)
