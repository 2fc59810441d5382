"""The sections about customers' value and risk: RFM, CLV, churn, segments, PCA map, actions.
Each builder returns its section's HTML body (see ``section.py``)."""

from __future__ import annotations

from html import escape
from typing import Any

import pandas as pd

from customerlens.report import data, plots
from customerlens.report.page import (
    Column,
    code,
    decimal,
    finite,
    integer,
    money,
    pairs,
    paragraph,
    percent,
    table,
    text,
)
from customerlens.report.section import Context, Section, add_plot, metrics_note

CLV_MODELS = {"bg_nbd": "BG/NBD", "pareto_nbd": "Pareto/NBD"}
#: the segment-profile features shown as mean values in the table (when present)
PROFILE_MEANS = (
    ("recency_days", "recency (days)", integer),
    ("orders", "orders", decimal(1)),
    ("net_spend", "net spend", money),
    ("clv_expected_value", "CLV", money),
    ("p_churn", "P(churn)", percent),
)


def rfm(ctx: Context, section: Section) -> str:
    sizes = data.rfm_sizes(ctx.wh)
    if sizes.empty:
        return paragraph("No customer has an RFM score.")
    chart = add_plot(section, plots.rfm_sizes(sizes), "RFM segment sizes")
    return chart + table(
        sizes,
        [
            Column("segment", "segment"),
            Column("customers", "customers", integer, numeric=True),
            Column("share", "share", percent, numeric=True),
            Column("recency", "mean recency (days)", decimal(0), numeric=True),
            Column("frequency", "mean frequency (orders)", decimal(2), numeric=True),
            Column("monetary", "mean monetary (net spend)", money, numeric=True),
        ],
    )


def clv(ctx: Context, section: Section) -> str:
    summary = data.clv_summary(ctx.wh)
    bins = data.clv_histogram(ctx.wh)
    model = ctx.metrics.get("clv")
    horizon = summary.get("horizon_days")
    horizon_days = int(horizon) if horizon is not None and finite(horizon) else None
    parts = []
    if model:
        name = CLV_MODELS.get(model.get("model", ""), model.get("model", "?"))
        params = ", ".join(f"{k} = {v:.4g}" for k, v in model.get("params", {}).items())
        parts.append(
            paragraph(
                f"Model: <strong>{escape(name)}</strong> for purchases ({escape(params)}), "
                f"Gamma-Gamma for spend; fitted by {escape(str(model.get('method', '?')))} in "
                f"{escape(str(model.get('time_unit', '?')))}s.",
                css=None,
            )
        )
    else:
        parts.append(metrics_note(ctx, "The model name and holdout figures are not shown:"))
    if not bins.empty:
        parts.append(add_plot(section, plots.clv_histogram(bins, horizon_days), "CLV"))
    over = f" over {horizon_days} days" if horizon_days else ""
    stats = [
        ("customers scored", integer(summary.get("customers"))),
        (f"total expected value{over}", money(summary.get("total"))),
        ("mean", money(summary.get("mean"))),
        ("median", money(summary.get("median"))),
        ("90th percentile", money(summary.get("p90"))),
        ("99th percentile", money(summary.get("p99"))),
        ("largest", money(summary.get("max"))),
        ("expected purchases (all customers)", decimal(0)(summary.get("purchases"))),
        ("mean P(no purchase in the horizon)", percent(summary.get("p_no_purchase"))),
        ("customers with no positive value (not in the plot)", integer(summary["not_positive"])),
    ]
    parts.append(pairs(stats))
    holdout = (model or {}).get("holdout")
    value = ctx.metrics.get("value")
    if holdout or value:
        checks = []
        if holdout:
            checks += [
                (
                    f"holdout purchases after {holdout.get('cutoff')}, predicted / observed",
                    f"{holdout['predicted']:,.0f} / {holdout['actual']:,.0f}",
                ),
                ("holdout customers", integer(holdout.get("customers"))),
            ]
        if value:
            checks += [
                (
                    "spend in the horizon, mean absolute error: CLV model / value regressor",
                    f"{money(value.get('clv_model_mae'))} / {money(value.get('mae'))}",
                ),
                (
                    "spend in the horizon, total: CLV model / value regressor / actual",
                    " / ".join(
                        money(value.get(k))
                        for k in ("clv_model_total", "predicted_total", "actual_total")
                    ),
                ),
            ]
        parts.append("<h3>Out-of-time check</h3>" + pairs(checks))
    return "".join(parts)


