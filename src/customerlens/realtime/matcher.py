"""Match one new record to the resolved customers while the caller waits.

The batch is not re-run: ``match_index`` (written by resolve) holds every record's standardised
keys. At start the matcher builds, per blocking key of the model (``comparisons.BLOCKING_KEYS``),
a sorted array of 64-bit key hashes beside the row numbers, so the candidates of a new record
are a binary search per key away; the trained model (``levels.CompiledModel``) scores them, the
household veto caps conflicts as in the batch (``decide.py``) and the best customer wins.

Records committed through the API go to the warehouse (``api_records``, ``records``,
``record_customer``, ``match_index``, ``customers``) in one transaction and into an in-memory
overlay, so the next match sees them and the next batch run keeps their customer ids.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from customerlens.config import ResolveOptions
from customerlens.errors import CustomerLensError
from customerlens.ingest.names import split_full_name
from customerlens.realtime.levels import CompiledModel, PairScore, Record
from customerlens.resolve.behaviour import BEHAVIOUR_COLUMNS
from customerlens.resolve.comparisons import BLOCKING_KEYS, MODEL_COLUMNS
from customerlens.resolve.decide import is_conflict
from customerlens.resolve.golden import golden_sql
from customerlens.resolve.random_pairs import frequency_sql
from customerlens.resolve.stable_ids import fresh_id
from customerlens.resolve.standardise import (
    address_key,
    email_key,
    first_name_key,
    metaphone,
    phone_key,
    postcode_parts,
    related_names,
    related_sounds,
    surname_key,
)
from customerlens.tables import (
    API_RECORDS,
    CUSTOMER_ID_HISTORY,
    CUSTOMERS,
    MATCH_INDEX,
    MATCH_MODEL,
    RECORD_CUSTOMER,
    RECORDS,
)
from customerlens.warehouse import DuckDBWarehouse, to_arrow

#: the source of records added through the API
API_SOURCE = "api"
#: what a record may carry (the identity columns of ``records``)
RECORD_FIELDS = (
    "first_name",
    "surname",
    "full_name",
    "email",
    "phone",
    "postcode",
    "address",
    "date_of_birth",
)
#: index columns the matcher keeps in memory: what the model compares. Purchase behaviour is
#: left out: a record arriving through the API has no purchases, so that comparison is neutral.
INDEX_COLUMNS = tuple(c for c in MODEL_COLUMNS if c not in BEHAVIOUR_COLUMNS)
#: a key value shared by more records than this finds no candidates through that key: like the
#: batch's common-name cap, a block that large says little and would cost the latency budget
MAX_BLOCK = 200
_SEP = "\x1f"
_HOUSE_NUMBER = re.compile(r"\b([0-9]+[a-z]?)\b")


class MatcherNotReady(CustomerLensError):
    """The warehouse has no resolved customers to match against."""


@dataclass
class CandidateCustomer:
    customer_id: str
    match_probability: float
    model_probability: float
    tier: str
    record: str
    conflict: bool
    score: PairScore

    def summary(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "match_probability": round(self.match_probability, 6),
            "tier": self.tier,
        }


@dataclass
class MatchResult:
    customer_id: str | None
    match_probability: float
    tier: str
    explanation: dict[str, Any]
    candidates: list[dict[str, Any]]
    record_id: str | None = None
    committed: bool = False
    created: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = {
            "customer_id": self.customer_id,
            "match_probability": round(self.match_probability, 6),
            "tier": self.tier,
            "explanation": self.explanation,
            "candidates": self.candidates,
        }
        if self.record_id is not None:
            out.update(
                {"record_id": self.record_id, "committed": self.committed, "created": self.created}
            )
        return out


def key_hashes(values: np.ndarray) -> np.ndarray:
    """64-bit hashes of key strings (pandas' SipHash: the same for one value or a million)."""
    return pd.util.hash_array(values, categorize=False)


def _blank(value: Any) -> Any:
    """None for missing values: empty text, NaN (pandas' missing) included."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def standardise_record(raw: dict[str, Any], region: str = "GB") -> Record:
    """A raw record (the API's fields) -> the standardised columns the model compares.

    The same functions as the batch's ``standardise.py``; the SQL parts of the batch
    (``email_user``, ``house_number``, ``dob`` text, the name-only keys) are spelled in Python.
    """
    first, last = _blank(raw.get("first_name")), _blank(raw.get("surname"))
    full = _blank(raw.get("full_name"))
    if full and first is None and last is None:
        first, last = split_full_name(full)
    first_name, surname = first_name_key(first), surname_key(last)
    related = related_names(first_name)
    email = email_key(_blank(raw.get("email")))
    address = address_key(_blank(raw.get("address")))
    postcode, outward = postcode_parts(_blank(raw.get("postcode")))
    born = raw.get("date_of_birth")
    if isinstance(born, datetime):
        born = born.date()
    dob = born.isoformat() if isinstance(born, date) else _blank(born)
    house = None
    if address is not None:
        found = _HOUSE_NUMBER.search(address)
        house = found.group(1) if found else ""  # DuckDB's regexp_extract gives '' on no match
    record: Record = {
        "first_name": first_name,
        "surname": surname,
        "first_name_related": related,
        "first_related_sounds": related_sounds(related),
        "first_metaphone": metaphone(first_name),
        "surname_metaphone": metaphone(surname),
        "email": email,
        "email_user": email.split("@", 1)[0] if email else None,
        "phone": phone_key(_blank(raw.get("phone")), region),
        "postcode": postcode,
        "postcode_outward": outward,
        "address": address,
        "house_number": house,
        "dob": dob,
    }
    record["name_key"] = _join(record, ("first_name", "surname"), "|")
    record["name_sound_key"] = _join(record, ("surname", "first_metaphone"), "|")
    record["first_surname_sound_key"] = _join(record, ("first_name", "surname_metaphone"), "|")
    record["dob_key"] = dob
    record["postcode_key"] = postcode
    return record


def identity_fields(record: Record) -> int:
    """How many identifying fields a standardised record has (as ``records_std``)."""
    return sum(
        record.get(c) is not None
        for c in ("first_name", "surname", "email", "phone", "postcode", "address", "dob")
    )


def _join(record: Record, columns: tuple[str, ...], sep: str = _SEP) -> str | None:
    values = [record.get(c) for c in columns]
    if any(v is None for v in values):
        return None
    return sep.join(str(v) for v in values)


class Matcher:
    """Real-time matching against a resolved warehouse (see the module docstring)."""

    def __init__(self, wh: DuckDBWarehouse, options: ResolveOptions | None = None) -> None:
        self.wh = wh
        self.options = options or ResolveOptions()
        for table in (MATCH_INDEX, MATCH_MODEL, RECORD_CUSTOMER):
            if not wh.has_table(table):
                raise MatcherNotReady(
                    f"The warehouse has no `{table}` table: run `customerlens resolve` "
                    "(or `run`) on it first."
                )
        rows = wh.query(f"SELECT model FROM {MATCH_MODEL} ORDER BY run_id DESC LIMIT 1")
        self.trained = json.loads(rows.column("model")[0].as_py())
        self.model = CompiledModel(self.trained)
        self._fields = {c.name for c in self.model.comparisons}
        present = set(wh.columns(MATCH_INDEX))
        self.columns = [c for c in INDEX_COLUMNS if c in present]
        self.keys = [k for k in BLOCKING_KEYS if all(c in present for c in k)]
        self._lock = threading.Lock()
        self._load()

    # -- loading -------------------------------------------------------------------------
    def _load(self) -> None:
        # each value's frequency as the batch gave it to Splink (net of its person's records)
        share = "(count(*) OVER (PARTITION BY i.{0}))::DOUBLE / count(i.{0}) OVER ()"
        tf = ", ".join(
            f"CASE WHEN i.{c} IS NOT NULL THEN "
            f"{frequency_sql(c, share.format(c), self.trained)} END AS tf_{c}"
            for c in self.model.tf_columns
            if c in self.columns
        )
        self.table = self.wh.query(f"""
            SELECT i.unique_id, rc.customer_id, {", ".join("i." + c for c in self.columns)}
                   {", " + tf if tf else ""}
            FROM {MATCH_INDEX} i
            JOIN {RECORD_CUSTOMER} rc ON rc.source = i.source AND rc.record_id = i.record_id
            ORDER BY i.unique_id
        """).combine_chunks()  # one chunk per column: take() on many chunks costs 100+ ms at 3M
        self.size = self.table.num_rows
        self._hashes: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = {}
        for key in self.keys:
            joined = pc.binary_join_element_wise(
                *[self.table.column(c).cast(pa.string()) for c in key], _SEP
            )
            valid = np.asarray(joined.is_valid())
            rows = np.flatnonzero(valid)
            hashes = key_hashes(joined.filter(pa.array(valid)).to_numpy(zero_copy_only=False))
            order = np.argsort(hashes, kind="stable")
            self._hashes[key] = (hashes[order], rows[order])
        # records committed since the start: rows after the index, and their key hashes
        self._extra: list[Record] = []
        self._extra_keys: dict[tuple[str, ...], dict[int, list[int]]] = defaultdict(dict)
        self._api_ids: dict[str, MatchResult] = {}

    # -- matching ------------------------------------------------------------------------
    def candidates(self, record: Record) -> tuple[list[int], list[str]]:
        """Row numbers of the records sharing a blocking key with ``record``, and the keys
        skipped because their value is too common (more than ``MAX_BLOCK`` records)."""
        found: set[int] = set()
        skipped = []
        lookups = [(key, _join(record, key)) for key in self.keys]
        if "name_key" in self.columns and record.get("first_name") and record.get("surname"):
            # first name and surname swapped ("Smith John"), as the batch's SWAPPED_NAMES rule
            lookups.append((("name_key",), f"{record['surname']}|{record['first_name']}"))
        values = np.array([v for _, v in lookups if v is not None], dtype=object)
        hashes = iter(key_hashes(values)) if len(values) else iter(())
        for key, value in lookups:
            if value is None:
                continue
            h = next(hashes)
            sorted_hashes, rows = self._hashes[key]
            lo = int(np.searchsorted(sorted_hashes, h, "left"))
            hi = int(np.searchsorted(sorted_hashes, h, "right"))
            extra = self._extra_keys[key].get(int(h), [])
            if hi - lo + len(extra) > MAX_BLOCK:
                skipped.append("+".join(key))
                continue
            found.update(rows[lo:hi].tolist())
            found.update(extra)
        return sorted(found), skipped

    def _rows(self, positions: list[int]) -> list[Record]:
        base = [p for p in positions if p < self.size]
        rows = self.table.take(pa.array(base, pa.int64())).to_pylist() if base else []
        return rows + [self._extra[p - self.size] for p in positions if p >= self.size]

    def match(self, raw: dict[str, Any], *, limit: int = 5) -> MatchResult:
        """The best customer for a raw record, its probability, tier, explanation and the next
        candidates (see the module docstring)."""
        record = standardise_record(raw, self.options.default_region)
        return self._match(record, limit=limit)

    def _match(self, record: Record, *, limit: int = 5) -> MatchResult:
        positions, skipped = self.candidates(record)
        best: dict[str, CandidateCustomer] = {}
        for row in self._rows(positions):
            candidate = self._score(row, record)
            held = best.get(candidate.customer_id)
            if held is None or candidate.match_probability > held.match_probability:
                best[candidate.customer_id] = candidate
        ranked = sorted(best.values(), key=lambda c: (-c.match_probability, c.customer_id))
        top = ranked[0] if ranked else None
        qualifies = top is not None and top.tier != "single"
        explanation: dict[str, Any] = {
            "candidates_compared": len(positions),
            "keys_too_common": skipped,
        }
        if top is not None:
            explanation.update(
                {
                    "record": top.record,
                    "match_weight": round(top.score.match_weight, 3),
                    "model_probability": round(top.model_probability, 6),
                    "household_conflict": top.conflict,
                    "fields": [
                        {"field": f.field, "level": f.label, "weight": round(f.weight, 3)}
                        for f in top.score.fields
                        if f.gamma != -1
                    ],
                }
            )
        return MatchResult(
            customer_id=top.customer_id if qualifies and top else None,
            match_probability=top.match_probability if top else 0.0,
            tier=top.tier if top else "single",
            explanation=explanation,
            candidates=[c.summary() for c in ranked[1 : limit + 1]],
        )

    def _score(self, row: Record, record: Record) -> CandidateCustomer:
        score = self.model.score(row, record, lambda column, r: r.get(f"tf_{column}"))
        probability = score.match_probability
        conflict = "first_name" in self._fields and is_conflict(
            score.gamma("first_name"), score.weight("dob"), score.gamma("email")
        )
        decided = min(probability, self.options.conflict_cap) if conflict else probability
        tier = (
            "auto"
            if decided >= self.options.auto_threshold
            else "review"
            if decided >= self.options.review_threshold
            else "single"
        )
        return CandidateCustomer(
            customer_id=row["customer_id"],
            match_probability=decided,
            model_probability=probability,
            tier=tier,
            record=row["unique_id"],
            conflict=conflict,
            score=score,
        )

    # -- committing ----------------------------------------------------------------------
    def commit(self, raw: dict[str, Any], record_id: str | None = None) -> MatchResult:
        """Match and add the record to the warehouse: linked to the match when it is an
        automatic one, else a new customer. Idempotent per ``record_id`` (by default a hash of
        the record's fields): the same record committed twice is stored once."""
        record = standardise_record(raw, self.options.default_region)
        record_id = record_id or _content_id(raw)
        unique_id = f"{API_SOURCE}:{record_id}"
        with self._lock:
            known = self._api_ids.get(record_id) or self._stored(record_id)
            if known is not None:  # stored before: say so, change nothing
                return replace(known, committed=False, created=False)
            result = self._match(record)
            created = result.tier != "auto"
            if created:
                taken = {r["customer_id"] for r in self._extra}
                customer_id = fresh_id(unique_id, taken)
                while self.wh.scalar(
                    f"SELECT count(*) FROM {RECORD_CUSTOMER} WHERE customer_id = ?", [customer_id]
                ):
                    taken.add(customer_id)
                    customer_id = fresh_id(unique_id, taken)
            else:
                customer_id = str(result.customer_id)
            self._write(raw, record, record_id, customer_id, result, created)
            stored = {**record, "unique_id": unique_id, "customer_id": customer_id}
            position = self.size + len(self._extra)
            self._extra.append(stored)
            for key in self.keys:
                value = _join(stored, key)
                if value is not None:
                    h = int(key_hashes(np.array([value], dtype=object))[0])
                    self._extra_keys[key].setdefault(h, []).append(position)
            result.customer_id = customer_id
            if created:
                result.tier = "single"
            result.record_id, result.committed, result.created = record_id, True, created
            self._api_ids[record_id] = result
            return result

    def _stored(self, record_id: str) -> MatchResult | None:
        """A record committed before this server started (idempotency across restarts)."""
        rows = self.wh.query(
            f"SELECT customer_id, match_probability, tier FROM {RECORD_CUSTOMER} "
            "WHERE source = ? AND record_id = ?",
            [API_SOURCE, record_id],
        ).to_pylist()
        if not rows:
            return None
        row = rows[0]
        return MatchResult(
            customer_id=row["customer_id"],
            match_probability=float(row["match_probability"] or 0.0),
            tier=row["tier"],
            explanation={"already_committed": True},
            candidates=[],
            record_id=record_id,
            committed=False,
        )

    def _write(
        self,
        raw: dict[str, Any],
        record: Record,
        record_id: str,
        customer_id: str,
        result: MatchResult,
        created: bool,
    ) -> None:
        con = self.wh.connection
        now = datetime.now().replace(microsecond=0)
        values = [_blank(raw.get(f)) for f in RECORD_FIELDS]
        born = raw.get("date_of_birth")
        values[RECORD_FIELDS.index("date_of_birth")] = born if born else None
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(
                f"CREATE TABLE IF NOT EXISTS {API_RECORDS} AS SELECT * FROM {RECORDS} LIMIT 0"
            )
            columns = f"source, record_id, {', '.join(RECORD_FIELDS)}, record_date"
            marks = ", ".join("?" * (len(RECORD_FIELDS) + 3))
            for table in (API_RECORDS, RECORDS):
                con.execute(
                    f"INSERT INTO {table} ({columns}) VALUES ({marks})",
                    [API_SOURCE, record_id, *values, now],
                )
            con.execute(
                f"INSERT INTO {RECORD_CUSTOMER} (source, record_id, customer_id, "
                "match_probability, tier, identity_fields) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    API_SOURCE,
                    record_id,
                    customer_id,
                    round(result.match_probability, 6),
                    "auto" if not created else "single",
                    identity_fields(record),
                ],
            )
            index_columns = [c for c in self.wh.columns(MATCH_INDEX)]
            row = {"unique_id": f"{API_SOURCE}:{record_id}", "source": API_SOURCE,
                   "record_id": record_id, **record}  # fmt: skip
            con.execute(
                f"INSERT INTO {MATCH_INDEX} ({', '.join(index_columns)}) "
                f"VALUES ({', '.join('?' * len(index_columns))})",
                [row.get(c) for c in index_columns],
            )
            if self.wh.has_table(CUSTOMERS):
                con.execute(f"DELETE FROM {CUSTOMERS} WHERE customer_id = ?", [customer_id])
                mine = (
                    f"(SELECT * FROM {RECORD_CUSTOMER} WHERE customer_id = "
                    f"'{customer_id.replace(chr(39), '')}')"
                )
                con.execute(f"INSERT INTO {CUSTOMERS} {golden_sql(mine)}")
            if created and self.wh.has_table(CUSTOMER_ID_HISTORY):
                con.execute(
                    f"INSERT INTO {CUSTOMER_ID_HISTORY} (customer_id, event, related_id, "
                    "records, run_id) VALUES (?, 'new', NULL, 1, 'api')",
                    [customer_id],
                )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise


def _content_id(raw: dict[str, Any]) -> str:
    """A record id from the record's own fields: the same record gets the same id."""
    text = json.dumps(
        {f: str(raw.get(f)) for f in RECORD_FIELDS if raw.get(f) not in (None, "")},
        sort_keys=True,
    )
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()


def index_rows(wh: DuckDBWarehouse) -> pa.Table:
    """The whole match index, behaviour lists included (for audits and the parity test)."""
    return to_arrow(wh.connection.sql(f"SELECT * FROM {MATCH_INDEX} ORDER BY unique_id"))
