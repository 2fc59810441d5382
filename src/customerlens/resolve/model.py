"""The match scorer: Splink 5 (Fellegi-Sunter, term-frequency adjusted) trained without labels.

Follows the scikit-learn estimator contract: ``__init__`` stores parameters, ``fit`` trains
(prior from deterministic rules, u by random sampling, m by EM) and returns ``self``, learned
state ends in ``_``, ``predict`` checks it was fitted.
"""

from __future__ import annotations

import copy
import itertools
import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import splink.logging as splink_logging
from splink import Linker, SettingsCreator, block_on
from splink.blocking_analysis import count_comparisons_from_blocking_rules
from splink.internals.exceptions import EMTrainingException

from customerlens.errors import CustomerLensError
from customerlens.resolve.backends import DuckDBBackend, SplinkBackend
from customerlens.resolve.behaviour import BEHAVIOUR_COLUMNS
from customerlens.resolve.comparisons import (
    BLOCKING_KEYS,
    EM_KEYS,
    MODEL_COLUMNS,
    PRIOR_KEYS,
    comparisons,
    prediction_rules,
    rules,
    usable_keys,
)
from customerlens.resolve.random_pairs import frequency_sql, without_matches

log = logging.getLogger(__name__)

#: below this the prior rules would see too few of the matches for a count of their pairs to
#: mean anything: the assumed recall (``prior_recall``) stays
MIN_IMPLIED_RECALL = 0.1


