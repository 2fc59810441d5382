"""The match scorer: Splink 5 (Fellegi-Sunter, term-frequency adjusted) trained without labels.

Follows the scikit-learn estimator contract: ``__init__`` stores parameters, ``fit`` trains
(prior from deterministic rules, u by random sampling, m by EM) and returns ``self``, learned
state ends in ``_``, ``predict`` checks it was fitted.
"""

from __future__ import annotations

import copy
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import splink.logging as splink_logging
from splink import DuckDBAPI, Linker, SettingsCreator
from splink.blocking_analysis import count_comparisons_from_blocking_rules
from splink.internals.exceptions import EMTrainingException

from customerlens.errors import CustomerLensError
from customerlens.resolve.comparisons import (
    BLOCKING_KEYS,
    EM_KEYS,
    MODEL_COLUMNS,
    PRIOR_KEYS,
    comparisons,
    prediction_rules,
    rules,
)
from customerlens.warehouse import default_memory_limit

log = logging.getLogger(__name__)


def _distinct_share(column: pa.ChunkedArray) -> float:
    """Distinct values per non-null value: near 1 for identifiers, near 0 for categories."""
    present = len(column) - column.null_count
    return len(pc.unique(column.drop_null())) / present if present else 0.0


class NotFittedError(CustomerLensError):
    """A model was used before ``fit``."""


def quiet_splink() -> None:
    """Splink logs every step at INFO to its own handler; keep it to warnings."""
    splink_logging.disable()
    logging.getLogger("splink").setLevel(logging.WARNING)


