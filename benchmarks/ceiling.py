"""Where a data set's resolution ceiling is: calibration per band and oracle clusterings.

    python benchmarks/ceiling.py fake_1000
    python benchmarks/ceiling.py generated --people 20000

Runs one case of ``bench_resolve.py`` (ingest + resolve with the defaults) and joins its scored
pairs (``match_pairs``, every pair >= 0.01) to the truth:
- the share of true pairs per band of decision probability (calibration);
- the F1 of an oracle clustering that links only *true* pairs at or above a probability
  (connected components): what any clustering of these scores could reach through such pairs;
- the F1 of the default clustering when every pair is re-scored with the true m-probability of
  each level (counted from the truth; u and the prior as trained): whether EM's parameters are
  what limits it.
Figures quoted in docs/resolution.md ("Known limits", fake_1000 after session 19).
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from bench_resolve import _cases, _options, _score
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from customerlens.ingest import ingest
from customerlens.resolve.cluster import constrained_clusters
from customerlens.resolve.evaluate import evaluate
from customerlens.resolve.pipeline import resolve
from customerlens.synth import generate_shop
from customerlens.warehouse import DuckDBWarehouse

BANDS = [0.0, 0.1, 0.3, 0.5, 0.75, 0.9, 0.99, 1.0]


def _f1(truth: pd.DataFrame, ids: pd.Index, labels: np.ndarray) -> float:
    pred = pd.DataFrame(
        {
            "source": ids.str.split(":", n=1).str[0],
            "record_id": ids.str.split(":", n=1).str[1],
            "customer_id": labels.astype(str),
        }
    )
    con = duckdb.connect()
    con.register("truth", truth[["source", "record_id", "person_id"]])
    con.register("pred", pred)
    return float(evaluate(con, "truth", "pred")["pairwise"]["f1"])


def _true_m_probability(pairs: pd.DataFrame, model: dict) -> np.ndarray:
    """Each pair's probability with the true m of every level (u and prior as trained)."""
    prior = model["probability_two_random_records_match"]
    weight = np.full(len(pairs), math.log2(prior / (1 - prior)))
    same = pairs["same"].to_numpy()
    for comparison in model["comparisons"]:
        name = comparison["output_column_name"]
        gamma = pairs[f"gamma_{name}"].to_numpy()
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        counted = (gamma[same] >= 0).sum()
        for i, level in enumerate(levels):
            g = len(levels) - 1 - i  # Splink numbers levels from the bottom (else = 0)
            m = ((gamma[same] == g).sum() + 0.5) / (counted + 0.5 * len(levels))
            weight[gamma == g] += math.log2(m / (level.get("u_probability") or 1e-6))
        if f"mw_tf_adj_{name}" in pairs:
            weight += pairs[f"mw_tf_adj_{name}"].fillna(0).to_numpy()
    probability = 1 / (1 + 2.0 ** (-weight))
    return np.where(pairs["conflict"].fillna(False), np.minimum(probability, 0.2), probability)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("case")
    parser.add_argument("--people", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cases = _cases(args.people, Path(tmp))
        if args.case == "generated":  # bench_resolve.py generates its shop the same way
            generate_shop(args.people, Path(tmp) / "shop", seed=42)
        sources, truth_of = cases[args.case]
        with DuckDBWarehouse(Path(tmp) / "wh") as wh:
            ingest(wh, sources)
            resolve(wh, _options(args.case))
            truth = pd.read_csv(truth_of, dtype=str) if isinstance(truth_of, Path) else truth_of(wh)
            ours = wh.query_df("SELECT source, record_id, customer_id FROM record_customer")
            pairs = wh.query_df("SELECT * FROM match_pairs")
            model = json.loads(wh.query_df("SELECT model FROM match_model")["model"].iloc[-1])
    person = dict(zip(truth["source"] + ":" + truth["record_id"], truth["person_id"], strict=True))
    pairs["same"] = [
        person.get(a) == person.get(b)
        for a, b in zip(pairs.unique_id_l, pairs.unique_id_r, strict=True)
    ]
    print(json.dumps({"customerlens": _score(truth, ours)["pairwise"]}))
    bands = pd.cut(pairs["decision_probability"], BANDS)
    table = pairs.groupby(bands, observed=True).agg(
        pairs=("same", "size"), true_share=("same", "mean"), mean_p=("decision_probability", "mean")
    )
    print("calibration (share of true pairs per band of decision probability):")
    print(table.round(3).to_string())
    ids = pd.Index(sorted(person))
    left, right = ids.get_indexer(pairs.unique_id_l), ids.get_indexer(pairs.unique_id_r)
    for floor in (0.9, 0.5, 0.1):
        keep = pairs["same"].to_numpy() & (pairs["decision_probability"].to_numpy() >= floor)
        graph = coo_matrix((np.ones(keep.sum()), (left[keep], right[keep])), shape=(len(ids),) * 2)
        _, labels = connected_components(graph, directed=False)
        print(f"oracle: true pairs >= {floor} linked: F1 {_f1(truth, ids, labels):.4f}")
    for name, probability in (
        ("EM's m (votes only)", pairs["decision_probability"].to_numpy()),
        ("true m (votes only)", _true_m_probability(pairs, model)),
    ):
        result = constrained_clusters(len(ids), left, right, probability, threshold=0.9)
        print(f"{name}: F1 {_f1(truth, ids, result.labels):.4f}")


if __name__ == "__main__":
    main()
