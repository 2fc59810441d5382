"""Overview: customers before and after resolution, the revenue gap, spend, segments, risk."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from customerlens import tables as T
from customerlens.dashboard import queries
from customerlens.dashboard.views.common import current_path, has, need, number, percent, share

path = current_path()
st.title("Overview")

# -- identities -------------------------------------------------------------------------------
st.subheader("Customers")
cols = st.columns(4)
if has(path, T.RECORDS):
    by_source = queries.records_by_source(path)
    records = int(by_source["records"].sum())
    cols[0].metric(
        "Records before resolution",
        number(records),
        help="; ".join(f"{r.source}: {r.records:,}" for r in by_source.itertuples()),
        border=True,
    )
if has(path, T.CUSTOMERS):
    customers = queries.customer_count(path)
    delta = (
        f"{customers / records - 1:.0%} vs records" if has(path, T.RECORDS) and records else None
    )
    cols[1].metric(
        "Customers (after resolution)",
        number(customers),
        delta,
        delta_color="off",
        delta_arrow="off",
        help="One golden record per person, however many accounts, CRM entries and guest "
        "checkouts they left.",
        border=True,
    )
else:
    need(path, T.CUSTOMERS, what="Resolved customers")
if has(path, T.CUSTOMER_FEATURES):
    buyers = queries.buyer_averages(path).iloc[0]
    cols[2].metric(
        "Customers with a purchase",
        number(buyers["buyers"]),
        border=True,
        help="Customers with at least one product line, as of the data's last day.",
    )
if has(path, T.SEGMENT_PROFILES):
    cols[3].metric(
        "Segments",
        number(len(queries.segment_profiles(path))),
        border=True,
        help="Behavioural segments (k-means, k chosen by silhouette): see the Segments page.",
    )

# -- revenue ----------------------------------------------------------------------------------
st.subheader("Revenue")
if need(path, T.REVENUE_GAP, what="Revenue tracked and untracked"):
    months = queries.revenue_by_month(path)
    total, tracked = months["revenue"].sum(), months["tracked"].sum()
    untracked, recovered = months["untracked"].sum(), months["recovered"].sum()
    cols = st.columns(4)
    cols[0].metric(
        "Net product revenue",
        number(total),
        border=True,
        help="Product lines net of returns; postage, fees and adjustments excluded.",
    )
    cols[1].metric(
        "Tracked",
        number(tracked),
        f"{percent(share(tracked, total))} of revenue",
        delta_color="off",
        delta_arrow="off",
        border=True,
        help="Bought by a customer the shop knew (a logged-in account).",
    )
    cols[2].metric(
        "Untracked",
        number(untracked),
        f"{percent(share(untracked, total))} of revenue",
        delta_color="off",
        delta_arrow="off",
        border=True,
        help="Guest checkouts and lines without a customer id.",
    )
    cols[3].metric(
        "Recovered by resolution",
        number(recovered),
        f"{percent(share(recovered, untracked))} of untracked",
        delta_color="off",
        delta_arrow="off",
        border=True,
        help="Untracked revenue that resolution tied to a customer who has other "
        "records (an account, a CRM entry or other checkouts).",
    )
    parts = ["tracked", "recovered by resolution", "untracked, not recovered"]
    long = pd.DataFrame(
        {
            "month": months["month"],
            parts[0]: months["tracked"],
            parts[1]: months["recovered"],
            parts[2]: months["untracked"] - months["recovered"],
        }
    ).melt("month", var_name="revenue", value_name="amount")
    long["stack"] = long["revenue"].map(parts.index)
    chart = (
        alt.Chart(long, title="Net product revenue by month")
        .mark_bar()
        .encode(
            x=alt.X("month:O", title=None),
            y=alt.Y("sum(amount):Q", title="net revenue"),
            color=alt.Color(
                "revenue:N",
                sort=parts,
                scale=alt.Scale(domain=parts, range=["#1f4e8c", "#6fa8dc", "#e06666"]),
                legend=alt.Legend(orient="top", title=None),
            ),
            order=alt.Order("stack:Q"),
            tooltip=["month", "revenue", alt.Tooltip("amount:Q", format=",.0f")],
        )
        .properties(height=300)
    )
    st.altair_chart(chart, width="stretch")

# -- spend and risk ---------------------------------------------------------------------------
st.subheader("Spend and risk")
if need(path, T.CUSTOMER_FEATURES, what="Spend and orders per customer"):
    buyers = queries.buyer_averages(path).iloc[0]
    cols = st.columns(4)
    cols[0].metric(
        "Average net spend",
        number(buyers["mean_spend"], 2),
        border=True,
        help=f"Per customer with a purchase; median {number(buyers['median_spend'], 2)}.",
    )
    cols[1].metric(
        "Average orders",
        number(buyers["mean_orders"], 2),
        border=True,
        help=f"Per customer with a purchase; median {number(buyers['median_orders'])}.",
    )
    risk = queries.risk_summary(path) if has(path, T.ACTIONS, T.CHURN) else None
    if risk is not None and risk.empty:
        st.caption("No customer has a churn score yet.")
    elif need(path, T.ACTIONS, T.CHURN, what="Revenue at risk") and risk is not None:
        horizon = int(risk["horizon_days"].iloc[0])
        high = risk[risk["risk_band"] == "high"]
        cols[2].metric(
            f"At risk, next {horizon} days",
            number(risk["value_at_risk"].sum()),
            border=True,
            help="Sum over customers of P(no purchase in the horizon) x the CLV model's "
            "expected value over it: what churn would cost.",
        )
        cols[3].metric(
            "High-risk customers",
            number(high["customers"].sum()),
            f"{percent(share(high['customers'].sum(), risk['customers'].sum()))} of buyers",
            delta_color="off",
            delta_arrow="off",
            border=True,
            help="Risk band 'high' of the calibrated churn model.",
        )
        chart = (
            alt.Chart(risk, title="Value at risk by churn-risk band")
            .mark_bar()
            .encode(
                x=alt.X("value_at_risk:Q", title="value at risk"),
                y=alt.Y("risk_band:N", sort=list(risk["risk_band"]), title="churn risk"),
                color=alt.Color(
                    "risk_band:N",
                    legend=None,
                    scale=alt.Scale(
                        domain=["low", "medium", "high"], range=["#6aa84f", "#f1c232", "#cc4125"]
                    ),
                ),
                tooltip=[
                    "risk_band",
                    alt.Tooltip("customers:Q", format=","),
                    alt.Tooltip("value_at_risk:Q", format=",.0f"),
                ],
            )
            .properties(height=alt.Step(36))
        )
        st.altair_chart(chart, width="stretch")
