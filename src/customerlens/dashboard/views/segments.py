"""Segments: sizes and spend, the PCA map, profiles, personas, strategy, transitions."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from customerlens import tables as T
from customerlens.dashboard import queries
from customerlens.dashboard.views.common import current_path, has, need, number, percent

#: profile features shown, in order, with the words used for them
FEATURES = {
    "recency_days": "days since last order",
    "orders": "orders",
    "net_spend": "net spend",
    "avg_order_value": "average order value",
    "return_share": "return share",
    "tenure_days": "days since first order",
    "orders_trend": "order trend (last 90 days vs the 90 before)",
    "distinct_categories": "categories bought",
    "distinct_products": "products bought",
    "clv_expected_value": "CLV expected value",
    "p_churn": "P(churn)",
}

path = current_path()
st.title("Segments")
if not need(path, T.SEGMENTS, T.SEGMENT_PROFILES, what="Behavioural segments"):
    st.stop()

sizes = queries.segment_sizes(path)
profiles = queries.segment_profiles(path)
sizes = sizes.assign(label=lambda d: d["segment_name"] + " (" + d["segment"].astype(str) + ")")
colour = alt.Color("label:N", title="segment", legend=alt.Legend(orient="top"))
bars_height = alt.Step(36)  # per segment

# -- distribution and spend -------------------------------------------------------------------
st.subheader("How many customers, and what they spend")
pie, bar = st.columns(2)
base = alt.Chart(sizes).encode(
    tooltip=["label", alt.Tooltip("customers:Q", format=","), alt.Tooltip("share:Q", format=".1%")]
)
pie.altair_chart(
    base.mark_arc(innerRadius=60, outerRadius=130).encode(theta="customers:Q", color=colour)
    + base.mark_text(radius=155, size=13).encode(
        theta=alt.Theta("customers:Q", stack=True),
        text=alt.Text("share:Q", format=".1%"),
    ),
    width="stretch",
)
bar.altair_chart(
    (
        base.mark_bar().encode(
            x=alt.X("customers:Q", title="customers"),
            y=alt.Y("label:N", title=None, axis=alt.Axis(labelLimit=260)),
            color=alt.Color("label:N", legend=None),
        )
        + base.mark_text(align="left", dx=4).encode(
            x="customers:Q",
            y="label:N",
            text=alt.Text("customers:Q", format=","),
        )
    ).properties(title="Customers per segment", height=bars_height),
    width="stretch",
)
if has(path, T.CUSTOMER_FEATURES):
    for column, (measure, title) in zip(
        st.columns(2),
        (("net_spend", "Net spend per segment, total"), ("mean_spend", "... and per customer")),
        strict=True,
    ):
        column.altair_chart(
            alt.Chart(sizes, title=title)
            .mark_bar()
            .encode(
                x=alt.X(f"{measure}:Q", title=None),
                y=alt.Y("label:N", title=None, axis=alt.Axis(labelLimit=260)),
                color=alt.Color("label:N", legend=None),
                tooltip=["label", alt.Tooltip(f"{measure}:Q", format=",.0f")],
            )
            .properties(height=bars_height),
            width="stretch",
        )
table = sizes[["segment", "segment_name", "customers", "share", "net_spend", "mean_spend"]]
st.dataframe(
    table.assign(share=table["share"].map(percent)),
    hide_index=True,
    column_config={
        "customers": st.column_config.NumberColumn(format="localized"),
        "net_spend": st.column_config.NumberColumn("net spend", format="localized"),
        "mean_spend": st.column_config.NumberColumn("mean spend", format="%.2f"),
    },
)

# -- the map ----------------------------------------------------------------------------------
st.subheader("The segments on a map (PCA of the scaled features)")
points = queries.pca_sample(path).merge(sizes[["segment_name", "label"]], on="segment_name")
st.caption(
    f"{len(points):,} customers"
    + (
        f", a fixed random sample of {int(sizes['customers'].sum()):,}"
        if len(points) < int(sizes["customers"].sum())
        else ""
    )
    + ". Close points buy alike."
)
st.altair_chart(
    alt.Chart(points)
    .mark_circle(size=18, opacity=0.6)
    .encode(
        x=alt.X("pca_x:Q", title="first component"),
        y=alt.Y("pca_y:Q", title="second component"),
        color=colour,
        tooltip=["customer_id", "label"],
    )
    .properties(height=420),
    width="stretch",
)

# -- profiles, personas, strategy -------------------------------------------------------------
st.subheader("Profiles, personas and strategy")
for row in profiles.to_dict("records"):
    with st.container(border=True):
        st.markdown(
            f"**{row['name']}** (segment {row['segment']}) · {number(row['size'])} customers "
            f"({percent(row['share'])})"
        )
        st.markdown(row["persona"])
        st.markdown(
            f"Recommended strategy: **{row['action']}** · value at risk "
            f"{number(row['value_at_risk'])}"
        )
present = [f for f in FEATURES if f"{f}_median" in profiles.columns]
medians = pd.DataFrame(
    {
        "feature": [FEATURES[f] for f in present],
        **{
            f"{r['name']} ({r['segment']})": [
                f"{r[f + '_median']:,.2f} (x{r[f + '_ratio']:.2f})"
                if pd.notna(r[f + "_ratio"])
                else f"{r[f + '_median']:,.2f}"
                for f in present
            ]
            for r in profiles.to_dict("records")
        },
    }
)
st.caption("Median per segment, and its mean relative to the population's mean (x1.00 = average).")
st.dataframe(medians, hide_index=True, height="content")

# -- transitions ------------------------------------------------------------------------------
st.subheader("Transitions between periods")
if need(path, T.SEGMENT_TRANSITIONS, what="Segment transitions"):
    moves = queries.segment_transitions(path)
    if moves.empty:
        st.info("No customer was in a segment at both dates.")
    else:
        first = moves.iloc[0]
        before, after = (f"{pd.Timestamp(first[c]):%Y-%m-%d}" for c in ("from_cutoff", "to_day"))
        st.caption(
            f"Segment at the evaluation cutoff ({before}) → segment on the last day ({after}); "
            "'new': no purchase yet at the cutoff, 'gone': no longer "
            "segmented."
        )
        heat = alt.Chart(moves, height=alt.Step(40)).encode(
            x=alt.X("segment_after:N", title=f"on {after}", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("segment_before:N", title=f"at {before}", axis=alt.Axis(labelLimit=260)),
        )
        st.altair_chart(
            heat.mark_rect().encode(
                color=alt.Color("customers:Q", scale=alt.Scale(scheme="blues")),
                tooltip=["segment_before", "segment_after", alt.Tooltip("customers:Q", format=",")],
            )
            + heat.mark_text(size=14).encode(
                text=alt.Text("customers:Q", format=","),
                color=alt.condition(
                    alt.datum.customers > int(moves["customers"].max()) / 2,
                    alt.value("white"),
                    alt.value("black"),
                ),
            ),
            width="stretch",
        )
        st.dataframe(
            moves.pivot_table(
                index="segment_before",
                columns="segment_after",
                values="customers",
                aggfunc="sum",
                fill_value=0,
            ).reset_index(),
            hide_index=True,
        )
