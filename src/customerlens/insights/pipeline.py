"""The segments-and-actions stage: segments, look-alikes, recommendations, anomalies, actions.

Reads ``customer_features``, ``churn``, ``clv``, ``rfm`` and ``sales``; writes ``segments``,
``segment_profiles``, ``segment_transitions``, ``lookalikes``, ``recommendations``,
``anomalies`` and ``actions`` (and ``DIR/actions.csv``); returns the ``segments``,
``recommendations`` and ``actions`` sections of ``metrics.json``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from customerlens.features.customer import features_sql
from customerlens.features.pipeline import Dates
from customerlens.insights.strategy import assign_actions, load_rules, segment_actions
from customerlens.models.anomaly import AnomalyDetector
from customerlens.models.lookalike import LookalikeIndex
from customerlens.models.recommend import (
    Recommender,
    evaluate_time_holdout,
    interactions,
    with_names,
)
from customerlens.models.segments import (
    Segmenter,
    kruskal_tests,
    name_segments,
    segment_profiles,
    transition_matrix,
)
from customerlens.tables import (
    ACTIONS,
    ANOMALIES,
    CHURN,
    CHURN_EVALUATION,
    CLV,
    CUSTOMER_FEATURES,
    LOOKALIKES,
    RECOMMENDATIONS,
    RFM,
    SALES,
    SEGMENT_PROFILES,
    SEGMENT_TRANSITIONS,
    SEGMENTS,
    TRANSACTIONS,
)
from customerlens.warehouse import DuckDBWarehouse

#: behavioural features the segmentation reads (RFM, value, order size, mix, tenure, risk)
SEGMENT_FEATURES = (
    "recency_days",
    "orders",
    "net_spend",
    "avg_order_value",
    "return_share",
    "tenure_days",
    "orders_trend",
    "distinct_categories",
    "distinct_products",
    "clv_expected_value",
    "p_churn",
)
TOP_N = 10


def _customers(wh: DuckDBWarehouse) -> pd.DataFrame:
    """Buying customers as of the last day, with their CLV and churn scores and RFM segment."""
    return wh.query_df(f"""
        SELECT f.*, c.p_churn, v.expected_value AS clv_expected_value, r.segment AS rfm_segment
        FROM {CUSTOMER_FEATURES} f
        JOIN {CHURN} c USING (customer_id)
        LEFT JOIN {CLV} v USING (customer_id)
        LEFT JOIN {RFM} r USING (customer_id)
        ORDER BY f.customer_id
    """)


def _at_cutoff(wh: DuckDBWarehouse, cutoff: dt.date) -> pd.DataFrame:
    """The same features as of the evaluation cutoff (scores from the out-of-time run)."""
    return wh.query_df(f"""
        SELECT f.*, e.p_churn, e.clv_expected_value
        FROM ({features_sql(cutoff)}) f JOIN {CHURN_EVALUATION} e USING (customer_id)
        ORDER BY f.customer_id
    """)


def _present(frame: pd.DataFrame) -> list[str]:
    return [c for c in SEGMENT_FEATURES if c in frame.columns and frame[c].notna().any()]


def run_insights(
    wh: DuckDBWarehouse,
    dates: Dates,
    out: Path,
    *,
    random_state: int = 42,
    rules_path: Path | None = None,
    on_step: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    step = on_step or (lambda _m: None)
    customers = _customers(wh)
    features = _present(customers)
    step(f"segmenting {len(customers):,} customers")
    seg = Segmenter(features=features, random_state=random_state).fit(customers)
    labels = np.asarray(seg.labels_)
    profiles = segment_profiles(customers[features], labels)
    names = name_segments(profiles)
    coords = seg.transform_2d(customers)
    membership = np.asarray(seg.confidence_)
    segments = pd.DataFrame(
        {
            "customer_id": customers["customer_id"],
            "segment": labels,
            "segment_name": [names[int(s)][0] for s in labels],
            "membership_probability": np.round(membership, 4),
            "outlier": np.asarray(seg.outlier_, dtype=bool),
            "pca_x": np.round(coords[:, 0], 4),
            "pca_y": np.round(coords[:, 1], 4),
        }
    )
    wh.write_table(SEGMENTS, segments)

    step("strategy: an action per customer and per segment")
    actions = assign_actions(
        segments.merge(
            customers[["customer_id", "rfm_segment", "p_churn"]], on="customer_id"
        ).assign(value=customers["clv_expected_value"].to_numpy()),
        load_rules(rules_path),
    )
    wh.write_table(ACTIONS, actions)
    out.mkdir(parents=True, exist_ok=True)
    actions.to_csv(out / "actions.csv", index=False)
    by_segment = segment_actions(actions).set_index("segment_name")
    profiles = profiles.reset_index()
    profiles.insert(1, "name", [names[int(s)][0] for s in profiles["segment"]])
    profiles.insert(2, "persona", [names[int(s)][1] for s in profiles["segment"]])
    profiles["action"] = profiles["name"].map(by_segment["action"])
    profiles["value_at_risk"] = profiles["name"].map(by_segment["value_at_risk"])
    wh.write_table(SEGMENT_PROFILES, profiles)

    step("segment transitions since the evaluation cutoff")
    before = _at_cutoff(wh, dates.cutoff)
    moved = transition_matrix(
        pd.Series(seg.predict(before), index=before["customer_id"]).map(lambda s: names[int(s)][0]),
        pd.Series(segments["segment_name"].to_numpy(), index=segments["customer_id"]),
    )
    wh.write_table(SEGMENT_TRANSITIONS, _long(moved, dates))

    step("look-alikes")
    index = LookalikeIndex(random_state=random_state).fit(customers[["customer_id", *features]])
    wh.write_table(LOOKALIKES, index.neighbours(None, k=TOP_N))

    step("anomalies")
    detector = AnomalyDetector(random_state=random_state).fit(customers[["customer_id", *features]])
    anomalies = detector.score(customers[["customer_id", *features]])
    wh.write_table(ANOMALIES, anomalies)

    step("recommendations")
    recs_metrics = _recommend(wh, dates, random_state)

    metrics: dict[str, Any] = {
        "segments": {
            "customers": len(customers),
            "features": features,
            "k": int(seg.k_),
            "k_scores": seg.k_scores_.round(4).to_dict(orient="records"),
            "gmm_k": int(seg.gmm_k_),
            "agreement": {k: round(float(v), 4) for k, v in seg.agreement_.items()},
            "stability": {
                "mean": round(float(seg.stability_[0]), 4),
                "std": round(float(seg.stability_[1]), 4),
            },
            "elbow_k": int(seg.elbow_k_),
            "agglomerative_ari": round(float(seg.agglomerative_ari_), 4),
            "noise_share": round(float(seg.noise_share_), 4),
            "pca_explained": [round(float(v), 4) for v in seg.pca_explained_],
            "feature_importance": {
                k: round(float(v), 4) for k, v in seg.feature_importance_.items()
            },
            "names": {names[int(s)][0]: int((labels == s).sum()) for s in np.unique(labels)},
            "kruskal_wallis": kruskal_tests(customers, labels, features)
            .reset_index()
            .round(6)
            .to_dict(orient="records"),
            "transitions_kept_share": _kept_share(moved),
        },
        "recommendations": recs_metrics,
        "anomalies": {"flagged": int(anomalies["is_anomaly"].sum())},
        "actions": {
            "customers": len(actions),
            "value_at_risk_top_100": round(float(actions["value_at_risk"].head(100).sum()), 2),
            "value_at_risk_total": round(float(actions["value_at_risk"].sum()), 2),
            "per_action": actions["action"].value_counts().to_dict(),
        },
    }
    return metrics


def _long(moved: pd.DataFrame, dates: Dates) -> pd.DataFrame:
    counts = pd.DataFrame(moved.stack()).reset_index()
    counts.columns = pd.Index(["segment_before", "segment_after", "customers"])
    counts["from_cutoff"] = dates.cutoff
    counts["to_day"] = dates.last_day
    return counts[counts["customers"] > 0].reset_index(drop=True)


def _kept_share(moved: pd.DataFrame) -> float:
    common = [c for c in moved.index if c in moved.columns and c not in ("new", "gone")]
    total = moved.loc[[r for r in moved.index if r not in ("new",)]].to_numpy().sum()
    kept = sum(moved.loc[c, c] for c in common)
    return round(float(kept / total), 4) if total else 0.0


def _recommend(wh: DuckDBWarehouse, dates: Dates, random_state: int) -> dict[str, Any]:
    lines = wh.query_df(f"""
        SELECT customer_id, product_id, quantity, event_time FROM {SALES}
        WHERE kind = 'product' AND customer_id IS NOT NULL AND product_id IS NOT NULL
    """)
    if lines["product_id"].nunique() < 2:
        return {"skipped": "the transactions name no products, so nothing can be recommended"}
    holdout_cutoff = pd.Timestamp(dates.last_day) - pd.Timedelta(days=28)
    try:
        evaluation = (
            evaluate_time_holdout(lines, time_col="event_time", cutoff=holdout_cutoff, n=TOP_N)
            .round(4)
            .to_dict(orient="records")
        )
    except ValueError as exc:  # too little data around the holdout cutoff to judge
        evaluation = [{"skipped": str(exc)}]
    matrix, customer_ids, items = interactions(lines)
    model = Recommender(random_state=random_state).fit(matrix, customer_ids, items)
    recs = model.recommend(customer_ids, n=TOP_N)
    if "product_name" in wh.columns(TRANSACTIONS):
        products = wh.query_df(
            f"SELECT DISTINCT product_id, product_name FROM {TRANSACTIONS} "
            "WHERE product_id IS NOT NULL ORDER BY product_id, product_name"
        )
        recs = with_names(recs, products)
    wh.write_table(RECOMMENDATIONS, recs)
    return {"holdout_cutoff": str(holdout_cutoff.date()), "methods": evaluation}
