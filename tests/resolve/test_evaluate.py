"""Evaluation metrics from the contingency table, checked against pair enumeration."""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from customerlens.errors import IngestError
from customerlens.resolve.evaluate import evaluate_files


def _write(tmp_path: Path, truth: list[str], pred: list[str | None]) -> tuple[Path, Path]:
    ids = [str(i) for i in range(len(truth))]
    t = pd.DataFrame({"source": "accounts", "record_id": ids, "person_id": truth})
    p = pd.DataFrame({"source": "accounts", "record_id": ids, "customer_id": pred}).dropna()
    t.to_csv(tmp_path / "truth.csv", index=False)
    p.to_csv(tmp_path / "pred.csv", index=False)
    return tmp_path / "truth.csv", tmp_path / "pred.csv"


def _pairs(labels: list[str]) -> set[tuple[int, int]]:
    return {
        (i, j) for i, j in itertools.combinations(range(len(labels)), 2) if labels[i] == labels[j]
    }


def test_hand_computed_example(tmp_path: Path) -> None:
    # persons: A A A B B C ; predicted: x x y y y z
    truth, pred = _write(tmp_path, list("AAABBC"), list("xxyyyz"))
    result = evaluate_files(truth, pred)
    # true pairs: 3 (A) + 1 (B) = 4; predicted: 1 (x) + 3 (y) = 4; common: (0,1) and (3,4)
    assert result["true_pairs"] == 4
    assert result["predicted_pairs"] == 4
    assert result["true_positive_pairs"] == 2
    assert result["pairwise"]["precision"] == 0.5
    assert result["pairwise"]["recall"] == 0.5
    assert result["true_customers"] == 3
    assert result["predicted_customers"] == 3
    assert result["relative_count_error"] == 0.0
    # B-cubed precision: x: 2 records 2/2 each; y: A 1/3, B 2/3 x2; z: 1 -> (1+1+1/3+2/3+2/3+1)/6
    assert result["bcubed"]["precision"] == pytest.approx(
        (1 + 1 + 1 / 3 + 2 / 3 + 2 / 3 + 1) / 6, abs=1e-6
    )


def test_missing_records_are_counted_and_kept_apart(tmp_path: Path) -> None:
    truth, pred = _write(tmp_path, list("AAB"), ["x", None, "y"])
    result = evaluate_files(truth, pred)
    assert result["records_missing"] == 1
    assert result["pairwise"]["recall"] == 0.0  # the A pair is lost with the missing record


def test_bad_files(tmp_path: Path) -> None:
    truth, pred = _write(tmp_path, list("AB"), ["x", "y"])
    with pytest.raises(IngestError, match="does not exist"):
        evaluate_files(tmp_path / "nope.csv", pred)
    pd.DataFrame({"source": ["a"], "id": ["1"]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(IngestError, match="customer_id"):
        evaluate_files(truth, tmp_path / "bad.csv")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("ABCDE"), st.sampled_from("vwxyz")), min_size=1, max_size=25)
)
def test_pairwise_matches_enumeration(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, str]]
) -> None:
    tmp_path = tmp_path_factory.mktemp("ev")
    truth_labels = [r[0] for r in rows]
    pred_labels = [r[1] for r in rows]
    truth, pred = _write(tmp_path, truth_labels, list(pred_labels))
    result = evaluate_files(truth, pred)
    true_pairs, pred_pairs = _pairs(truth_labels), _pairs(pred_labels)
    assert result["true_pairs"] == len(true_pairs)
    assert result["predicted_pairs"] == len(pred_pairs)
    assert result["true_positive_pairs"] == len(true_pairs & pred_pairs)
    assert 0.0 <= result["bcubed"]["f1"] <= 1.0
