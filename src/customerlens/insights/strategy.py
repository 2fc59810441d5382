"""The strategy engine: an action per customer and per segment, ranked by value at risk.

Rules are data, not code: one table (``strategy_rules.csv`` beside this module, or the file
``[strategy] rules`` names in customerlens.toml) with one row per rule:

- ``priority``: rules are tried from the lowest number; the first that holds gives the action;
- ``rfm_segments``: ``|``-separated RFM segment names, or ``*``;
- ``business_segments``: ``|``-separated glob patterns on the behavioural segment's name, or ``*``;
- ``min_p_churn`` / ``max_p_churn``: the calibrated churn probability's range (inclusive);
- ``min_value_rank`` / ``max_value_rank``: the customer's predicted value as a percentile rank
  among all customers, 0-1 (so a rule says "the top 20%" whatever the shop's currency);
- ``action``, ``why``: what to do and the reason shown to the marketer.

The last rule should match everyone (a default). Each customer's *value at risk* is
P(churn) x predicted value (the CLV model's expected value over the horizon); the ``actions``
table ranks every customer by it, and the segment's action is its customers' most common one.
"""

from __future__ import annotations

import fnmatch
from importlib import resources
from pathlib import Path

import pandas as pd

from customerlens.errors import ConfigError

RULE_COLUMNS = (
    "priority",
    "rule",
    "rfm_segments",
    "business_segments",
    "min_p_churn",
    "max_p_churn",
    "min_value_rank",
    "max_value_rank",
    "action",
    "why",
)
#: what the engine reads per customer
CUSTOMER_COLUMNS = ("customer_id", "rfm_segment", "segment_name", "p_churn", "value")


def load_rules(path: Path | None = None) -> pd.DataFrame:
    """The rule table (the packaged default, or ``path``), validated."""
    if path is None:
        with resources.files("customerlens.insights").joinpath("strategy_rules.csv").open() as f:
            rules = pd.read_csv(f, dtype=str, keep_default_na=False)
        source = "strategy_rules.csv"
    else:
        if not path.exists():
            raise ConfigError(f"strategy rules file {path} does not exist.")
        rules = pd.read_csv(path, dtype=str, keep_default_na=False)
        source = str(path)
    missing = [c for c in RULE_COLUMNS if c not in rules.columns]
    if missing:
        raise ConfigError(f"{source} lacks the column(s) {missing}; it needs {list(RULE_COLUMNS)}.")
    numeric = ["priority", "min_p_churn", "max_p_churn", "min_value_rank", "max_value_rank"]
    for n, row in enumerate(rules.itertuples(index=False), start=2):
        for col in numeric:
            try:
                float(getattr(row, col))
            except ValueError:
                raise ConfigError(
                    f"{source}, line {n}, column {col}: {getattr(row, col)!r} is not a number."
                ) from None
    rules[numeric] = rules[numeric].astype(float)
    return rules.sort_values("priority", kind="stable").reset_index(drop=True)


def assign_actions(customers: pd.DataFrame, rules: pd.DataFrame) -> pd.DataFrame:
    """Per customer: the first rule that holds, its action, and the value at risk.

    ``customers`` has :data:`CUSTOMER_COLUMNS` (``value`` may be NaN: counted as 0). Customers
    no rule matches get ``action`` None (a rule table without a default is allowed, but shown).
    """
    missing = [c for c in CUSTOMER_COLUMNS if c not in customers.columns]
    if missing:
        raise ValueError(f"customers lack the column(s) {missing}")
    frame = customers[list(CUSTOMER_COLUMNS)].copy()
    frame["value"] = frame["value"].fillna(0.0).clip(lower=0.0)
    frame["p_churn"] = frame["p_churn"].fillna(0.0)
    frame["value_rank"] = frame["value"].rank(pct=True, method="min") if len(frame) else []
    chosen = pd.Series(-1, index=frame.index)
    for i, rule in enumerate(rules.to_dict(orient="records")):
        holds = (
            (chosen < 0)
            & _names(frame["rfm_segment"], rule["rfm_segments"], glob=False)
            & _names(frame["segment_name"], rule["business_segments"], glob=True)
            & frame["p_churn"].between(rule["min_p_churn"], rule["max_p_churn"])
            & frame["value_rank"].between(rule["min_value_rank"], rule["max_value_rank"])
        )
        chosen[holds] = i
    picked = rules.reindex(chosen.to_numpy()).reset_index(drop=True)
    out = frame.reset_index(drop=True)
    out["rule"] = picked["rule"].where(chosen.to_numpy() >= 0)
    out["action"] = picked["action"].where(chosen.to_numpy() >= 0)
    out["why"] = picked["why"].where(chosen.to_numpy() >= 0)
    out["value_at_risk"] = (out["p_churn"] * out["value"]).round(2)
    out = out.sort_values(["value_at_risk", "customer_id"], ascending=[False, True])
    out.insert(0, "rank", range(1, len(out) + 1))
    return out.reset_index(drop=True)


def _names(values: pd.Series, spec: str, *, glob: bool) -> pd.Series:
    spec = spec.strip()
    if spec in ("", "*"):
        return pd.Series(True, index=values.index)
    patterns = [p.strip() for p in spec.split("|") if p.strip()]
    text = values.fillna("").astype(str)
    if not glob:
        return text.isin(patterns)
    return text.map(lambda v: any(fnmatch.fnmatchcase(v, p) for p in patterns))


def _most_common(values: pd.Series) -> object:
    return values.mode().iloc[0] if values.notna().any() else None


def segment_actions(actions: pd.DataFrame) -> pd.DataFrame:
    """Per behavioural segment: its most common action, customers and value at risk."""
    grouped = actions.groupby("segment_name", dropna=False)
    return pd.DataFrame(
        {
            "customers": grouped.size(),
            "value_at_risk": grouped["value_at_risk"].sum().round(2),
            "action": grouped["action"].agg(_most_common),
        }
    ).reset_index()
