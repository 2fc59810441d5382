"""What the segments are: profiles, business names, Kruskal-Wallis tests, moves between cutoffs.

Pure functions of a customer-features frame and segment labels (from
:class:`customerlens.models.segments.Segmenter` or any other clustering):

- :func:`segment_profiles`: per segment its size, share and, per feature, mean, median, ratio of
  the mean to the population mean and *mean rank* (the segment's average percentile rank in the
  population: 0.5 is typical, 0.9 means its customers sit near the top).
- :func:`name_segments`: a business name and a persona sentence per segment, by the first rule of
  ``NAMING_RULES`` whose conditions the profile meets. Conditions read the mean rank only, so they
  are relative to the population (scale-free, robust to skew and to negative values) and never
  depend on a cluster number. Segments given the same name are told apart by the trait that
  differs most between them ("At Risk (higher returns)").
- :func:`kruskal_tests`: whether each feature differs between segments, with its effect size.
- :func:`transition_matrix`: how customers moved between the segments of two cutoffs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

ID_COLUMN = "customer_id"
#: a mean rank at or above HIGH is "high", at or below LOW is "low"
HIGH = 2 / 3
LOW = 1 / 3
#: Kruskal-Wallis on at most this many customers (a random sample above it)
KRUSKAL_MAX_ROWS = 50_000
NEW = "new"
GONE = "gone"
PROFILE_STATS = ("mean", "median", "ratio", "rank")

#: a condition holds when the segment's mean rank on the feature is at this level
_LEVELS = {
    "high": lambda rank: rank >= HIGH,
    "low": lambda rank: rank <= LOW,
    "not_high": lambda rank: rank < HIGH,
    "not_low": lambda rank: rank > LOW,
}


@dataclass(frozen=True)
class NamingRule:
    """A segment name, the persona sentence, and the (feature, level) conditions that all hold."""

    name: str
    when: tuple[tuple[str, str], ...]
    persona: str


#: tried in order; the first rule whose features are all profiled and whose conditions hold wins
NAMING_RULES: tuple[NamingRule, ...] = (
    NamingRule(
        "Loyal & High Value",
        (("net_spend", "high"), ("orders", "high"), ("recency_days", "low")),
        "Buys often, spends the most and bought recently: reward and protect them.",
    ),
    NamingRule(
        "High Value at Risk",
        (("net_spend", "high"), ("recency_days", "high")),
        "Spent a lot but has not bought for a long time: win them back first.",
    ),
    NamingRule(
        "High Churn Risk",
        (("p_churn", "high"),),
        "Likely not to buy again in the horizon: a reason to come back, soon.",
    ),
    NamingRule(
        "At Risk",
        (("recency_days", "high"), ("orders", "not_low")),
        "Used to buy regularly but has gone quiet: remind them what they liked.",
    ),
    NamingRule(
        "Dormant",
        (("recency_days", "high"),),
        "Bought little, long ago: cheap reactivation only.",
    ),
    NamingRule(
        "New Customers",
        (("tenure_days", "low"), ("recency_days", "low")),
        "Just arrived: make the second order easy.",
    ),
    NamingRule(
        "Growing",
        (("orders_trend", "high"), ("recency_days", "not_high")),
        "Buying more often lately: encourage the habit.",
    ),
    NamingRule(
        "Price Sensitive",
        (("avg_order_value", "low"), ("return_share", "high")),
        "Small baskets and many returns: responds to price, watch the margin.",
    ),
    NamingRule(
        "Frequent Returners",
        (("return_share", "high"),),
        "Sends a lot back: better sizing and product information pay off.",
    ),
    NamingRule(
        "Big Baskets, Occasional",
        (("avg_order_value", "high"), ("orders", "not_high")),
        "Few but large orders: bundles and timely reminders.",
    ),
    NamingRule(
        "Frequent Buyers",
        (("orders", "high"),),
        "Orders often: loyalty perks and subscriptions.",
    ),
    NamingRule(
        "Explorers",
        (("distinct_categories", "high"),),
        "Buys across many categories: cross-sell the next one.",
    ),
    NamingRule(
        "High Potential",
        (("clv_expected_value", "high"),),
        "Expected to be worth more than they have spent so far: invest in them.",
    ),
    NamingRule(
        "Low Value",
        (("net_spend", "low"),),
        "Spends little: low-cost channels only.",
    ),
)
FALLBACK_RULE = NamingRule("Typical Customers", (), "Close to the average customer on most traits.")

#: readable words for qualifiers and personas; other features are named by their column
FEATURE_WORDS = {
    "recency_days": "recency",
    "tenure_days": "tenure",
    "orders": "frequency",
    "net_spend": "spend",
    "avg_order_value": "basket size",
    "return_share": "returns",
    "orders_90d": "recent orders",
    "spend_365d": "yearly spend",
    "orders_trend": "order trend",
    "distinct_products": "product range",
    "distinct_categories": "category range",
    "mean_days_between": "time between orders",
    "clv_expected_value": "expected value",
    "p_churn": "churn risk",
}
#: key figures (medians) quoted in a persona, when profiled
PERSONA_FIGURES = (
    ("orders", "{:,.0f} orders"),
    ("net_spend", "{:,.0f} spent"),
    ("recency_days", "last order {:,.0f} days ago"),
    ("tenure_days", "first order {:,.0f} days ago"),
)


def feature_matrix(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """``frame[columns]`` as a float matrix, infinities as NaN; fails naming missing columns."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"customer features lack the columns {missing}; the segmenter needs {list(columns)}"
        )
    values = frame[list(columns)].to_numpy(dtype=float, na_value=np.nan)
    return np.where(np.isfinite(values), values, np.nan)