class SplinkScorer:
    """Score candidate pairs of identity records.

    Parameters
    ----------
    random_state : int
        Seed of u sampling.
    max_u_pairs : float
        Random pairs sampled to estimate u probabilities.
    prior_recall : float
        Assumed recall of the deterministic rules used to estimate the prior.
    threads, memory_limit : optional
        Resources of the scratch DuckDB connection Splink works in.
    extra_fields : dict, optional
        Extra columns to compare (``name -> "exact" | "fuzzy"``), read as ``x_<name>``.
    max_training_records : int
        Above this many records the model trains on a random sample of this size (m and u
        are shares, which a sample estimates well); scoring always sees every record.
    max_pairs_per_rule : float
        A prediction blocking rule that alone would generate more pairs than this on the data
        scored is left out (listed in ``rules_dropped_``): one over-common key must not make a
        run quadratic.

    Attributes
    ----------
    model_ : dict
        The trained Splink model (JSON-serialisable settings with m/u probabilities).
    timings_ : dict
        Seconds per training step.
    training_records_ : int
        Records the model was trained on.
    rules_dropped_ : dict
        Blocking rules left out by the pair budget, with the pairs each would have made.
    """

    def __init__(
        self,
        *,
        random_state: int = 42,
        max_u_pairs: float = 5e6,
        prior_recall: float = 0.8,
        threads: int | None = None,
        memory_limit: str | None = None,
        extra_fields: dict[str, str] | None = None,
        max_training_records: int = 300_000,
        max_pairs_per_rule: float = 2e7,
    ) -> None:
        self.random_state = random_state
        self.max_u_pairs = max_u_pairs
        self.prior_recall = prior_recall
        self.threads = threads
        self.memory_limit = memory_limit
        self.extra_fields = extra_fields
        self.max_training_records = max_training_records
        self.max_pairs_per_rule = max_pairs_per_rule

    @property
    def _extras(self) -> dict[str, str]:
        return {f"x_{name}": kind for name, kind in (self.extra_fields or {}).items()}

    @property
    def columns_(self) -> list[str]:
        """Columns of the records the model reads."""
        return ["unique_id", *MODEL_COLUMNS, *self._extras]

    def _settings(self, present: set[str], identifiers: set[str]) -> SettingsCreator:
        return SettingsCreator(
            link_type="dedupe_only",
            comparisons=comparisons(present, self._extras),
            blocking_rules_to_generate_predictions=prediction_rules(
                present, self._extras, identifiers
            ),
            retain_matching_columns=True,
            retain_intermediate_calculation_columns=True,
        )

    def _linker(
        self, records: pa.Table, settings: Any, *, budget: bool = False
    ) -> tuple[Linker, duckdb.DuckDBPyConnection]:
        missing = [c for c in self.columns_ if c not in records.column_names]
        if missing:
            raise CustomerLensError(f"records lack the columns {missing} the model reads.")
        # one scratch connection per linker: Splink caches term frequencies per connection
        con = duckdb.connect()
        # spill to the system temp dir, not a .tmp folder in the user's working directory
        spill = Path(tempfile.gettempdir()) / "customerlens-splink"
        con.execute(f"SET temp_directory = '{spill}'").fetchall()
        if self.threads:
            con.execute(f"SET threads = {int(self.threads)}").fetchall()
        con.execute(
            f"SET memory_limit = '{self.memory_limit or default_memory_limit()}'"
        ).fetchall()
        db = DuckDBAPI(connection=con)
        quiet_splink()
        sdf = db.register(records.select(self.columns_))
        if budget:
            settings = self._within_budget(sdf, settings)
        return Linker(sdf, settings, log_level=logging.ERROR), con

    def _within_budget(self, sdf: Any, settings: dict[str, Any]) -> dict[str, Any]:
        """Leave out prediction rules that alone would generate more pairs than the budget."""
        settings = copy.deepcopy(settings)
        rules_in = settings["blocking_rules_to_generate_predictions"]
        counts = count_comparisons_from_blocking_rules(
            sdf,
            blocking_rules=[r["blocking_rule"] for r in rules_in],
            link_type="dedupe_only",
            record_sample_proportion=1.0,
        )
        kept, dropped = [], {}
        for rule, count in zip(rules_in, counts, strict=True):
            marginal = count["marginal_comparison_count"]
            if count.get("cumulative_comparison_count", 0) and marginal > self.max_pairs_per_rule:
                dropped[rule["blocking_rule"]] = int(marginal)
            else:
                kept.append(rule)
        self.rules_dropped_ = dropped
        if dropped:
            log.warning("blocking rules left out (pairs over the budget): %s", dropped)
        settings["blocking_rules_to_generate_predictions"] = kept
        return settings

    def fit(self, records: pa.Table) -> SplinkScorer:
        """Train on ``records`` (a ``records_std``-shaped Arrow table)."""
        timings: dict[str, float] = {}
        present = {
            c
            for c in ("first_name", "surname", "dob", "email", "phone", "postcode", "address")
            if records.column(c).null_count < records.num_rows
        }
        if not present:
            raise CustomerLensError(
                "No identifying field (name, email, phone, postcode, address, date of birth) "
                "has any value: every record is a customer of its own."
            )
        identifiers = {
            column
            for column, kind in self._extras.items()
            if kind == "exact" and _distinct_share(records.column(column)) >= 0.5
        }
        training = records
        if records.num_rows > self.max_training_records:
            rng = np.random.default_rng(self.random_state)
            rows = np.sort(rng.choice(records.num_rows, self.max_training_records, replace=False))
            training = records.take(pa.array(rows))
        linker, con = self._linker(training, self._settings(present, identifiers))
        started = time.perf_counter()
        linker.training.estimate_probability_two_random_records_match(
            rules(PRIOR_KEYS, present) or rules(BLOCKING_KEYS, present)[:1],
            recall=self.prior_recall,
        )
        timings["prior"] = time.perf_counter() - started
        started = time.perf_counter()
        linker.training.estimate_u_using_random_sampling(
            max_pairs=self.max_u_pairs, seed=self.random_state
        )
        timings["u"] = time.perf_counter() - started
        started = time.perf_counter()
        sessions = 0
        for rule in rules(EM_KEYS, present):
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(rule)
                sessions += 1
            except EMTrainingException as exc:  # too few pairs under this rule in this data
                log.info("EM session skipped: %s", str(exc).splitlines()[0])
            if sessions == 3:
                break
        timings["em"] = time.perf_counter() - started
        self.present_ = sorted(present)
        self.em_sessions_ = sessions
        self.model_ = linker.misc.save_model_to_json()
        self.timings_ = timings
        self.training_records_ = training.num_rows
        self._fitted_linker = linker
        self._fitted_con = con
        return self

    def predict_to_parquet(self, records: pa.Table, path: Path, *, threshold: float = 0.01) -> int:
        """Write scored candidate pairs with probability >= ``threshold`` to a Parquet file.

        Pairs never pass through Python: at a million people there are tens of millions.
        Columns: unique_id_l, unique_id_r, match_weight, match_probability, match_key, and per
        comparison ``gamma_<field>`` (level) and ``mw_<field>`` (log2 Bayes factor).
        Returns the number of pairs written.
        """
        if not hasattr(self, "model_"):
            raise NotFittedError("SplinkScorer.predict_to_parquet called before fit.")
        started = time.perf_counter()
        # a fresh linker on exactly the records scored: term frequencies and the pair budget
        # are those of this data, whatever the model was trained on
        linker, con = self._linker(records, self.model_, budget=True)
        pairs = linker.inference.predict(
            threshold_match_probability=threshold, warning_mode="never"
        )
        keep = ["unique_id_l", "unique_id_r", "match_weight", "match_probability", "match_key"]
        names = [
            c
            for c in pairs.as_duckdbpyrelation().columns
            if c in keep or c.startswith(("gamma_", "mw_"))
        ]
        columns = ", ".join(f'"{c}"' for c in names)
        con.execute(
            f"COPY (SELECT {columns} FROM {pairs.physical_name}) TO '{path}' (FORMAT parquet)"
        ).fetchall()
        count = int(con.execute(f"SELECT count(*) FROM {pairs.physical_name}").fetchall()[0][0])
        pairs.drop_table_from_database_and_remove_from_cache()
        con.close()
        self.timings_["predict"] = time.perf_counter() - started
        return count
