"""Customer 360: find a customer; golden record, records, purchases, value, risk, next action."""

from __future__ import annotations

import json
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from customerlens import tables as T
from customerlens.dashboard import queries
from customerlens.dashboard.views.common import current_path, has, need, number, percent

GOLDEN = ("first_name", "surname", "email", "phone", "postcode", "address", "date_of_birth")

path = current_path()
st.title("Customer 360")
if not need(path, T.CUSTOMERS, T.RECORD_CUSTOMER, what="Resolved customers"):
    st.stop()

# -- find the customer ------------------------------------------------------------------------
if "customer_search" not in st.session_state:  # a link may name the customer: ?customer=ID
    st.session_state["customer_search"] = st.query_params.get("customer", "")
term = st.text_input(
    "Search by customer id, account / CRM / session id, name or email",
    key="customer_search",
    placeholder="e.g. CL-0002459bf9801180, A0000218, Jane Smith, jane@",
).strip()
found = queries.search_customers(path, term) if term else queries.priority_customers(path)
if found.empty:
    st.warning(f"No customer matches {term!r}.")
    st.stop()
labels = {
    str(r["customer_id"]): f"{r['customer_id']} · {r['first_name'] or ''} {r['surname'] or ''} · "
    f"{r['email'] or '—'}"
    for r in found.to_dict("records")
}
customer_id = str(
    st.selectbox(
        f"{len(found)} match(es)"
        if term
        else "Or pick one of the customers with the most value at risk",
        list(labels),
        format_func=labels.__getitem__,
    )
)
st.query_params["customer"] = customer_id


def row(table: str) -> dict[str, Any] | None:
    return queries.customer_row(path, table, customer_id) if has(path, table) else None


golden = row(T.CUSTOMERS) or {}
features, rfm, clv = row(T.CUSTOMER_FEATURES), row(T.RFM), row(T.CLV)
churn, segment, action = row(T.CHURN), row(T.SEGMENTS), row(T.ACTIONS)
anomaly = row(T.ANOMALIES)
st.header(f"{golden.get('first_name') or ''} {golden.get('surname') or ''}".strip() or customer_id)
badges = [f"`{customer_id}`"]
if segment:
    badges.append(
        f":blue-badge[segment: {segment['segment_name']}] "
        f"(membership {percent(segment['membership_probability'], 0)})"
    )
if rfm:
    badges.append(f":violet-badge[RFM: {rfm['segment']}]")
if churn:
    colour = {"high": "red", "medium": "orange"}.get(str(churn["risk_band"]), "green")
    badges.append(f":{colour}-badge[{churn['risk_band']} churn risk]")
st.markdown(" ".join(badges))

# -- headline ---------------------------------------------------------------------------------
cols = st.columns(4)
if features:
    cols[0].metric(
        "Net spend",
        number(features["net_spend"]),
        border=True,
        help=f"{features['orders']} orders, last {features['recency_days']} days ago.",
    )
if clv:
    cols[1].metric(
        f"CLV, next {clv['horizon_days']} days",
        number(clv["expected_value"], 2),
        f"90%: {number(clv['expected_value_low'])}–{number(clv['expected_value_high'])}",
        delta_color="off",
        delta_arrow="off",
        border=True,
        help="Expected value of purchases over the horizon, with its 90% interval.",
    )
if churn:
    cols[2].metric(
        "P(churn)",
        percent(churn["p_churn"]),
        f"{churn['risk_band']} risk",
        delta_color="off",
        delta_arrow="off",
        border=True,
        help=f"P(no purchase in the next {churn['horizon_days']} days), calibrated.",
    )
if action:
    cols[3].metric(
        "Priority",
        f"#{action['rank']:,}",
        border=True,
        help=f"Rank by value at risk ({number(action['value_at_risk'], 2)}).",
    )
if features is None and has(path, T.CUSTOMER_FEATURES):
    st.info("This customer has no purchase: value, risk and segment need one.")

if action:
    st.success(f"**Next action: {action['action']}** — {action['why']}", icon=":material/flag:")
if anomaly and anomaly.get("is_anomaly"):
    st.warning(f"Unusual customer: {anomaly['reason']}", icon=":material/warning:")

# -- identity ---------------------------------------------------------------------------------
left, right = st.columns([2, 3])
with left:
    st.subheader("Golden record")
    provenance = json.loads(golden["provenance"]) if golden.get("provenance") else {}
    st.dataframe(
        pd.DataFrame(
            {
                "field": list(GOLDEN),
                "value": [None if pd.isna(golden.get(f)) else str(golden.get(f)) for f in GOLDEN],
                "from record": [provenance.get(f) for f in GOLDEN],
            }
        ),
        hide_index=True,
    )
    st.caption(
        f"{golden.get('records', 0)} record(s): {golden.get('accounts', 0)} account(s), "
        f"{golden.get('crm_entries', 0)} CRM entr(ies), {golden.get('guest_sessions', 0)} "
        f"guest checkout(s); first seen {golden.get('first_seen')}, last {golden.get('last_seen')}."
    )