def _feature_columns(X: pd.DataFrame, features: Sequence[str] | None) -> list[str]:
    if features is None:
        return [str(c) for c in X.select_dtypes(include="number").columns if c != ID_COLUMN]
    return list(features)


def _labels(X: pd.DataFrame, labels: ArrayLike) -> np.ndarray:
    values = np.asarray(labels)
    if values.shape != (len(X),):
        raise ValueError(f"need one label per customer: {len(X)} rows but labels {values.shape}")
    return values


def segment_profiles(
    X: pd.DataFrame, labels: ArrayLike, features: Sequence[str] | None = None
) -> pd.DataFrame:
    """Per segment: size, share and, per feature, mean, median, ratio and mean rank.

    Parameters
    ----------
    X : DataFrame
        One row per customer.
    labels : array-like
        Segment of each row of ``X``.
    features : sequence of str, optional
        Columns to profile; by default every numeric column but ``customer_id``.

    Returns
    -------
    DataFrame
        Indexed by segment (sorted), with ``size``, ``share`` and for each feature
        ``{feature}_mean``, ``{feature}_median``, ``{feature}_ratio`` (segment mean over
        population mean, NaN when that is 0) and ``{feature}_rank`` (mean percentile rank of the
        segment's customers in the population, mid-ranks for ties, NaN values left out).
    """
    columns = _feature_columns(X, features)
    values = pd.DataFrame(feature_matrix(X, columns), columns=columns)
    segment = pd.Series(_labels(X, labels), name="segment")
    ranks = (values.rank(method="average") - 0.5) / values.count()
    grouped = values.groupby(segment)
    means = grouped.mean()
    overall = values.mean()
    parts = {
        "mean": means,
        "median": grouped.median(),
        "ratio": means / overall.where(overall.abs() > 1e-12),
        "rank": ranks.groupby(segment).mean(),
    }
    size = grouped.size()
    profile = pd.DataFrame({"size": size, "share": size / len(values)})
    for column in columns:
        for stat in PROFILE_STATS:
            profile[f"{column}_{stat}"] = parts[stat][column]
    return profile.sort_index()


def _rank(profile: pd.Series, feature: str) -> float:
    value = profile.get(f"{feature}_rank", np.nan)
    return float(value) if pd.notna(value) else float("nan")


