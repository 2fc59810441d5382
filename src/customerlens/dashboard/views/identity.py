"""Identity: what resolution merged, per source and tier, a customer's records, and review."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from customerlens import tables as T
from customerlens.dashboard import queries
from customerlens.dashboard.views.common import current_path, need, number

PAIRS_PER_PAGE = 5

path = current_path()
st.title("Identity")

if not need(path, T.RECORD_CUSTOMER, T.CUSTOMERS, what="Identity resolution"):
    st.stop()

# -- what resolution merged -------------------------------------------------------------------
merges = queries.merges_by_source(path)
records, customers = int(merges["records"].sum()), queries.customer_count(path)
cols = st.columns(4)
cols[0].metric("Identity records", number(records), border=True)
cols[1].metric("Customers", number(customers), border=True)
cols[2].metric(
    "Records merged away",
    number(records - customers),
    border=True,
    help="Records that joined another record's customer: duplicates within a source "
    "and links across sources.",
)
if T.REVIEW_QUEUE in queries.tables(path):
    counts = queries.review_counts(path)
    cols[3].metric(
        "Pairs awaiting review",
        number(counts["open"]),
        border=True,
        help=f"{counts['queued']:,} in the queue, {counts['decided']:,} decided.",
    )

st.subheader("Duplicates merged per source")
st.dataframe(
    merges,
    hide_index=True,
    height="content",
    column_config={
        "source": "source",
        "records": st.column_config.NumberColumn("records", format="localized"),
        "customers": st.column_config.NumberColumn("customers they became", format="localized"),
        "duplicates_merged": st.column_config.NumberColumn(
            "duplicates merged",
            format="localized",
            help="Records of this source that share a customer with another record of it.",
        ),
        "linked_to_other_sources": st.column_config.NumberColumn(
            "linked to other sources",
            format="localized",
            help="Records whose customer also has records from another source.",
        ),
        "tier_auto": st.column_config.NumberColumn("tier auto", format="localized"),
        "tier_review": st.column_config.NumberColumn("tier review", format="localized"),
        "tier_single": st.column_config.NumberColumn("tier single", format="localized"),
    },
)
tiers = (
    merges[["source", "tier_auto", "tier_review", "tier_single"]]
    .melt("source", var_name="tier", value_name="records")
    .assign(tier=lambda d: d["tier"].str.removeprefix("tier_"))
)
st.altair_chart(
    alt.Chart(
        tiers,
        title="Records per tier (auto: merged above the threshold; review: linked "
        "in the review band; single: alone)",
    )
    .mark_bar()
    .encode(
        x=alt.X("records:Q", stack="zero"),
        y=alt.Y("source:N", title=None),
        color=alt.Color(
            "tier:N", sort=["auto", "review", "single"], legend=alt.Legend(orient="top", title=None)
        ),
        tooltip=["source", "tier", alt.Tooltip("records:Q", format=",")],
    )
    .properties(height=alt.Step(32)),
    width="stretch",
)

# -- one customer's records -------------------------------------------------------------------
st.subheader("A customer's linked records")
largest = queries.largest_customers(path)
chosen = st.text_input(
    "Customer id",
    value=str(largest["customer_id"].iloc[0]) if len(largest) else "",
    help="Prefilled with the customer who has the most records; search any customer on the "
    "Customer 360 page.",
).strip()
if chosen:
    linked = queries.linked_records(path, chosen)
    if linked.empty:
        st.warning(f"No customer {chosen!r} in this warehouse.")
    else:
        st.caption(f"{len(linked):,} record(s) resolved into {chosen}.")
        st.dataframe(linked, hide_index=True)
with st.expander("Customers with the most records"):
    st.dataframe(largest, hide_index=True)

# -- review queue -----------------------------------------------------------------------------
st.subheader("Review queue")
if not need(path, T.REVIEW_QUEUE, T.MATCH_PAIRS, T.MATCH_LEVELS, what="The review queue"):
    st.stop()


def _decide(pair: dict[str, Any], decision: str) -> None:
    reviewer = st.session_state.get("reviewer") or "dashboard"
    label = queries.decide(path, pair, decision, reviewer)
    st.session_state["last_decision"] = (pair["pair_id"], label)


counts = queries.review_counts(path)
st.caption(
    f"{counts['open']:,} of {counts['queued']:,} uncertain pairs of customers await a decision "
    f"({counts['decided']:,} decided). Each is shown by its strongest pair of records; "
    "decisions go to the `labels` table and apply at the next `customerlens resolve`."
)
if "last_decision" in st.session_state:
    pair_id, label = st.session_state["last_decision"]
    st.success(f"Pair {pair_id}: stored as {label}.", icon=":material/check:")
left, right = st.columns([1, 3])
left.text_input("Reviewer", value="dashboard", key="reviewer")
pages = max(1, -(-counts["open"] // PAIRS_PER_PAGE))
page = left.number_input("Page", min_value=1, max_value=pages, value=1, step=1)
queue = queries.review_page(path, (int(page) - 1) * PAIRS_PER_PAGE, PAIRS_PER_PAGE)
if queue.empty:
    right.info("Nothing to review: every uncertain pair has a decision.")
for pair in queue.to_dict("records"):
    with right.container(border=True):
        st.markdown(
            f"**Pair `{pair['pair_id']}`** · P(same person) = {pair['decision_probability']:.3f} "
            f"(match model {pair['match_probability']:.3f}) · {pair['record_pairs']} record "
            "pair(s) between the two customers"
            + (" · :orange[conflicting fields]" if pair["conflict"] else "")
        )
        sides = st.columns(2)
        for side, suffix in zip(sides, ("l", "r"), strict=True):
            side.markdown(
                f"`{pair[f'unique_id_{suffix}']}` → customer `{pair[f'customer_id_{suffix}']}`  \n"
                f"{pair[f'name_{suffix}'] or '(no name)'} · {pair[f'records_{suffix}']} record(s)"
            )
        evidence = queries.pair_evidence(path, pair["unique_id_l"], pair["unique_id_r"])
        # a static table: small, and lighter for the browser than a data grid per pair
        st.table(
            evidence.assign(
                weight=evidence["weight"].map(lambda w: "" if pd.isna(w) else f"{w:+.1f}")
            ).rename(columns={"left": pair["unique_id_l"], "right": pair["unique_id_r"]}),
            hide_index=True,
        )
        buttons = st.container(horizontal=True)
        buttons.button(
            "Accept: same person",
            key=f"accept-{pair['pair_id']}",
            type="primary",
            on_click=_decide,
            args=(pair, "accept"),
            icon=":material/check:",
        )
        buttons.button(
            "Reject: different people",
            key=f"reject-{pair['pair_id']}",
            on_click=_decide,
            args=(pair, "reject"),
            icon=":material/close:",
        )

if T.LABELS in queries.tables(path):
    with st.expander("Recent decisions"):
        st.dataframe(queries.recent_labels(path), hide_index=True)
