"""Human decisions on pairs: the ``labels`` table, a labels file, and how they bind.

A reviewer's *match* links the two records whatever the model says; a *non-match* forbids
them from sharing a customer, even through other records. Decisions are keyed by the two
records (``source:record_id``), so they survive re-runs and re-scoring.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from customerlens.errors import IngestError
from customerlens.tables import LABELS
from customerlens.warehouse import DuckDBWarehouse

MATCH, NON_MATCH = "match", "non_match"
_ALIASES = {
    "match": MATCH,
    "accept": MATCH,
    "accepted": MATCH,
    "1": MATCH,
    "yes": MATCH,
    "true": MATCH,
    "non_match": NON_MATCH,
    "reject": NON_MATCH,
    "rejected": NON_MATCH,
    "0": NON_MATCH,
    "no": NON_MATCH,
    "false": NON_MATCH,
    "nonmatch": NON_MATCH,
}
LABEL_COLUMNS = ("pair_id", "unique_id_l", "unique_id_r", "label", "decided_at", "decided_by")


def ensure_labels_table(wh: DuckDBWarehouse) -> None:
    if not wh.has_table(LABELS):
        wh.execute(
            f"CREATE TABLE {LABELS} (pair_id VARCHAR, unique_id_l VARCHAR, unique_id_r VARCHAR, "
            "label VARCHAR, decided_at TIMESTAMP, decided_by VARCHAR)"
        )


def record_decision(
    wh: DuckDBWarehouse,
    unique_id_l: str,
    unique_id_r: str,
    label: str,
    who: str = "cli",
    pair_id: str | None = None,
) -> str:
    """Store one decision (the latest decision on a pair wins); returns the normalised label."""
    normalised = _ALIASES.get(label.strip().lower())
    if normalised is None:
        raise IngestError(f"label {label!r} is neither accept/match nor reject/non_match.")
    ensure_labels_table(wh)
    left, right = sorted((unique_id_l, unique_id_r))
    wh.execute(
        f"INSERT INTO {LABELS} VALUES (?, ?, ?, ?, ?, ?)",
        [pair_id, left, right, normalised, dt.datetime.now(dt.UTC).replace(tzinfo=None), who],
    )
    return normalised


def import_labels_file(wh: DuckDBWarehouse, path: Path) -> int:
    """Add a CSV of pairs (unique_id_l, unique_id_r, label) to the labels table."""
    if not path.exists():
        raise IngestError(f"labels file {path} does not exist.")
    df = pd.read_csv(path, dtype=str)
    missing = [c for c in ("unique_id_l", "unique_id_r", "label") if c not in df.columns]
    if missing:
        raise IngestError(
            f"{path} lacks column(s) {missing}; it needs unique_id_l, unique_id_r (as "
            "source:record_id) and label (match / non_match)."
        )
    for n, row in enumerate(df.itertuples(index=False), start=1):
        try:
            record_decision(
                wh, str(row.unique_id_l), str(row.unique_id_r), str(row.label), who=path.name
            )
        except IngestError as exc:
            raise IngestError(f"{path}, row {n}: {exc}") from exc
    return len(df)


def latest_labels(wh: DuckDBWarehouse) -> pd.DataFrame:
    """The latest decision per pair: unique_id_l, unique_id_r, label."""
    if not wh.has_table(LABELS):
        return pd.DataFrame(columns=["unique_id_l", "unique_id_r", "label"])
    return wh.query_df(
        f"SELECT unique_id_l, unique_id_r, arg_max(label, decided_at) AS label "
        f"FROM {LABELS} GROUP BY ALL"
    )