def _matches(rule: NamingRule, profile: pd.Series) -> bool:
    ranks = [(_rank(profile, feature), level) for feature, level in rule.when]
    return all(not np.isnan(rank) and bool(_LEVELS[level](rank)) for rank, level in ranks)


def _persona(rule: NamingRule, profile: pd.Series) -> str:
    figures = [
        template.format(profile[f"{feature}_median"])
        for feature, template in PERSONA_FIGURES
        if pd.notna(profile.get(f"{feature}_median", np.nan))
    ]
    typical = f" Typically {', '.join(figures)}." if figures else ""
    return f"{rule.persona}{typical} {profile['share']:.0%} of customers."


def _qualifiers(profiles: pd.DataFrame, rule: NamingRule) -> dict[int, str]:
    """For segments sharing ``rule``'s name: each one's trait most unlike the others' average.

    Read on the mean ranks of the features outside the rule's conditions (all of them when the
    rule uses every feature), e.g. "higher returns" / "lower returns" for two segments.
    """
    ranks = profiles[[c for c in profiles.columns if str(c).endswith("_rank")]]
    ranks.columns = [str(c).removesuffix("_rank") for c in ranks.columns]
    used = {feature for feature, _ in rule.when}
    others = ranks[[c for c in ranks.columns if c not in used]]
    if not others.empty:
        ranks = others
    gap = ranks - ranks.mean()
    qualifiers = {}
    for segment, row in gap.iterrows():
        feature = str(row.abs().idxmax())
        direction = "higher" if row[feature] >= 0 else "lower"
        qualifiers[int(str(segment))] = f"{direction} {FEATURE_WORDS.get(feature, feature)}"
    return qualifiers


def name_segments(profiles: pd.DataFrame) -> dict[int, tuple[str, str]]:
    """Map each segment to (business name, persona sentence) by ``NAMING_RULES``.

    Parameters
    ----------
    profiles : DataFrame
        As :func:`segment_profiles` returns it (the ``{feature}_rank``, ``{feature}_median`` and
        ``share`` columns are read).

    Returns
    -------
    dict
        Segment -> (name, persona). Names are unique: segments sharing a rule's name get the
        trait that sets each apart from the others in brackets ("At Risk (higher returns)",
        "At Risk (lower returns)"), then "(2)", "(3)" in the order of the profiles if that
        still leaves a duplicate.
    """
    segments = [int(s) for s in profiles.index.to_numpy()]
    rows = dict(zip(segments, (row for _, row in profiles.iterrows()), strict=True))
    rules = {
        segment: next((r for r in NAMING_RULES if _matches(r, row)), FALLBACK_RULE)
        for segment, row in rows.items()
    }
    qualifiers: dict[int, str] = {}
    for name in {rule.name for rule in rules.values()}:
        group = [segment for segment, rule in rules.items() if rule.name == name]
        if len(group) > 1:
            members = pd.DataFrame([rows[segment] for segment in group], index=group)
            qualifiers |= _qualifiers(members, rules[group[0]])
    seen: Counter[str] = Counter()
    result: dict[int, tuple[str, str]] = {}
    for segment, rule in rules.items():
        name = f"{rule.name} ({qualifiers[segment]})" if segment in qualifiers else rule.name
        seen[name] += 1
        unique = name if seen[name] == 1 else f"{name} ({seen[name]})"
        result[segment] = (unique, _persona(rule, rows[segment]))
    return result


