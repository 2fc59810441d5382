"""The REST API: real-time matching and every customer's view, over one warehouse.

``customerlens serve --warehouse DIR/lens.duckdb`` runs :func:`create_app` under uvicorn. One
process owns the warehouse file (DuckDB allows one writer): reads use a cursor per request,
writes (``commit=true`` matches, review decisions) go through one lock. Tables that are not
computed yet are left out of a customer's view, never faked; endpoints that need one answer 404
saying which command computes it.
"""

# no ``from __future__ import annotations``: FastAPI reads the endpoints' annotations at
# definition time, and some name objects local to create_app
import datetime as dt
import io
import json
import logging
import math
import secrets
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import duckdb
import pyarrow.csv as pacsv
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict, Field, model_validator

from customerlens import tables as T
from customerlens.api.privacy import mask_record
from customerlens.config import ResolveOptions, Settings
from customerlens.realtime.matcher import Matcher
from customerlens.resolve.labels import record_decision
from customerlens.warehouse import DuckDBWarehouse

log = logging.getLogger("customerlens.api")

#: tables ``GET /v1/export/{table}.csv`` serves (the warehouse's output contract)
EXPORTABLE = (
    T.RECORD_CUSTOMER, T.CUSTOMERS, T.REVIEW_QUEUE, T.LABELS, T.CUSTOMER_ID_HISTORY,
    T.REVENUE_GAP, T.CUSTOMER_FEATURES, T.RFM, T.CLV, T.CHURN, T.SEGMENTS, T.SEGMENT_PROFILES,
    T.SEGMENT_TRANSITIONS, T.LOOKALIKES, T.RECOMMENDATIONS, T.ANOMALIES, T.ACTIONS,
)  # fmt: skip
#: per-customer tables joined into ``GET /v1/customers/{id}``: response key -> table
CUSTOMER_VIEWS = {
    "features": T.CUSTOMER_FEATURES,
    "rfm": T.RFM,
    "clv": T.CLV,
    "churn": T.CHURN,
    "segment": T.SEGMENTS,
    "anomaly": T.ANOMALIES,
    "action": T.ACTIONS,
}
MAX_PAGE_SIZE = 500


# -- request and response models ----------------------------------------------------------
class MatchRecord(BaseModel):
    """A sign-up or guest checkout to match; any subset of the identifying fields."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    record_id: str | None = Field(
        default=None,
        max_length=128,
        pattern=r"^[A-Za-z0-9._:@-]+$",
        description="your id for this record (commit=true): committing it again changes nothing",
    )
    first_name: str | None = Field(default=None, max_length=100)
    surname: str | None = Field(default=None, max_length=100)
    full_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    postcode: str | None = Field(default=None, max_length=16)
    address: str | None = Field(default=None, max_length=300)
    date_of_birth: dt.date | None = Field(default=None, description="ISO date, YYYY-MM-DD")

    @model_validator(mode="after")
    def _identifying(self) -> "MatchRecord":
        if not any(getattr(self, f) for f in IDENTIFYING):
            raise ValueError(f"give at least one of: {', '.join(IDENTIFYING)}")
        if self.date_of_birth is not None and not (
            dt.date(1900, 1, 1) <= self.date_of_birth <= dt.date.today()
        ):
            raise ValueError("date_of_birth must be between 1900-01-01 and today")
        return self


IDENTIFYING = (
    "first_name", "surname", "full_name", "email", "phone", "postcode", "address", "date_of_birth"
)  # fmt: skip


class Candidate(BaseModel):
    customer_id: str
    match_probability: float
    tier: Literal["auto", "review", "single"]


class MatchResponse(BaseModel):
    customer_id: str | None = Field(description="the matched customer; null when none qualifies")
    match_probability: float = Field(ge=0, le=1)
    tier: Literal["auto", "review", "single"]
    explanation: dict[str, Any]
    candidates: list[Candidate]
    record_id: str | None = None
    committed: bool | None = None
    created: bool | None = Field(default=None, description="commit made a new customer")


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["accept", "reject"]
    reviewer: str = Field(default="api", max_length=100)


class Page(BaseModel):
    page: int
    page_size: int
    total: int
    items: list[dict[str, Any]]


# -- helpers ------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """A JSON-safe value: dates as ISO text, NaN as null, decimals as floats."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _rows(cur: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict]:
    result = cur.execute(sql, params or [])
    names = [d[0] for d in result.description]
    return [{n: _plain(v) for n, v in zip(names, row, strict=True)} for row in result.fetchall()]