def rules_recall(
    model: dict[str, Any], null_share: dict[str, float], keys: tuple[tuple[str, ...], ...]
) -> float:
    """Share of true matches the deterministic prior rules find, as the trained model implies.

    A rule (first name + surname + date of birth...) finds a match when each of its fields is
    filled on both records and identical: probability ``(1 - null share)^2 * m(exact)`` per
    field, the fields independent given a match (Fellegi-Sunter's own assumption). The union of
    the rules is summed over the 2^k agree/disagree patterns of the k fields they use.

    Parameters
    ----------
    model : dict
        The trained Splink model (``save_model_to_json``).
    null_share : dict
        Share of records without a value, per field.
    keys : list of tuple of str
        The rules' fields.
    """
    exact: dict[str, float] = {}
    for comparison in model["comparisons"]:
        name = comparison["output_column_name"]
        for level in comparison["comparison_levels"]:
            if level.get("label_for_charts") == f"Exact match on {name}":
                exact[name] = float(level.get("m_probability") or 0.0)
    fields = sorted({field for key in keys for field in key})
    agree = {f: (1.0 - null_share.get(f, 1.0)) ** 2 * exact.get(f, 0.0) for f in fields}
    recall = 0.0
    for pattern in itertools.product((False, True), repeat=len(fields)):
        agreeing = {f for f, on in zip(fields, pattern, strict=True) if on}
        if any(set(key) <= agreeing for key in keys):
            recall += math.prod(agree[f] if f in agreeing else 1.0 - agree[f] for f in fields)
    return recall


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
        Assumed recall of the deterministic rules for the first estimate of the prior (the
        one EM starts from); after EM the recall the trained model implies replaces it.
    threads, memory_limit : optional
        Resources of the scratch DuckDB connection Splink works in (DuckDB backend).
    extra_fields : dict, optional
        Extra columns to compare (``name -> "exact" | "fuzzy"``), read as ``x_<name>``.
    max_training_records : int
        Above this many records the model trains on a random sample of this size (m and u
        are shares, which a sample estimates well); scoring always sees every record.
    max_pairs_per_rule : float
        A prediction blocking rule that alone would generate more pairs than this on the data
        scored is left out (listed in ``rules_dropped_``): one over-common key must not make a
        run quadratic.
    compare_all_below : float
        When the data scored has at most this many pairs in all, every pair is scored and no
        blocking rule is used: blocking exists to make large data tractable, and on small data
        it only loses matches (blocking recall 1 by construction).
    backend : SplinkBackend, optional
        Where Splink works (``customerlens.resolve.backends``): the warehouse's engine gives
        one; by default a scratch DuckDB.

    Attributes
    ----------
    model_ : dict
        The trained Splink model (JSON-serialisable settings with m/u probabilities).
    timings_ : dict
        Seconds per training step.
    training_records_ : int
        Records the model was trained on.
    prior_recall_ : float
        Recall of the prior's rules the final prior was estimated with (see ``rules_recall``).
    rules_dropped_ : dict
        Blocking rules left out by the pair budget, with the pairs each would have made.
    compared_all_ : bool
        The last data scored was small enough to score every pair (no blocking).
    present_, identifiers_ : list of str
        Fields the model compares; exact extra fields that block on their own.
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
        compare_all_below: float = 5e6,
        backend: SplinkBackend | None = None,
    ) -> None:
        self.random_state = random_state
        self.max_u_pairs = max_u_pairs
        self.prior_recall = prior_recall
        self.threads = threads
        self.memory_limit = memory_limit
        self.extra_fields = extra_fields
        self.max_training_records = max_training_records
        self.max_pairs_per_rule = max_pairs_per_rule
        self.compare_all_below = compare_all_below
        self.backend = backend

    @property
    def _extras(self) -> dict[str, str]:
        return {f"x_{name}": kind for name, kind in (self.extra_fields or {}).items()}

    @property
    def columns_(self) -> list[str]:
        """Columns of the records the model reads."""
        return ["unique_id", *MODEL_COLUMNS, *self._extras]

    def _settings(
        self, present: set[str], identifiers: set[str], dialect: str | None = None
    ) -> SettingsCreator:
        return SettingsCreator(
            link_type="dedupe_only",
            comparisons=comparisons(present, self._extras, dialect or self._backend.dialect),
            blocking_rules_to_generate_predictions=prediction_rules(
                present, self._extras, identifiers
            ),
            retain_matching_columns=True,
            retain_intermediate_calculation_columns=True,
        )

    @property
    def _backend(self) -> SplinkBackend:
        return self.backend or DuckDBBackend(threads=self.threads, memory_limit=self.memory_limit)

    def _linker(
        self, records: pa.Table, settings: Any, *, budget: bool = False
    ) -> tuple[Linker, Any]:
        missing = [c for c in self.columns_ if c not in records.column_names]
        if missing:
            raise CustomerLensError(f"records lack the columns {missing} the model reads.")
        db = self._backend.connect()  # a fresh scratch per linker: term frequencies are cached
        quiet_splink()
        sdf = self._backend.register(db, records.select(self.columns_))
        if budget:
            settings = self._within_budget(sdf, settings, records.num_rows)
        return Linker(sdf, settings, log_level=logging.ERROR), db

    def _within_budget(self, sdf: Any, settings: dict[str, Any], rows: int) -> dict[str, Any]:
        """Leave out prediction rules that alone would generate more pairs than the budget;
        compare all pairs when there are few (``compare_all_below``)."""
        settings = copy.deepcopy(settings)
        rules_in = settings["blocking_rules_to_generate_predictions"]
        self.compared_all_ = rows * (rows - 1) / 2 <= self.compare_all_below
        if self.compared_all_ and rules_in:
            self.rules_dropped_ = {}
            settings["blocking_rules_to_generate_predictions"] = [
                {**rules_in[0], "blocking_rule": "1=1"}
            ]
            return settings
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
        if any(records.column(c).null_count < records.num_rows for c in BEHAVIOUR_COLUMNS):
            present.add("behaviour")  # evidence beside the identity fields, never alone
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
        started = time.perf_counter()
        with_u = self._estimate_u(training, self._settings(present, identifiers))
        timings["u"] = time.perf_counter() - started
        linker, db = self._linker(training, with_u)
        started = time.perf_counter()
        prior_keys = usable_keys(PRIOR_KEYS, present)
        prior_rules = rules(prior_keys, present) or rules(BLOCKING_KEYS, present)[:1]
        linker.training.estimate_probability_two_random_records_match(
            prior_rules, recall=self.prior_recall
        )
        timings["prior"] = time.perf_counter() - started
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
        self.prior_recall_ = self.prior_recall
        if prior_keys and sessions:
            # the prior again, with the recall of its rules that the trained m probabilities
            # imply instead of an assumed one: noisy data (fake_1000) has rules that find 40% of
            # the matches, not 80%, and the assumed recall had its prior at half the true one
            fields = {field for key in prior_keys for field in key}
            nulls = {f: training.column(f).null_count / training.num_rows for f in fields}
            implied = rules_recall(linker.misc.save_model_to_json(), nulls, prior_keys)
            if implied >= MIN_IMPLIED_RECALL:
                self.prior_recall_ = implied
                linker.training.estimate_probability_two_random_records_match(
                    prior_rules, recall=min(implied, 1.0)
                )
        self.present_ = sorted(present)
        self.identifiers_ = sorted(identifiers)
        self.em_sessions_ = sessions
        # u net of the matches among the random pairs it was sampled from (random_pairs.py)
        self.model_ = without_matches(linker.misc.save_model_to_json())
        self.timings_ = timings
        self.training_records_ = training.num_rows
        # for direct scoring of record pairs (tests of levels and symmetry): its u is as sampled
        self._fitted_linker = linker
        return self

    def model_in(self, dialect: str) -> dict[str, Any]:
        """The trained model with its SQL rendered for ``dialect``: the same levels, prior and
        m/u. Real-time matching compiles DuckDB SQL whichever engine trained the model."""
        if not hasattr(self, "model_"):
            raise NotFittedError("SplinkScorer.model_in called before fit.")
        if dialect == self.model_.get("sql_dialect"):
            return self.model_
        settings = self._settings(set(self.present_), set(self.identifiers_), dialect)
        rendered: dict[str, Any] = settings.create_settings_dict(dialect)
        rendered["probability_two_random_records_match"] = self.model_[
            "probability_two_random_records_match"
        ]
        for comparison, trained in zip(
            rendered["comparisons"], self.model_["comparisons"], strict=True
        ):
            for level, fitted in zip(
                comparison["comparison_levels"], trained["comparison_levels"], strict=True
            ):
                level.update(
                    {k: fitted[k] for k in ("m_probability", "u_probability") if k in fitted}
                )
        return rendered

    def _estimate_u(self, training: pa.Table, settings: Any) -> dict[str, Any]:
        """The model with u probabilities from all pairs of a random sample of records.

        That is Splink's own method (``estimate_u_using_random_sampling`` compares all pairs
        of a sample sized to ``max_u_pairs``), but the sample is drawn here, so every engine
        trains on the same records and arrives at the same model.
        """
        size = int(0.5 * ((8 * self.max_u_pairs + 1) ** 0.5 + 1))
        sample = training
        if training.num_rows > size:
            rng = np.random.default_rng(self.random_state + 1)
            rows = np.sort(rng.choice(training.num_rows, size, replace=False))
            sample = training.take(pa.array(rows))
        linker, db = self._linker(sample, settings)
        # max_pairs above the sample's pair count, one chunk, no early stop: Splink compares
        # all of them (its early stop reads chunks cut by an engine-specific hash)
        linker.training.estimate_u_using_random_sampling(
            max_pairs=float(sample.num_rows) ** 2,
            seed=self.random_state,
            min_count_per_level=None,
            num_chunks=1,
        )
        model: dict[str, Any] = linker.misc.save_model_to_json()
        self._backend.close(db)
        return model

    def _score_explicit(
        self,
        linker: Linker,
        db: Any,
        records: pa.Table,
        found: str,
        also: pd.DataFrame | None,
        names: list[str],
    ) -> str | None:
        """Score the pairs of ``also`` that blocking did not find; return their table's name.

        Splink scores explicit pairs with ``predict_between`` on two tables holding the left
        and the right records of each pair under one synthetic id, blocked on that id.
        """
        if also is None or also.empty:
            return None
        backend = self._backend
        backend.register(
            db,
            pa.Table.from_pandas(also[["unique_id_l", "unique_id_r"]], preserve_index=False),
            "__also",
        )
        missing = backend.query(
            db,
            f"""
            SELECT DISTINCT a.unique_id_l, a.unique_id_r FROM __also a
            WHERE a.unique_id_l < a.unique_id_r AND NOT EXISTS (
                SELECT 1 FROM {found} p
                WHERE p.unique_id_l = a.unique_id_l AND p.unique_id_r = a.unique_id_r)
            ORDER BY 1, 2
        """,
        ).to_pandas()
        ids = pd.Index(records.column("unique_id").to_pylist())
        left, right = (
            ids.get_indexer(missing["unique_id_l"]),
            ids.get_indexer(missing["unique_id_r"]),
        )
        keep = (left >= 0) & (right >= 0)  # pairs of records not in this data are ignored
        if not keep.any():
            return None
        key = pa.array([str(i) for i in range(int(keep.sum()))], pa.string())
        sides = []
        for rows in (left[keep], right[keep]):
            side = records.select(self.columns_).take(pa.array(rows))
            sides.append(backend.register(db, side.set_column(0, "unique_id", key)))
        for column in self._tf_columns():
            linker.table_management.compute_tf_table(column)
        scored = linker.inference.predict_between(
            sides[0],
            sides[1],
            blocking_rules_to_generate_predictions=[block_on("unique_id")],
            warning_mode="never",
        )
        backend.register(
            db,
            pa.table(
                {
                    "k": key,
                    "l": pa.array(missing["unique_id_l"].to_numpy()[keep], pa.string()),
                    "r": pa.array(missing["unique_id_r"].to_numpy()[keep], pa.string()),
                }
            ),
            "__also_ids",
        )
        columns = ", ".join(
            {"unique_id_l": "i.l AS unique_id_l", "unique_id_r": "i.r AS unique_id_r"}.get(
                c, f's."{c}"'
            )
            for c in names
            if c != "match_key"
        )
        backend.materialise(
            db,
            "__also_scored",
            f"SELECT {columns} FROM {scored.physical_name} s JOIN __also_ids i "
            "ON i.k = s.unique_id_l",
        )
        return "__also_scored"

    def _register_frequencies(self, linker: Linker, db: Any) -> None:
        """Give Splink term-frequency tables of the records scored net of each value's
        person's own records (``random_pairs.frequency_sql``), as real time and the
        consensus pass compute them."""
        for column in self._tf_columns():
            seen = linker.table_management.compute_tf_table(column)
            net = self._backend.query(
                db,
                f'SELECT "{column}", {frequency_sql(column, f"tf_{column}", self.model_)} '
                f'AS "tf_{column}" FROM {seen.physical_name}',
            )
            registered = self._backend.register(db, net)
            linker.table_management.register_term_frequency_lookup(registered, column)

    def _tf_columns(self) -> list[str]:
        """Columns whose exact-match levels use term frequencies in the fitted model."""
        found = []
        for comparison in self.model_.get("comparisons", []):
            for level in comparison.get("comparison_levels", []):
                column = level.get("tf_adjustment_column")
                if column and column not in found:
                    found.append(column)
        return found

    def predict_to_parquet(
        self,
        records: pa.Table,
        path: Path,
        *,
        threshold: float = 0.01,
        also: pd.DataFrame | None = None,
    ) -> int:
        """Write scored candidate pairs with probability >= ``threshold`` to a Parquet file.

        Pairs never pass through Python: at a million people there are tens of millions.
        Columns: unique_id_l, unique_id_r, match_weight, match_probability, match_key, and per
        comparison ``gamma_<field>`` (level) and ``mw_<field>`` (log2 Bayes factor).
        ``also`` (unique_id_l, unique_id_r; e.g. the labelled pairs) are scored and written
        whatever their probability, even when no blocking rule finds them (match_key NULL).
        Returns the number of pairs written.
        """
        if not hasattr(self, "model_"):
            raise NotFittedError("SplinkScorer.predict_to_parquet called before fit.")
        started = time.perf_counter()
        # a fresh linker on exactly the records scored: term frequencies and the pair budget
        # are those of this data, whatever the model was trained on
        linker, db = self._linker(records, self.model_, budget=True)
        self._register_frequencies(linker, db)
        pairs = linker.inference.predict(
            threshold_match_probability=threshold, warning_mode="never"
        )
        keep = ["unique_id_l", "unique_id_r", "match_weight", "match_probability", "match_key"]
        names = [
            c
            for c in self._backend.query(
                db, f"SELECT * FROM {pairs.physical_name} LIMIT 0"
            ).column_names
            if c in keep or c.startswith(("gamma_", "mw_"))
        ]
        columns = ", ".join(f'"{c}"' for c in names)
        select = f"SELECT {columns} FROM {pairs.physical_name}"
        explicit = self._score_explicit(linker, db, records, pairs.physical_name, also, names)
        if explicit is not None:
            unkeyed = ", ".join(
                "CAST(NULL AS VARCHAR) AS match_key" if c == "match_key" else f'"{c}"'
                for c in names
            )
            select += f" UNION ALL SELECT {unkeyed} FROM {explicit}"
        count = self._backend.to_parquet(db, select, path)
        pairs.drop_table_from_database_and_remove_from_cache()
        self._backend.close(db)
        self.timings_["predict"] = time.perf_counter() - started
        return count