def kruskal_tests(
    X: pd.DataFrame,
    labels: ArrayLike,
    features: Sequence[str] | None = None,
    *,
    max_rows: int = KRUSKAL_MAX_ROWS,
    random_state: int | None = 42,
) -> pd.DataFrame:
    """Kruskal-Wallis H test of each feature across segments, with epsilon-squared.

    Parameters
    ----------
    X : DataFrame
        One row per customer.
    labels : array-like
        Segment of each row of ``X``.
    features : sequence of str, optional
        Columns to test; by default every numeric column but ``customer_id``.
    max_rows : int
        Above this many customers the tests run on a random sample of this size.
    random_state : int, optional
        Seeds that sample.

    Returns
    -------
    DataFrame
        Indexed by feature, sorted by effect size (descending): ``h``, ``p_value``,
        ``epsilon_squared`` (H / (n - 1), from 0 for no effect to 1), ``n`` (customers with a
        value) and ``sampled`` (True when the tests ran on a sample). A feature with one value
        gets H = 0 and p = 1; one seen in fewer than two segments gets NaN.
    """
    columns = _feature_columns(X, features)
    values = feature_matrix(X, columns)
    segment = _labels(X, labels)
    sampled = len(values) > max_rows
    if sampled:
        rows = np.random.default_rng(random_state).choice(len(values), max_rows, replace=False)
        values, segment = values[rows], segment[rows]
    records = []
    for j, column in enumerate(columns):
        present = ~np.isnan(values[:, j])
        x, g = values[present, j], segment[present]
        groups = [x[g == s] for s in np.unique(g)]
        if len(groups) < 2:
            h, p = float("nan"), float("nan")
        elif np.ptp(x) == 0:
            h, p = 0.0, 1.0
        else:
            h, p = (float(v) for v in stats.kruskal(*groups))
        epsilon = h / (len(x) - 1) if len(x) > 1 else float("nan")
        records.append((column, h, p, epsilon, len(x), sampled))
    table = pd.DataFrame(
        records, columns=["feature", "h", "p_value", "epsilon_squared", "n", "sampled"]
    )
    return table.set_index("feature").sort_values("epsilon_squared", ascending=False)


def _integral(labels: pd.Series) -> pd.Series:
    """Float labels that are whole numbers (a column with NaN) back to int."""
    if pd.api.types.is_float_dtype(labels) and bool((labels % 1 == 0).all()):
        return labels.astype(np.int64)
    return labels


def transition_matrix(
    labels_before: pd.Series, labels_after: pd.Series, *, normalize: bool = False
) -> pd.DataFrame:
    """Customers moving between segments from one cutoff to the next.

    Parameters
    ----------
    labels_before, labels_after : Series
        Segment per customer, indexed by ``customer_id``, at the earlier and the later cutoff
        (the sets of customers may differ; missing labels count as absent).
    normalize : bool
        Row shares instead of counts (each row sums to 1; a row without customers is all 0).

    Returns
    -------
    DataFrame
        Rows: segments before (sorted), then ``"new"`` (customers only in ``labels_after``);
        columns: segments after, then ``"gone"`` (customers only in ``labels_before``). The
        counts add up to the customers seen at either cutoff.
    """
    before, after = _integral(labels_before.dropna()), _integral(labels_after.dropna())
    for name, labels in (("labels_before", before), ("labels_after", after)):
        if not labels.index.is_unique:
            raise ValueError(f"{name} has duplicated customer ids; one label per customer")
    rows = [*sorted(before.unique()), NEW]
    cols = [*sorted(after.unique()), GONE]
    customers = before.index.union(after.index)
    row_of = pd.Series(len(rows) - 1, index=customers)
    col_of = pd.Series(len(cols) - 1, index=customers)
    row_of.loc[before.index] = pd.Index(rows).get_indexer(before.to_numpy())
    col_of.loc[after.index] = pd.Index(cols).get_indexer(after.to_numpy())
    counts = np.zeros((len(rows), len(cols)), dtype=np.int64)
    np.add.at(counts, (row_of.to_numpy(), col_of.to_numpy()), 1)
    table = pd.DataFrame(
        counts,
        index=pd.Index(rows, dtype=object, name="before"),
        columns=pd.Index(cols, dtype=object, name="after"),
    )
    if not normalize:
        return table
    totals = table.sum(axis=1).replace(0, np.nan)
    return table.div(totals, axis=0).fillna(0.0)
