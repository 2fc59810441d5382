"""The two baselines every resolution figure is reported beside.

* ``naive``: exact lower-cased email, else exact first name + surname + postcode (what a shop
  does in a spreadsheet).
* ``plain_splink``: Splink 5 configured the way its documentation shows (name, date of birth,
  email, postcode, phone comparisons; tutorial blocking rules; default EM training), on the
  ingested values with no standardisation.

Both read the warehouse's ``records`` table and return ``(source, record_id, customer_id)``.
"""

from __future__ import annotations

import logging

import duckdb
import numpy as np
import pandas as pd
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

from customerlens.resolve.model import quiet_splink
from customerlens.warehouse import DuckDBWarehouse


def _components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    parent = np.arange(n)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([find(i) for i in range(n)])


def naive(wh: DuckDBWarehouse) -> pd.DataFrame:
    df = wh.query_df(
        "SELECT source, record_id, lower(trim(email)) AS email, "
        "lower(trim(first_name)) || '|' || lower(trim(surname)) || '|' || "
        "upper(replace(postcode, ' ', '')) AS name_pc FROM records"
    )
    n = len(df)
    left: list[np.ndarray] = []
    right: list[np.ndarray] = []
    for key in ("email", "name_pc"):
        codes = df[key].astype("category").cat.codes.to_numpy()
        valid = df[key].notna().to_numpy()
        order = np.argsort(codes, kind="stable")
        order = order[valid[order]]
        same = codes[order][1:] == codes[order][:-1]
        left.append(order[1:][same])
        right.append(order[:-1][same])
    labels = _components(n, np.concatenate(left), np.concatenate(right))
    return pd.DataFrame(
        {"source": df["source"], "record_id": df["record_id"], "customer_id": labels.astype(str)}
    )


def plain_splink(wh: DuckDBWarehouse, seed: int = 1) -> pd.DataFrame:
    quiet_splink()
    df = wh.query_df(
        "SELECT source || ':' || record_id AS unique_id, source, record_id, first_name, "
        "surname, strftime(date_of_birth, '%Y-%m-%d') AS dob, email, postcode, phone "
        "FROM records"
    )
    present = [
        c
        for c in ("first_name", "surname", "dob", "email", "postcode", "phone")
        if df[c].notna().any()
    ]
    make = {
        "first_name": lambda: cl.NameComparison("first_name"),
        "surname": lambda: cl.NameComparison("surname"),
        "dob": lambda: cl.DateOfBirthComparison("dob", input_is_string=True),
        "email": lambda: cl.EmailComparison("email"),
        "postcode": lambda: cl.PostcodeComparison("postcode"),
        "phone": lambda: cl.ExactMatch("phone"),
    }
    rules = [
        ("first_name", "surname"),
        ("surname", "dob"),
        ("first_name", "dob"),
        ("postcode", "first_name"),
        ("postcode", "surname"),
        ("email",),
        ("phone",),
    ]
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[make[c]() for c in present],
        blocking_rules_to_generate_predictions=[
            block_on(*r) for r in rules if all(c in present for c in r)
        ],
    )
    db = DuckDBAPI(connection=duckdb.connect())
    linker = Linker(db.register(df[["unique_id", *present]]), settings, log_level=logging.ERROR)
    deterministic = [
        block_on(*r)
        for r in (("first_name", "surname", "dob"), ("email",))
        if all(c in present for c in r)
    ] or [block_on(present[0])]
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    for rule in (("first_name", "surname"), ("dob",), ("postcode",), ("email",)):
        if all(c in present for c in rule):
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(block_on(*rule))
            except Exception as exc:  # noqa: BLE001 - a rule with no pairs in this data
                logging.getLogger(__name__).info("plain splink EM skipped: %s", exc)
    pairs = linker.inference.predict(threshold_match_probability=0.01, warning_mode="never")
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pairs, 0.9)
    out = clusters.as_pandas_dataframe()[["unique_id", "cluster_id"]]
    merged = df[["unique_id", "source", "record_id"]].merge(out, on="unique_id", how="left")
    return pd.DataFrame(
        {
            "source": merged["source"],
            "record_id": merged["record_id"],
            "customer_id": merged["cluster_id"].fillna(merged["unique_id"]),
        }
    )
