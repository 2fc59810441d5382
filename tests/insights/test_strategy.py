"""The strategy engine: rules as data, first match wins, ranked by value at risk."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from customerlens.errors import ConfigError
from customerlens.features.rfm import SEGMENT_RULES
from customerlens.insights.strategy import (
    RULE_COLUMNS,
    assign_actions,
    load_rules,
    segment_actions,
)


def _customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "rfm_segment": ["Champions", "Champions", "Lost", "Can't Lose Them", None],
            "segment_name": [
                "Loyal & High Value",
                "Loyal & High Value",
                "At Risk",
                "Price Sensitive",
                None,
            ],
            "p_churn": [0.9, 0.1, 0.95, 0.5, None],
            "value": [1000.0, 900.0, 1.0, 300.0, None],
        }
    )


def test_default_rules_cover_every_rfm_segment() -> None:
    rules = load_rules()
    assert list(rules.columns)[: len(RULE_COLUMNS)] == list(RULE_COLUMNS)
    assert rules["priority"].is_monotonic_increasing
    named = set()
    for spec in rules["rfm_segments"]:
        named |= set(spec.split("|"))
    # every RFM segment has a rule of its own (besides the catch-all default)
    assert {r[0] for r in SEGMENT_RULES} <= named
    last = rules.iloc[-1]
    assert last["rfm_segments"] == "*" and last["business_segments"] == "*"


def test_first_matching_rule_wins_and_ranking() -> None:
    actions = assign_actions(_customers(), load_rules()).set_index("customer_id")
    # the top customer by value, likely to leave: the high-value save rule beats "champions"
    assert actions.loc["a", "rule"] == "save_high_value"
    assert actions.loc["b", "rule"] == "champions"
    assert actions.loc["c", "rule"] == "lost"
    assert actions.loc["d", "rule"] == "cant_lose"
    assert actions.loc["e", "rule"] == "default"  # nothing known: the default, value 0
    assert actions.loc["a", "value_at_risk"] == pytest.approx(900.0)
    assert actions.sort_values("rank").index[0] == "a"  # ranked by value at risk
    assert actions["rank"].tolist() == sorted(actions["rank"].tolist())
    seg = segment_actions(actions.reset_index())
    assert seg["customers"].sum() == 5


def test_custom_rules_file_and_errors(tmp_path: Path) -> None:
    rules = load_rules()
    custom = rules[rules["rule"] != "default"]
    path = tmp_path / "rules.csv"
    custom.to_csv(path, index=False)
    actions = assign_actions(_customers(), load_rules(path)).set_index("customer_id")
    assert pd.isna(actions.loc["e", "action"])  # no default rule: shown as no action
    bad = custom.assign(min_p_churn=["x"] + list(custom["min_p_churn"].iloc[1:]))
    bad.to_csv(path, index=False)
    with pytest.raises(ConfigError, match=r"line 2, column min_p_churn"):
        load_rules(path)
    custom.drop(columns=["why"]).to_csv(path, index=False)
    with pytest.raises(ConfigError, match="lacks the column"):
        load_rules(path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_rules(tmp_path / "nope.csv")


def test_rules_file_from_the_project_config(tmp_path: Path) -> None:
    from customerlens.config import load_config

    load_rules().to_csv(tmp_path / "my_rules.csv", index=False)
    (tmp_path / "customerlens.toml").write_text('[features]\nstrategy_rules = "my_rules.csv"\n')
    config = load_config(tmp_path / "customerlens.toml")
    assert config.features.strategy_rules == (tmp_path / "my_rules.csv").resolve()
    assert len(load_rules(config.features.strategy_rules)) == len(load_rules())