def churn(ctx: Context, section: Section) -> str:
    model = data.reliability(ctx.wh, "p_churn")
    baseline = data.reliability(ctx.wh, "clv_p_no_purchase")
    info = data.churn_evaluation_summary(ctx.wh)
    parts = [
        paragraph(
            f"Out of time: features as of {escape(str(info.get('cutoff'))[:10])}, outcome = no "
            f"purchase in the horizon after it; {integer(info.get('customers'))} customers, "
            f"{percent(info.get('rate'))} of them did not buy. A well calibrated model lies on "
            "the diagonal.",
            css=None,
        )
    ]
    if not model.empty:
        parts.append(add_plot(section, plots.reliability(model, baseline), "churn"))
    scores = ctx.metrics.get("churn")
    if scores:
        frame = pd.DataFrame(
            [
                ("churn model", scores.get("auc"), scores.get("pr_auc"), scores.get("brier")),
                ("recency only (baseline)", scores.get("baseline_recency_auc"), None, None),
                (
                    "CLV model P(no purchase) (baseline)",
                    scores.get("clv_model_auc"),
                    None,
                    scores.get("clv_model_brier"),
                ),
            ],
            columns=["model", "auc", "pr_auc", "brier"],
        )
        parts.append(
            table(
                frame,
                [
                    Column("model", "model"),
                    Column("auc", "AUC", decimal(3), numeric=True),
                    Column("pr_auc", "PR-AUC", decimal(3), numeric=True),
                    Column("brier", "Brier", decimal(3), numeric=True),
                ],
            )
        )
        section.summary = [("churn AUC (recency-only baseline)", _pair3(scores))]
    else:
        parts.append(metrics_note(ctx, "AUC and Brier scores are not shown:"))
    if not model.empty:
        model["range"] = [f"{b / 10:.1f}-{(b + 1) / 10:.1f}" for b in model["bin"]]
        parts.append("<h3>Reliability table (churn model)</h3>")
        parts.append(
            table(
                model,
                [
                    Column("range", "predicted range"),
                    Column("customers", "customers", integer, numeric=True),
                    Column("predicted", "mean predicted", percent, numeric=True),
                    Column("observed", "observed", percent, numeric=True),
                ],
            )
        )
    return "".join(parts)


def _pair3(scores: dict[str, Any]) -> str:
    auc, base = scores.get("auc"), scores.get("baseline_recency_auc")
    return f"{auc:.3f} ({base:.3f})" if finite(auc) and finite(base) else ""


def segment_profiles(ctx: Context, section: Section) -> str:
    profiles = data.segment_profiles(ctx.wh)
    features = [c.removesuffix("_rank") for c in profiles.columns if str(c).endswith("_rank")]
    parts = []
    seg = ctx.metrics.get("segments")
    if seg:
        stability = seg.get("stability", {})
        parts.append(
            paragraph(
                f"k-means with k = {seg.get('k')} (elbow {seg.get('elbow_k')}), bootstrap "
                f"stability {stability.get('mean', float('nan')):.2f} ± "
                f"{stability.get('std', float('nan')):.2f}; names and personas come from rules "
                "on each profile, never from the cluster number.",
                css=None,
            )
        )
    if features and not profiles.empty:
        chart = plots.segment_heatmap(profiles, features)
        parts.append(add_plot(section, chart, "segment profiles"))
    columns = [
        Column("name", "segment"),
        Column("size", "customers", integer, numeric=True),
        Column("share", "share", percent, numeric=True),
    ]
    columns += [
        Column(f"{key}_mean", f"mean {header}", fmt, numeric=True)
        for key, header, fmt in PROFILE_MEANS
        if f"{key}_mean" in profiles.columns
    ]
    columns += [
        Column("value_at_risk", "value at risk", money, numeric=True),
        Column("persona", "persona", lambda v: text(v, 400)),
        Column("action", "action"),
    ]
    parts.append(table(profiles, [c for c in columns if c.key in profiles.columns]))
    return "".join(parts)


def pca_map(ctx: Context, section: Section) -> str:
    points, total = data.pca_points(ctx.wh)
    if points.empty:
        return paragraph("No customer has PCA coordinates.")
    explained = ctx.metrics.get("segments", {}).get("pca_explained")
    share = (
        f" The two components explain {sum(explained):.0%} of the variance." if explained else ""
    )
    shown = (
        f"{len(points):,} of {total:,} customers shown (random sample)."
        if len(points) < total
        else f"All {total:,} customers shown."
    )
    chart = add_plot(section, plots.pca_map(points), "PCA map")
    return paragraph(escape(shown + share)) + chart


def actions(ctx: Context, section: Section) -> str:
    per_action = data.actions_by_action(ctx.wh)
    top = data.top_actions(ctx.wh)
    body = paragraph(
        "Value at risk = P(churn) × CLV expected value. The full ranked list is "
        f"{code('actions.csv')} beside the warehouse.",
        css=None,
    )
    body += table(
        per_action,
        [
            Column("action", "action"),
            Column("customers", "customers", integer, numeric=True),
            Column("value_at_risk", "value at risk", money, numeric=True),
            Column("p_churn", "mean P(churn)", percent, numeric=True),
        ],
    )
    body += f"<h3>Top {len(top)} customers by value at risk</h3>" + table(
        top,
        [
            Column("rank", "rank", integer, numeric=True),
            Column("customer_id", "customer", nowrap=True),
            Column("rfm_segment", "RFM segment"),
            Column("segment_name", "segment"),
            Column("p_churn", "P(churn)", percent, numeric=True),
            Column("value", "CLV", money, numeric=True),
            Column("value_at_risk", "value at risk", money, numeric=True),
            Column("action", "action"),
        ],
    )
    return body
