"""Clustering quality against ground truth, counted from the contingency table.

Pairs are never listed: with ``n_ij`` records of true person *i* in predicted customer *j*,
true-positive pairs are ``sum C(n_ij, 2)``, predicted pairs ``sum_j C(n_j, 2)`` and true pairs
``sum_i C(n_i, 2)``; B-cubed precision is ``sum n_ij^2 / n_j / N`` and recall
``sum n_ij^2 / n_i / N``. A million records evaluate in about a second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from customerlens.errors import IngestError
from customerlens.warehouse import quote_literal

TRUTH_COLUMNS = ("source", "record_id", "person_id")
PRED_COLUMNS = ("source", "record_id", "customer_id")


def _read(con: duckdb.DuckDBPyConnection, path: Path, name: str, needed: tuple[str, ...]) -> None:
    if not path.exists():
        raise IngestError(f"{name} file {path} does not exist.")
    con.execute(
        f"CREATE TEMP TABLE {name} AS SELECT * FROM read_csv({quote_literal(str(path))}, "
        "all_varchar = true, header = true)"
    ).fetchall()
    found = [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()]
    missing = [c for c in needed if c not in found]
    if missing:
        raise IngestError(
            f"{path} lacks column(s) {', '.join(missing)}; it has {', '.join(found)}. "
            f"A {name} file needs {', '.join(needed)}."
        )


def evaluate_files(truth: Path, pred: Path) -> dict[str, Any]:
    """Compare ``record_customer.csv`` (``pred``) with ``truth.csv``; see :func:`evaluate`."""
    con = duckdb.connect()
    try:
        _read(con, truth, "truth", TRUTH_COLUMNS)
        _read(con, pred, "pred", PRED_COLUMNS)
        return evaluate(con, "truth", "pred")
    finally:
        con.close()


def evaluate(con: duckdb.DuckDBPyConnection, truth: str, pred: str) -> dict[str, Any]:
    """Pairwise and B-cubed precision / recall / F1, customer counts and missing records.

    Truth records absent from the prediction count as customers of their own (and are
    reported in ``records_missing``); predicted records absent from the truth are ignored
    (reported in ``records_not_in_truth``).
    """
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE __joined AS
        SELECT t.person_id,
               coalesce(p.customer_id, '__missing:' || t.source || ':' || t.record_id) AS cid,
               p.customer_id IS NULL AS missing
        FROM {truth} t LEFT JOIN {pred} p USING (source, record_id)
    """).fetchall()
    row = con.execute("""
        WITH cells AS (SELECT person_id, cid, count(*)::DOUBLE AS n FROM __joined GROUP BY ALL),
             persons AS (SELECT person_id, sum(n) AS n_i FROM cells GROUP BY 1),
             customers AS (SELECT cid, sum(n) AS n_j FROM cells GROUP BY 1),
             full_cells AS (
                SELECT c.n, p.n_i, k.n_j FROM cells c
                JOIN persons p USING (person_id) JOIN customers k USING (cid))
        SELECT sum(n) AS records,
               sum(n * (n - 1) / 2) AS tp,
               (SELECT sum(n_i * (n_i - 1) / 2) FROM persons) AS true_pairs,
               (SELECT sum(n_j * (n_j - 1) / 2) FROM customers) AS pred_pairs,
               sum(n * n / n_j) AS b3p, sum(n * n / n_i) AS b3r,
               (SELECT count(*) FROM persons) AS true_customers,
               (SELECT count(*) FROM customers) AS predicted_customers
        FROM full_cells
    """).fetchall()[0]
    records, tp, true_pairs, pred_pairs, b3p, b3r, n_true, n_pred = row
    missing = con.execute("SELECT count(*) FROM __joined WHERE missing").fetchall()[0][0]
    extra = con.execute(
        f"SELECT count(*) FROM {pred} p ANTI JOIN {truth} t USING (source, record_id)"
    ).fetchall()[0][0]
    if not records:
        raise IngestError("The truth file has no records to evaluate.")
    precision = tp / pred_pairs if pred_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    b3_precision, b3_recall = b3p / records, b3r / records
    return {
        "records": int(records),
        "pairwise": _prf(precision, recall),
        "bcubed": _prf(b3_precision, b3_recall),
        "true_pairs": int(true_pairs),
        "predicted_pairs": int(pred_pairs),
        "true_positive_pairs": int(tp),
        "true_customers": int(n_true),
        "predicted_customers": int(n_pred),
        "relative_count_error": round((n_pred - n_true) / n_true, 6),
        "records_missing": int(missing),
        "records_not_in_truth": int(extra),
    }


def _prf(precision: float, recall: float) -> dict[str, float]:
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 6), "recall": round(recall, 6), "f1": round(f1, 6)}
