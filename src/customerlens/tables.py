"""Names of the warehouse tables, in one place (stages never spell them out themselves)."""

from __future__ import annotations

from typing import Final

ACCOUNTS: Final = "accounts"
CRM: Final = "crm"
TRANSACTIONS: Final = "transactions"
#: one identity record per guest session (all guest rows sharing a session_id)
GUEST_SESSIONS: Final = "guest_sessions"
#: every identity record of every source in one shape: what resolution reads
RECORDS: Final = "records"
#: input rows that could not be used, with the reason; nothing is dropped silently
REJECTED: Final = "rejected"
#: kept rows with a value that could not be parsed and was set to null (value kept here)
DATA_QUALITY: Final = "data_quality"
RUN_METADATA: Final = "run_metadata"

# resolve
#: every identity record exactly once: source, record_id, customer_id, match_probability, tier
RECORD_CUSTOMER: Final = "record_customer"
#: one golden record per customer
CUSTOMERS: Final = "customers"
#: scored candidate pairs above a floor, with comparison levels (gamma_*) and weights (mw_*)
MATCH_PAIRS: Final = "match_pairs"
#: pairs in the review band whose records ended in different customers
REVIEW_QUEUE: Final = "review_queue"
#: customers the consensus pass merged: a record of each side, the probability of their
#: consensus records and the fields that decided it (resolve/consensus.py)
CONSENSUS_LINKS: Final = "consensus_links"
#: every comparison level of the trained model: field, gamma, label, m, u, weight
MATCH_LEVELS: Final = "match_levels"
#: the trained match model (Splink settings JSON), for real-time matching and audits
MATCH_MODEL: Final = "match_model"
#: every record's standardised match keys, as the match model reads them: the index that
#: real-time matching (``customerlens serve``) looks candidates up in
MATCH_INDEX: Final = "match_index"
#: records added through the API (``POST /v1/match?commit=true``); ingest keeps them in ``records``
API_RECORDS: Final = "api_records"
#: human decisions on pairs (accept / reject), read by the next resolve
LABELS: Final = "labels"
#: how customer ids moved between runs: kept, merged, split, new, retired
CUSTOMER_ID_HISTORY: Final = "customer_id_history"

ROLES: Final = (ACCOUNTS, CRM, TRANSACTIONS)

# features and models
#: every transaction line with its order, net amount, kind (product / non-product), whether the
#: shop knew the customer, and the resolved customer
SALES: Final = "sales"
#: one row per customer: behaviour up to the data's end (see features/customer.py)
CUSTOMER_FEATURES: Final = "customer_features"
#: revenue by month: total, non-product, tracked, untracked, recovered by resolution
REVENUE_GAP: Final = "revenue_gap"
#: recency, frequency, monetary value, their 1-5 scores and the named RFM segment
RFM: Final = "rfm"
#: expected purchases and value over the horizon, with intervals (BG/NBD or Pareto/NBD,
#: Gamma-Gamma)
CLV: Final = "clv"
#: P(no purchase in the horizon) per customer, calibrated, with its risk band
CHURN: Final = "churn"
#: the churn model's out-of-time evaluation: per customer at the cutoff, P(churn), the outcome,
#: and the CLV model's scores (reliability curves, segment transitions)
CHURN_EVALUATION: Final = "churn_evaluation"

# segments and actions
#: per customer: behavioural segment, its name, membership probability, outlier flag, PCA x/y
SEGMENTS: Final = "segments"
#: per segment: size, feature means / medians, name, persona, action
SEGMENT_PROFILES: Final = "segment_profiles"
#: customers moving between segments from the evaluation cutoff to the last day
SEGMENT_TRANSITIONS: Final = "segment_transitions"
#: top 10 look-alike customers per customer (cosine on scaled features)
LOOKALIKES: Final = "lookalikes"
#: top 10 product recommendations per customer, already-bought items filtered
RECOMMENDATIONS: Final = "recommendations"
#: isolation-forest anomaly score per customer, with the most extreme features as reason
ANOMALIES: Final = "anomalies"
#: per customer: the strategy rule that applies, its action, value at risk and rank
ACTIONS: Final = "actions"