class _Limit:
    """ASGI middleware: refuse bodies over ``max_bytes`` with 413, declared or streamed.

    A body without a Content-Length (chunked) is read here first, up to the limit, and replayed
    to the app: FastAPI turns any error raised while it reads a body into a 400.
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit():
            if int(declared) > self.max_bytes:
                await self._refuse(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            if seen > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if replayed:
                return dict(await receive())
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: dict, receive: Any, send: Any) -> None:
        response = JSONResponse(
            {"detail": f"request body over {self.max_bytes} bytes"}, status_code=413
        )
        await response(scope, receive, send)


# -- the app ------------------------------------------------------------------------------
def create_app(
    warehouse: Path,
    *,
    settings: Settings | None = None,
    options: ResolveOptions | None = None,
) -> FastAPI:
    """The FastAPI app over ``warehouse`` (a ``lens.duckdb`` file or the folder holding it)."""
    settings = settings or Settings()
    path = warehouse / "lens.duckdb" if warehouse.is_dir() else warehouse
    state: dict[str, Any] = {}
    write_lock = threading.Lock()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        wh = DuckDBWarehouse(path, threads=settings.threads, memory_limit=settings.memory_limit)
        state["wh"] = wh
        state["matcher"] = Matcher(wh, options)
        log.info("serving %s: %s records indexed", path, f"{state['matcher'].size:,}")
        try:
            yield
        finally:
            wh.close()

    app = FastAPI(
        title="customerlens",
        version="1",
        description="Real-time identity matching and customer intelligence over a customerlens "
        "warehouse. Send the API key in the `X-API-Key` header.",
        lifespan=lifespan,
    )
    key_header = APIKeyHeader(name="X-API-Key", auto_error=False)

    def authorised(key: Annotated[str | None, Depends(key_header)]) -> None:
        expected = settings.api_key.get_secret_value() if settings.api_key else None
        if expected and not (key and secrets.compare_digest(key.encode(), expected.encode())):
            raise HTTPException(401, "missing or wrong API key (header X-API-Key)")

    def cursor() -> Iterator[duckdb.DuckDBPyConnection]:
        cur = state["wh"].connection.cursor()
        try:
            yield cur
        finally:
            cur.close()

    Cur = Annotated[duckdb.DuckDBPyConnection, Depends(cursor)]
    tables_cache: dict[str, bool] = {}

    def has(cur: duckdb.DuckDBPyConnection, table: str) -> bool:
        if table not in tables_cache or not tables_cache[table]:
            tables_cache[table] = bool(
                cur.execute(
                    "SELECT count(*) FROM information_schema.tables WHERE table_name = ? "
                    "AND table_schema = 'main'",
                    [table],
                ).fetchall()[0][0]
            )
        return tables_cache[table]

    def need(cur: duckdb.DuckDBPyConnection, table: str, command: str = "run") -> None:
        if not has(cur, table):
            raise HTTPException(
                404, f"`{table}` is not computed for this warehouse: run `customerlens {command}`"
            )

    def known_customer(cur: duckdb.DuckDBPyConnection, customer_id: str) -> None:
        found = cur.execute(
            f"SELECT 1 FROM {T.RECORD_CUSTOMER} WHERE customer_id = ? LIMIT 1", [customer_id]
        ).fetchall()
        if not found:
            raise HTTPException(404, f"no customer {customer_id!r}")

    @app.exception_handler(Exception)
    async def _internal(_request: Request, exc: Exception) -> JSONResponse:
        error_id = uuid.uuid4().hex[:12]
        log.error("error %s: %s", error_id, type(exc).__name__, exc_info=exc)
        return JSONResponse({"detail": "internal error", "error_id": error_id}, status_code=500)

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, Any]:
        matcher = state.get("matcher")
        return {"status": "ok", "records_indexed": matcher.size if matcher else 0}

    v1 = [Depends(authorised)]

    @app.post("/v1/match", response_model=MatchResponse, dependencies=v1, tags=["matching"])
    def match(
        record: MatchRecord,
        commit: Annotated[bool, Query(description="also add the record to the warehouse")] = False,
    ) -> dict[str, Any]:
        raw = record.model_dump(exclude={"record_id"})
        matcher: Matcher = state["matcher"]
        if commit:
            with write_lock:
                result = matcher.commit(raw, record.record_id)
        else:
            result = matcher.match(raw)
        # debug, not info: a line per match costs throughput at hundreds of matches a second
        log.debug(
            "match %s -> %s %s %.3f%s",
            mask_record(raw),
            result.customer_id,
            result.tier,
            result.match_probability,
            " (committed)" if result.committed else "",
        )
        return result.as_dict()

    @app.get("/v1/customers/{customer_id}", dependencies=v1, tags=["customers"])
    def customer(customer_id: Annotated[str, PathParam(max_length=128)], cur: Cur) -> dict:
        known_customer(cur, customer_id)
        out: dict[str, Any] = {"customer_id": customer_id}
        if has(cur, T.CUSTOMERS):
            golden = _rows(cur, f"SELECT * FROM {T.CUSTOMERS} WHERE customer_id = ?", [customer_id])
            if golden:
                record = golden[0]
                provenance = record.pop("provenance", None)
                out["golden_record"] = record
                out["provenance"] = json.loads(provenance) if provenance else None
        linked: dict[str, list[dict]] = {}
        for row in _rows(
            cur,
            f"SELECT source, record_id, match_probability, tier FROM {T.RECORD_CUSTOMER} "
            "WHERE customer_id = ? ORDER BY source, record_id",
            [customer_id],
        ):
            linked.setdefault(row.pop("source"), []).append(row)
        out["linked_records"] = linked
        for key, table in CUSTOMER_VIEWS.items():
            if has(cur, table):
                found = _rows(cur, f"SELECT * FROM {table} WHERE customer_id = ?", [customer_id])
                if found:
                    found[0].pop("customer_id", None)
                    out[key] = found[0]
        return out

    @app.get("/v1/customers", response_model=Page, dependencies=v1, tags=["customers"])
    def customers(
        cur: Cur,
        segment: Annotated[str | None, Query(max_length=100)] = None,
        min_risk: Annotated[float | None, Query(ge=0, le=1)] = None,
        page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
        page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    ) -> dict[str, Any]:
        need(cur, T.CUSTOMERS, "resolve")
        columns = ["c.customer_id", "c.first_name", "c.surname", "c.records"]
        joins: list[str] = []
        where: list[str] = []
        params: list[Any] = []
        if has(cur, T.SEGMENTS):
            columns += ["s.segment", "s.segment_name"]
            joins.append(f"LEFT JOIN {T.SEGMENTS} s USING (customer_id)")
        if has(cur, T.CHURN):
            columns += ["h.p_churn", "h.risk_band"]
            joins.append(f"LEFT JOIN {T.CHURN} h USING (customer_id)")
        if has(cur, T.CLV):
            columns += ["v.expected_value"]
            joins.append(f"LEFT JOIN {T.CLV} v USING (customer_id)")
        if segment is not None:
            need(cur, T.SEGMENTS)
            where.append("(CAST(s.segment AS VARCHAR) = ? OR s.segment_name = ?)")
            params += [segment, segment]
        if min_risk is not None:
            need(cur, T.CHURN)
            where.append("h.p_churn >= ?")
            params.append(min_risk)
        base = f"FROM {T.CUSTOMERS} c {' '.join(joins)}" + (
            f" WHERE {' AND '.join(where)}" if where else ""
        )
        total = cur.execute(f"SELECT count(*) {base}", params).fetchall()[0][0]
        items = _rows(
            cur,
            f"SELECT {', '.join(columns)} {base} ORDER BY c.customer_id LIMIT ? OFFSET ?",
            [*params, page_size, (page - 1) * page_size],
        )
        return {"page": page, "page_size": page_size, "total": int(total), "items": items}

    def per_customer(table: str, order: str) -> Any:
        def read(
            customer_id: Annotated[str, PathParam(max_length=128)], cur: Cur
        ) -> list[dict[str, Any]]:
            known_customer(cur, customer_id)
            need(cur, table)
            return _rows(
                cur, f"SELECT * FROM {table} WHERE customer_id = ? ORDER BY {order}", [customer_id]
            )

        return read

    app.get("/v1/customers/{customer_id}/recommendations", dependencies=v1, tags=["customers"])(
        per_customer(T.RECOMMENDATIONS, "rank")
    )
    app.get("/v1/customers/{customer_id}/lookalikes", dependencies=v1, tags=["customers"])(
        per_customer(T.LOOKALIKES, "rank")
    )

    @app.get("/v1/review", response_model=Page, dependencies=v1, tags=["review"])
    def review(
        cur: Cur,
        page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
        page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    ) -> dict[str, Any]:
        need(cur, T.REVIEW_QUEUE, "resolve")
        total = cur.execute(f"SELECT count(*) FROM {T.REVIEW_QUEUE}").fetchall()[0][0]
        items = _rows(
            cur,
            f"SELECT * FROM {T.REVIEW_QUEUE} ORDER BY decision_probability DESC, pair_id "
            "LIMIT ? OFFSET ?",
            [page_size, (page - 1) * page_size],
        )
        return {"page": page, "page_size": page_size, "total": int(total), "items": items}

    @app.post("/v1/review/{pair_id}", dependencies=v1, tags=["review"])
    def decide(
        pair_id: Annotated[str, PathParam(max_length=64)], decision: Decision, cur: Cur
    ) -> dict[str, Any]:
        need(cur, T.MATCH_PAIRS, "resolve")
        pair = _rows(
            cur,
            f"SELECT unique_id_l, unique_id_r FROM {T.MATCH_PAIRS} WHERE pair_id = ?",
            [pair_id],
        )
        if not pair:
            raise HTTPException(404, f"no pair {pair_id!r}")
        with write_lock:
            label = record_decision(
                state["wh"],
                pair[0]["unique_id_l"],
                pair[0]["unique_id_r"],
                decision.decision,
                who=decision.reviewer,
                pair_id=pair_id,
            )
        return {"pair_id": pair_id, "label": label, "applies": "at the next `customerlens resolve`"}

    @app.get("/v1/segments", dependencies=v1, tags=["analytics"])
    def segments(cur: Cur) -> list[dict[str, Any]]:
        need(cur, T.SEGMENT_PROFILES)
        return _rows(cur, f"SELECT * FROM {T.SEGMENT_PROFILES} ORDER BY segment")

    @app.get("/v1/metrics", dependencies=v1, tags=["analytics"])
    def metrics(cur: Cur) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if has(cur, T.RUN_METADATA):
            for row in _rows(
                cur,
                f"SELECT stage, finished_at, seconds, row_counts, metrics FROM {T.RUN_METADATA} "
                "QUALIFY row_number() OVER (PARTITION BY stage ORDER BY finished_at DESC) = 1",
            ):
                stage = row.pop("stage")
                for key in ("row_counts", "metrics"):
                    if isinstance(row[key], str):
                        row[key] = json.loads(row[key])
                out[stage] = row
        summary = path.parent / "metrics.json"
        if summary.exists():
            out["summary"] = json.loads(summary.read_text())
        return out

    @app.get("/v1/export/{table}.csv", dependencies=v1, tags=["analytics"])
    def export(table: str, cur: Cur) -> StreamingResponse:
        if table not in EXPORTABLE:
            raise HTTPException(404, f"no table {table!r}; exportable: {', '.join(EXPORTABLE)}")
        need(cur, table)
        # a cursor of its own: the request's cursor closes before the body is streamed
        stream = state["wh"].connection.cursor()
        reader = stream.sql(f"SELECT * FROM {table}").to_arrow_reader(50_000)

        def chunks() -> Iterator[bytes]:
            try:
                first = True
                for batch in reader:
                    buffer = io.BytesIO()
                    pacsv.write_csv(batch, buffer, pacsv.WriteOptions(include_header=first))
                    first = False
                    yield buffer.getvalue()
                if first:  # an empty table still gets its header row
                    buffer = io.BytesIO()
                    pacsv.write_csv(reader.schema.empty_table(), buffer)
                    yield buffer.getvalue()
            finally:
                stream.close()

        return StreamingResponse(
            chunks(),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{table}.csv"'},
        )

    app.add_middleware(_Limit, max_bytes=settings.max_request_bytes)
    return app
