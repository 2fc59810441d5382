"""Target list: customers by segment, risk and value; the full intelligence report as CSV."""

from __future__ import annotations

import functools

import streamlit as st

from customerlens import tables as T
from customerlens.dashboard import queries
from customerlens.dashboard.views.common import current_path, has, need, number

#: columns shown first in the table (the CSV holds every column)
LEAD = (
    "priority",
    "customer_id",
    "first_name",
    "surname",
    "segment_name",
    "risk_band",
    "p_churn",
    "clv_expected_value",
    "value_at_risk",
    "action",
)

path = current_path()
st.title("Target list")
if not need(path, T.CUSTOMER_FEATURES, what="The customer intelligence report"):
    st.stop()
options = queries.target_options(path)

# -- filters ----------------------------------------------------------------------------------
cols = st.columns(3)
segments = cols[0].multiselect(
    "Segment", options["segments"], placeholder="every segment", disabled=not options["segments"]
)
bands = cols[1].multiselect(
    "Churn-risk band",
    options["risk_bands"],
    placeholder="every band",
    disabled=not options["risk_bands"],
)
actions = cols[2].multiselect(
    "Action", options["actions"], placeholder="every action", disabled=not options["actions"]
)
ranges = st.columns(2)
p_churn = ranges[0].slider(
    "P(churn)",
    0.0,
    1.0,
    (0.0, 1.0),
    step=0.05,
    disabled=not has(path, T.CHURN),
    help="Calibrated probability of no purchase in the horizon.",
)
value = ranges[1].slider(
    "Value percentile (CLV expected value)",
    0,
    100,
    (0, 100),
    step=5,
    disabled=not has(path, T.CLV),
    help="100 = the most valuable customer.",
)
flt = queries.TargetFilter(
    segments=tuple(segments),
    risk_bands=tuple(bands),
    actions=tuple(actions),
    p_churn=(float(p_churn[0]), float(p_churn[1])),
    value_percentile=(float(value[0]), float(value[1])),
)

# -- the list ---------------------------------------------------------------------------------
summary = queries.target_summary(path, flt)
figures = st.columns(3)
figures[0].metric("Customers", number(summary["customers"]), border=True)
if has(path, T.CLV):
    figures[1].metric(
        "CLV expected value",
        number(summary["clv"]),
        border=True,
        help="Sum of the CLV model's expected value over the horizon.",
    )
if has(path, T.ACTIONS):
    figures[2].metric(
        "Value at risk",
        number(summary["value_at_risk"]),
        border=True,
        help="Sum of P(churn) x CLV expected value.",
    )
missing = [t for t in (T.SEGMENTS, T.CHURN, T.CLV, T.ACTIONS) if not has(path, t)]
if missing:
    need(path, *missing, what="Segments, risk, value and actions")

rows = queries.target_rows(path, flt)
lead = [c for c in LEAD if c in rows.columns]
st.dataframe(
    rows,
    hide_index=True,
    height=420,
    column_order=lead + [c for c in rows.columns if c not in lead],
    column_config={
        "p_churn": st.column_config.ProgressColumn(
            "P(churn)", min_value=0, max_value=1, format="percent"
        ),
        "clv_expected_value": st.column_config.NumberColumn("CLV", format="%.2f"),
        "value_at_risk": st.column_config.NumberColumn("value at risk", format="%.2f"),
    },
)
shown = f"the first {len(rows):,} shown" if len(rows) < summary["customers"] else "all shown"
st.caption(f"{int(summary['customers']):,} customers ({shown}), highest priority first.")
st.download_button(
    f"Download the intelligence report (CSV, {int(summary['customers']):,} customers)",
    data=functools.partial(queries.report_csv, queries.open_lens(path), queries.tables(path), flt),
    file_name="customerlens_target_list.csv",
    mime="text/csv",
    on_click="ignore",
    icon=":material/download:",
    type="primary",
    disabled=not summary["customers"],
)
st.caption(
    "One row per customer: contact, segment, RFM, predicted value with its interval, churn "
    "risk with the observed churn rate of its score band (calibration), action and why, "
    "anomaly flag, and every behavioural feature."
)
