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

ROLES: Final = (ACCOUNTS, CRM, TRANSACTIONS)