with right:
    st.subheader("Linked records")
    st.dataframe(queries.linked_records(path, customer_id), hide_index=True)

if not need(
    path,
    T.CUSTOMER_FEATURES,
    T.SALES,
    what="Purchases, RFM, value, risk, look-alikes and recommendations",
):
    st.stop()

# -- purchases --------------------------------------------------------------------------------
st.subheader("Purchases")
orders = queries.purchase_timeline(path, customer_id)
if orders.empty:
    st.caption("No product purchase.")
else:
    orders["bought as"] = orders["tracked"].map({True: "account", False: "guest"})
    st.altair_chart(
        alt.Chart(orders)
        .mark_bar(size=8)
        .encode(
            x=alt.X("day:T", title=None, axis=alt.Axis(format="%b %Y")),
            y=alt.Y("amount:Q", title="net amount"),
            color=alt.Color("bought as:N", legend=alt.Legend(orient="top")),
            tooltip=["day:T", "order_id", "lines", alt.Tooltip("amount:Q", format=",.2f")],
        )
        .properties(height=220),
        width="stretch",
    )
    with st.expander(f"{len(orders)} order(s)"):
        st.dataframe(orders, hide_index=True)

# -- value and risk ---------------------------------------------------------------------------
value, risk = st.columns(2)
with value:
    st.subheader("RFM and lifetime value")
    if not (rfm or clv):
        st.caption("No purchase to value.")
    if rfm:
        st.markdown(
            f"RFM segment **{rfm['segment']}**: R {rfm['r_score']}, F {rfm['f_score']}, "
            f"M {rfm['m_score']} (recency {rfm['recency']} days, {rfm['frequency']} orders, "
            f"{number(rfm['monetary'], 2)} spent)"
        )
    if clv:
        st.markdown(
            f"Over the next {clv['horizon_days']} days: **{clv['expected_purchases']:.2f}** "
            f"purchases expected (90% interval {clv['expected_purchases_low']:.0f}–"
            f"{clv['expected_purchases_high']:.0f}), worth **{number(clv['expected_value'], 2)}** "
            f"({number(clv['expected_value_low'], 2)}–{number(clv['expected_value_high'], 2)}); "
            f"P(no purchase) {percent(clv['p_no_purchase'])}."
        )
with risk:
    st.subheader("Churn risk")
    if not churn:
        st.caption("No purchase to assess.")
    if churn:
        st.markdown(
            f"P(no purchase in the next {churn['horizon_days']} days) = "
            f"**{percent(churn['p_churn'])}** ({churn['risk_band']} risk); the value model "
            f"expects {number(churn['predicted_spend'], 2)} of spend."
        )
        if has(path, T.CHURN_EVALUATION):
            bands = queries.churn_calibration(path)
            band = min(int(churn["p_churn"] * 10), 9)
            match = bands[bands["band"] == band]
            if not match.empty:
                b = match.iloc[0]
                st.markdown(
                    f"Calibrated confidence: of the {b['customers']:,} customers the model scored "
                    f"{band / 10:.1f}–{(band + 1) / 10:.1f} at the evaluation cutoff "
                    f"({pd.Timestamp(b['cutoff']):%Y-%m-%d}), **{percent(b['observed'])}** did "
                    f"not buy in the next {churn['horizon_days']} days (predicted "
                    f"{percent(b['predicted'])})."
                )
if segment and has(path, T.SEGMENT_PROFILES):
    profile = queries.segment_profiles(path)
    persona = profile.loc[profile["segment"] == segment["segment"], "persona"]
    if len(persona):
        st.markdown(f"**{segment['segment_name']}**: {persona.iloc[0]}")

# -- look-alikes and recommendations ----------------------------------------------------------
alike, recommend = st.columns(2)
with alike:
    st.subheader("Look-alikes")
    if need(path, T.LOOKALIKES, what="Look-alikes"):
        st.dataframe(queries.lookalikes(path, customer_id), hide_index=True)
with recommend:
    st.subheader("Recommendations")
    if need(path, T.RECOMMENDATIONS, what="Recommendations"):
        recs = queries.recommendations(path, customer_id)
        if recs.empty:
            st.caption("None for this customer.")
        st.dataframe(recs.dropna(axis="columns", how="all"), hide_index=True)
