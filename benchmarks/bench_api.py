"""Real-time matching under load: the live server on loopback, an open- and a closed-loop client.

    python benchmarks/bench_api.py --people 1000000
    python benchmarks/bench_api.py --people 1000000 --shop /tmp/bench_api_1000000/shop \
        --warehouse /tmp/bench_api_1000000/out/lens.duckdb            # reuse a resolved shop
    python benchmarks/bench_api.py --people 20000 --duration 15       # a quick check

The target (issue tracker): p99 latency under 50 ms at 1,000,000 resolved records and at least
200 matches/s on 2 cores, measured with a load generator against the live server, not TestClient.

Protocol:

1. Unless ``--warehouse`` is given: generate the shop (``customerlens generate``, skipped when
   ``--shop`` holds the CSVs) and ingest + resolve it (``customerlens resolve``) in child
   processes, into ``/tmp/bench_api_<N>/`` (kept, so later runs can pass ``--shop`` and
   ``--warehouse``).
2. Before the server starts (DuckDB allows one process the file), read a sample of ``records``
   with each record's customer (``record_customer``) and, when the shop's ``truth.csv`` is known,
   the customers holding any record of the same true person. Turn it into a workload: existing
   records sent as they are, without their email, with a typo in a name, after a move (another
   record's postcode and address), typo and no email; and brand-new people (names, postcode and
   address recombined from different records, a fresh email and phone) that should match nobody.
   Each body is checked against the API's own ``MatchRecord`` model first.
3. Start ``customerlens serve`` as a subprocess on a free loopback port with an API key; startup
   is the time until ``GET /healthz`` answers (the matcher loads its index in the app's lifespan,
   before uvicorn accepts connections). Server RSS (VmRSS, VmHWM) after startup and at the end.
4. Open loop: ``--rate`` requests/s of ``POST /v1/match?commit=false`` for ``--duration`` s, each
   sent at its planned time whatever the earlier ones are doing; latency runs from the planned
   time, so queueing in the client or the server counts (no coordinated omission). A warm-up of
   ``--warmup`` s at the same rate is discarded. Repeated ``--repeat`` times; medians reported.
5. Closed loop: for each of ``--concurrency`` (e.g. ``1,8``), that many workers send back to back
   for ``--closed-duration`` s: the most matches/s the server gives, and the latency at that load.
6. Hit quality over every answered request: for perturbed existing records, the share matched to
   the source record's own customer, to another customer (and of those, to a customer holding
   the same true person, from truth.csv), or to none; for new people, the share matched to anyone.

The load generator runs on the same 2 cores as the server and takes CPU from it; its own CPU
time, the server's and that of any other process are reported per phase (``--nice -10`` and
``--wait-quiet`` keep other work on a shared machine out of the figures). Its HTTP client is a
lean one on asyncio streams by default: httpx (``--client httpx``) costs about 2 ms of CPU per
request, 0.4-0.5 of a core at 200/s, more as its pool grows under a backlog.
Results: benchmarks/results/api_<N>.json and api_<N>.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import secrets
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CLI = Path(sys.executable).parent / "customerlens"
ROLES = ("accounts", "crm", "transactions")
FIELDS = ("first_name", "surname", "full_name", "email", "phone", "postcode", "address",
          "date_of_birth")  # fmt: skip
#: workload mix: kind -> share (new = a person the warehouse does not hold)
MIX = {
    "exact": 0.15,
    "no_email": 0.20,
    "name_typo": 0.20,
    "moved": 0.15,
    "typo_no_email": 0.05,
    "new": 0.25,
}
TARGET_P99_MS = 50.0
TARGET_RATE = 200.0
CLIENT_TIMEOUT = 30.0  # seconds
_CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- preparing the warehouse --------------------------------------------------------------
def _child(cmd: list[str], log: Path) -> dict[str, Any]:
    """Run ``cmd`` with its output in ``log``: wall seconds and the children's peak RSS."""
    started = time.perf_counter()
    with log.open("w") as out:
        subprocess.run(cmd, check=True, stdout=out, stderr=subprocess.STDOUT)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": round(time.perf_counter() - started, 1), "peak_children_mb": round(peak)}


def prepare(args: argparse.Namespace, work: Path) -> tuple[Path, Path | None, dict[str, Any]]:
    """The warehouse to serve, the shop folder (for truth.csv) and what preparing it took."""
    prep: dict[str, Any] = {}
    shop = args.shop or work / "shop"
    if args.warehouse is not None:
        wh = args.warehouse / "lens.duckdb" if args.warehouse.is_dir() else args.warehouse
        return wh, (shop if (shop / "truth.csv").exists() else None), {"reused": str(wh)}
    work.mkdir(parents=True, exist_ok=True)
    if all((shop / f"{r}.csv").exists() for r in (*ROLES, "truth")):
        prep["generate"] = {"reused": str(shop)}
    else:
        cmd = [str(CLI), "generate", "--people", str(args.people), "--seed", "42",
               "--out", str(shop)]  # fmt: skip
        prep["generate"] = {"command": shlex.join(cmd), **_child(cmd, work / "generate.log")}
    out = work / "out"
    for stale in ("lens.duckdb", "lens.duckdb.wal"):
        (out / stale).unlink(missing_ok=True)  # a fresh resolve, not a re-run over an old one
    cmd = [str(CLI), "resolve", *[a for r in ROLES for a in (f"--{r}", str(shop / f"{r}.csv"))],
           "--out", str(out)]  # fmt: skip
    prep["ingest_resolve"] = {"command": shlex.join(cmd), **_child(cmd, work / "resolve.log")}
    return out / "lens.duckdb", shop, prep


# -- the workload -------------------------------------------------------------------------
@dataclass
class Query:
    kind: str
    body: dict[str, Any]
    source: str | None = None  # the existing record it was made from
    record_id: str | None = None
    customer_id: str | None = None  # that record's customer
    person_customers: frozenset[str] = field(default_factory=frozenset)  # truth.csv


def read_sample(wh: Path, shop: Path | None, size: int, seed: int) -> dict[str, Any]:
    """Sampled records with their customers, and the warehouse's sizes (read-only)."""
    import duckdb

    con = duckdb.connect(str(wh), read_only=True)
    try:
        counts = {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]
            for t in ("records", "record_customer", "match_index", "customers")
        }
        by_source = dict(con.execute("SELECT source, count(*) FROM records GROUP BY 1").fetchall())
        cols = ", ".join(f"r.{c}" for c in FIELDS)
        # three independent samples: the records to send, and donors for the new people / moves
        rows = con.execute(f"""
            WITH s AS (SELECT * FROM records TABLESAMPLE reservoir({3 * size} ROWS)
                       REPEATABLE ({seed}))
            SELECT r.source, r.record_id, {cols}, rc.customer_id
            FROM s r JOIN record_customer rc USING (source, record_id)
        """).fetchall()
        names = ["source", "record_id", *FIELDS, "customer_id"]
        records = [dict(zip(names, row, strict=True)) for row in rows]
        person: dict[tuple[str, str], frozenset[str]] = {}
        if shop is not None and (shop / "truth.csv").exists():
            con.execute("CREATE TEMP TABLE picked (source VARCHAR, record_id VARCHAR)")
            con.executemany(
                "INSERT INTO picked VALUES (?, ?)",
                [(r["source"], r["record_id"]) for r in records],
            )
            truth = str(shop / "truth.csv")
            for source, record_id, customers in con.execute(f"""
                WITH t AS (SELECT * FROM read_csv('{truth}', all_varchar = true)),
                     mine AS (SELECT p.source, p.record_id, t.person_id
                              FROM picked p JOIN t USING (source, record_id)),
                     held AS (SELECT t.person_id, list(DISTINCT rc.customer_id) AS customers
                              FROM t JOIN record_customer rc USING (source, record_id)
                              WHERE t.person_id IN (SELECT person_id FROM mine)
                              GROUP BY 1)
                SELECT mine.source, mine.record_id, held.customers
                FROM mine JOIN held USING (person_id)
            """).fetchall():
                person[(source, record_id)] = frozenset(customers)
    finally:
        con.close()
    return {"counts": counts, "by_source": by_source, "records": records, "person": person}


_KEYBOARD = "qwertyuiopasdfghjklzxcvbnm"


def typo(text: str, rng: random.Random) -> str:
    """One keying error past the first letter: a letter dropped, doubled, swapped or mistyped."""
    if len(text) < 3:
        return text + rng.choice(_KEYBOARD)
    i = rng.randrange(1, len(text) - 1)
    op = rng.choice(("drop", "double", "swap", "substitute"))
    if op == "drop":
        return text[:i] + text[i + 1 :]
    if op == "double":
        return text[:i] + text[i] + text[i:]
    if op == "swap":
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    near = _KEYBOARD[(_KEYBOARD.find(text[i].lower()) + rng.choice((-1, 1))) % len(_KEYBOARD)]
    return text[:i] + near + text[i + 1 :]


def _body(record: dict[str, Any]) -> dict[str, Any]:
    body = {f: record.get(f) for f in FIELDS}
    if body["first_name"] or body["surname"]:
        body["full_name"] = None  # as a sign-up form sends it; full name only when that is all
    if body["date_of_birth"] is not None:
        body["date_of_birth"] = body["date_of_birth"].isoformat()
    return {k: v for k, v in body.items() if v not in (None, "")}


def build_workload(sample: dict[str, Any], size: int, seed: int) -> tuple[list[Query], int]:
    """``size`` queries in the ``MIX`` shares (shuffled), and how many failed validation."""
    from pydantic import ValidationError

    from customerlens.api.app import MatchRecord

    rng = random.Random(seed)
    records = list(sample["records"])
    rng.shuffle(records)
    third = len(records) // 3
    targets, donors, names = records[:third], records[third : 2 * third], records[2 * third :]
    kinds = list(MIX)
    queries: list[Query] = []
    invalid = 0
    t = 0
    while len(queries) < size and t < len(targets):
        kind = rng.choices(kinds, weights=[MIX[k] for k in kinds])[0]
        if kind == "new":
            body = _new_person(rng, donors, names)
            query = Query(kind, body)
        else:
            record = targets[t]
            t += 1
            body = _body(record)
            if kind in ("no_email", "typo_no_email") and "email" not in body:
                kind = "name_typo" if kind == "typo_no_email" else "exact"
            if kind in ("name_typo", "typo_no_email"):
                which = [f for f in ("first_name", "surname", "full_name") if f in body]
                if which:
                    name = rng.choice(which)
                    body[name] = typo(body[name], rng)
                else:
                    kind = "exact"
            if kind in ("no_email", "typo_no_email"):
                del body["email"]
            if kind == "moved":
                donor = rng.choice(donors)
                body.pop("address", None)
                body["postcode"] = donor["postcode"] or body.get("postcode")
                if donor["address"] and "address" in _body(record):
                    body["address"] = donor["address"]
            query = Query(
                kind,
                body,
                record["source"],
                record["record_id"],
                record["customer_id"],
                sample["person"].get((record["source"], record["record_id"]), frozenset()),
            )
        try:
            MatchRecord(**query.body)
        except ValidationError:
            invalid += 1
            continue
        queries.append(query)
    return queries, invalid


def _new_person(rng: random.Random, donors: list[dict], names: list[dict]) -> dict[str, Any]:
    """Someone who is not in the warehouse: a first name, a surname and a home from three
    different records, a fresh email and mobile number, sometimes a date of birth."""
    first = rng.choice([r for r in rng.sample(names, 20) if r["first_name"]] or names)
    last = rng.choice([r for r in rng.sample(names, 20) if r["surname"]] or names)
    home = rng.choice(donors)
    body: dict[str, Any] = {"first_name": first["first_name"], "surname": last["surname"]}
    if home["postcode"]:
        body["postcode"] = home["postcode"]
    if home["address"] and rng.random() < 0.5:
        body["address"] = home["address"]
    if rng.random() < 0.7:
        user = f"{body['first_name'] or 'x'}.{body['surname'] or 'y'}{rng.randrange(10, 10_000)}"
        domain = rng.choice(("gmail.com", "hotmail.co.uk", "outlook.com", "yahoo.co.uk"))
        body["email"] = f"{user.lower().replace(' ', '')}@{domain}"
    if rng.random() < 0.4:
        body["phone"] = f"07{rng.randrange(100, 1000)} {rng.randrange(100_000, 1_000_000)}"
    if rng.random() < 0.3:
        body["date_of_birth"] = f"{rng.randrange(1940, 2006)}-{rng.randrange(1, 13):02d}-" + (
            f"{rng.randrange(1, 29):02d}"
        )
    return {k: v for k, v in body.items() if v}


# -- the server ---------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_status(pid: int) -> dict[str, float]:
    """VmRSS / VmHWM in MB and CPU seconds (user + system) of a process."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = round(int(value.split()[0]) / 1024, 1)
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    out["cpu_s"] = (int(stat[11]) + int(stat[12])) / _CLK_TCK  # utime, stime
    return out


def machine_busy_cpu() -> float:
    """CPU seconds all processes of the machine have been busy (``/proc/stat``)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / _CLK_TCK


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Server:
    def __init__(
        self, wh: Path, log: Path, log_level: str, timeout: float, wrapper: Path | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.key = secrets.token_urlsafe(24)
        # the installed entry point, or a script that patches something and then runs the CLI
        program = [sys.executable, str(wrapper)] if wrapper else [str(CLI)]
        self.command = [*program, "serve", "--warehouse", str(wh), "--port", str(self.port),
                        "--log-level", log_level]  # fmt: skip
        self.log = log
        self.timeout = timeout

    def start(self) -> dict[str, Any]:
        import httpx

        env = {**os.environ, "CUSTOMERLENS_API_KEY": self.key}
        self._log = self.log.open("w")
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            self.command, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log}")
            if time.perf_counter() - started > self.timeout:
                self.stop()
                raise RuntimeError(f"server not healthy after {self.timeout} s; see {self.log}")
            try:
                r = httpx.get(f"{self.url}/healthz", timeout=1.0)
                if r.status_code == 200:
                    health = r.json()
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        return {
            "startup_seconds": round(time.perf_counter() - started, 2),
            "healthz": health,
            "after_startup": proc_status(self.proc.pid),
        }

    async def drain(self, limit: float) -> float:
        """Wait until the server has worked off what earlier phases left queued (requests the
        client gave up on are still run): ``/healthz`` shares the match endpoints' thread pool,
        so it answers fast only when nothing waits. The seconds waited."""
        import httpx

        started = time.perf_counter()
        fast = 0
        async with httpx.AsyncClient(base_url=self.url, timeout=limit) as client:
            while fast < 2 and time.perf_counter() - started < limit:
                t = time.perf_counter()
                try:
                    await client.get("/healthz")
                    fast = fast + 1 if time.perf_counter() - t < 0.05 else 0
                except httpx.HTTPError:
                    fast = 0
                await asyncio.sleep(0.2)
        return round(time.perf_counter() - started, 1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


# -- the load -----------------------------------------------------------------------------
@dataclass
class Outcome:
    query: int
    latency_ms: float
    status: int | str
    customer_id: str | None = None
    tier: str | None = None
    candidates: int | None = None
    keys_too_common: int = 0
    late_ms: float = 0.0  # how late the client sent it (open loop)
    planned: float = 0.0


class RawClient:
    """A lean HTTP/1.1 client on asyncio streams: keep-alive connections, bodies encoded once.

    The load generator shares the 2 cores with the server; httpx spends about 2 ms of CPU per
    request here (0.4-0.5 core at 200/s, more as its pool grows under a backlog), which is CPU
    the server then lacks. This one spends a few hundred microseconds.
    """

    KEEP_ALIVE = 4.0  # uvicorn closes idle connections after 5 s

    def __init__(self, server: Server, queries: list[Query]) -> None:
        self.port = server.port
        self.requests = [
            (
                f"POST /v1/match?commit=false HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                f"X-API-Key: {server.key}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
            for body in (json.dumps(q.body).encode() for q in queries)
        ]
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []

    async def __aenter__(self) -> RawClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        for _reader, writer, _used in self.idle:
            writer.close()
        self.idle.clear()

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        now = time.perf_counter()
        while self.idle:
            reader, writer, used = self.idle.pop()
            if now - used < self.KEEP_ALIVE:
                return reader, writer
            writer.close()
        return await asyncio.open_connection("127.0.0.1", self.port)

    async def match(self, i: int) -> tuple[int | str, dict[str, Any] | None]:
        writer = None
        try:
            async with asyncio.timeout(CLIENT_TIMEOUT):
                reader, writer = await self._connection()
                writer.write(self.requests[i])
                head = (await reader.readuntil(b"\r\n\r\n")).lower()
                status = int(head[9:12])
                at = head.index(b"content-length:") + 15
                body = await reader.readexactly(int(head[at : head.index(b"\r\n", at)]))
        except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError) as exc:
            if writer is not None:
                writer.close()
            return type(exc).__name__, None
        if b"connection: close" in head:
            writer.close()
        else:
            self.idle.append((reader, writer, time.perf_counter()))
        return status, (json.loads(body) if status == 200 else None)


class HttpxClient:
    """httpx.AsyncClient, for comparison (``--client httpx``)."""

    def __init__(self, server: Server, queries: list[Query], connections: int) -> None:
        import httpx

        self.queries = queries
        self.client = httpx.AsyncClient(
            base_url=server.url,
            headers={"X-API-Key": server.key},
            timeout=httpx.Timeout(CLIENT_TIMEOUT),
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    async def __aenter__(self) -> HttpxClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.client.aclose()

    async def match(self, i: int) -> tuple[int | str, dict[str, Any] | None]:
        import httpx

        try:
            r = await self.client.post(
                "/v1/match", params={"commit": "false"}, json=self.queries[i].body
            )
        except httpx.HTTPError as exc:
            return type(exc).__name__, None
        return r.status_code, (r.json() if r.status_code == 200 else None)


def make_client(kind: str, server: Server, queries: list[Query], connections: int) -> Any:
    if kind == "httpx":
        return HttpxClient(server, queries, connections)
    return RawClient(server, queries)


async def _send(client: Any, i: int, planned: float) -> Outcome:
    sent = time.perf_counter()
    status, data = await client.match(i)
    done = time.perf_counter()
    outcome = Outcome(
        i, (done - planned) * 1000, status, late_ms=(sent - planned) * 1000, planned=planned
    )
    if data is not None:
        outcome.customer_id, outcome.tier = data["customer_id"], data["tier"]
        outcome.candidates = data["explanation"].get("candidates_compared")
        outcome.keys_too_common = len(data["explanation"].get("keys_too_common") or ())
    return outcome


async def open_loop(
    server: Server,
    queries: list[Query],
    rate: float,
    seconds: float,
    offset: int,
    max_in_flight: int,
    kind: str = "raw",
) -> list[Outcome]:
    """``rate`` requests/s for ``seconds``, each started at its planned time.

    A request due while ``max_in_flight`` are unanswered is not sent: it counts as an error
    (``client_overload``) with the client timeout as its latency, so a server far behind fails
    the run instead of burying the client (and the shared CPU) under thousands of connections.
    """
    n = int(rate * seconds)
    in_flight = 0
    outcomes: list[Outcome] = []

    async def one(i: int, planned: float) -> None:
        nonlocal in_flight
        in_flight += 1
        try:
            outcomes.append(await _send(client, i, planned))
        finally:
            in_flight -= 1

    async with make_client(kind, server, queries, max_in_flight) as client:
        tasks = []
        start = time.perf_counter() + 0.05
        for k in range(n):
            planned = start + k / rate
            delay = planned - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            i = (offset + k) % len(queries)
            if in_flight >= max_in_flight:
                outcomes.append(
                    Outcome(i, CLIENT_TIMEOUT * 1000, "client_overload", planned=planned)
                )
                continue
            tasks.append(asyncio.create_task(one(i, planned)))
        await asyncio.gather(*tasks)
    return sorted(outcomes, key=lambda o: o.planned)


async def closed_loop(
    server: Server,
    queries: list[Query],
    workers: int,
    seconds: float,
    offset: int,
    kind: str = "raw",
) -> tuple[list[Outcome], float]:
    """``workers`` clients each sending the next request when the last one is answered."""
    counter = iter(range(offset, 10**12))
    outcomes: list[Outcome] = []
    async with make_client(kind, server, queries, workers) as client:
        start = time.perf_counter()
        stop = start + seconds

        async def worker() -> None:
            while time.perf_counter() < stop:
                i = next(counter) % len(queries)
                outcomes.append(await _send(client, i, time.perf_counter()))

        await asyncio.gather(*(worker() for _ in range(workers)))
        elapsed = time.perf_counter() - start
    return outcomes, elapsed


def latency(outcomes: list[Outcome]) -> dict[str, Any]:
    ms = np.array([o.latency_ms for o in outcomes])
    if not len(ms):
        return {}
    p = np.percentile(ms, [50, 90, 99, 99.9])
    return {
        "p50_ms": round(float(p[0]), 2),
        "p90_ms": round(float(p[1]), 2),
        "p99_ms": round(float(p[2]), 2),
        "p999_ms": round(float(p[3]), 2),
        "max_ms": round(float(ms.max()), 2),
        "mean_ms": round(float(ms.mean()), 2),
    }


def summarise(outcomes: list[Outcome], seconds: float) -> dict[str, Any]:
    errors: dict[str, int] = {}
    for o in outcomes:
        if o.status != 200:
            errors[str(o.status)] = errors.get(str(o.status), 0) + 1
    ok = [o for o in outcomes if o.status == 200]
    cands = np.array([o.candidates for o in ok if o.candidates is not None])
    late = np.array([o.late_ms for o in outcomes])
    out: dict[str, Any] = {
        "requests": len(outcomes),
        "ok": len(ok),
        "errors": errors,
        "matches_per_s": round(len(ok) / seconds, 1),
        **latency(outcomes),
        "client_send_late_p99_ms": round(float(np.percentile(late, 99)), 2) if len(late) else None,
    }
    if len(cands):
        c = np.percentile(cands, [50, 99])
        out["candidates_compared"] = {
            "p50": int(c[0]), "p99": int(c[1]), "max": int(cands.max()),
        }  # fmt: skip
        big = [o for o in ok if (o.candidates or 0) >= max(50, c[1])]
        out["latency_when_candidates_ge_p99"] = {"requests": len(big), **latency(big)}
        out["with_keys_too_common"] = sum(o.keys_too_common > 0 for o in ok)
    return out


def windows(outcomes: list[Outcome], rate: float, width: float = 10.0) -> list[dict[str, Any]]:
    """p50 / p99 per ``width`` seconds of planned send time (drift, pauses)."""
    out = []
    per = int(rate * width)
    for w in range(0, len(outcomes), per):
        chunk = outcomes[w : w + per]
        lat = latency(chunk)
        out.append({"from_s": round(w / rate, 1), "p50_ms": lat["p50_ms"], "p99_ms": lat["p99_ms"]})
    return out


def quality(outcomes: list[Outcome], queries: list[Query]) -> dict[str, Any]:
    """Per query kind: matched to the source record's customer, to another one (of those, to
    one holding the same true person), to none; for new people, matched to anyone."""
    seen: dict[int, Outcome] = {}
    for o in outcomes:
        if o.status == 200:
            seen.setdefault(o.query, o)  # the server is deterministic: one answer per query
    kinds: dict[str, dict[str, Any]] = {}
    for i, o in seen.items():
        q = queries[i]
        k = kinds.setdefault(q.kind, {"queries": 0, "same_customer": 0, "other_customer": 0,
                                      "other_customer_same_person": 0, "none": 0,
                                      "review_tier": 0})  # fmt: skip
        k["queries"] += 1
        k["review_tier"] += o.tier == "review"
        if o.customer_id is None:
            k["none"] += 1
        elif q.kind == "new" or o.customer_id != q.customer_id:
            k["other_customer"] += 1
            k["other_customer_same_person"] += o.customer_id in q.person_customers
        else:
            k["same_customer"] += 1
    for k in kinds.values():
        for key in ("same_customer", "other_customer", "other_customer_same_person", "none"):
            k[f"{key}_share"] = round(k[key] / k["queries"], 4)
    existing = [kinds[k] for k in kinds if k != "new"]
    total = sum(k["queries"] for k in existing)
    overall = {
        "queries": total,
        **{
            f"{key}_share": round(sum(k[key] for k in existing) / total, 4) if total else None
            for key in ("same_customer", "other_customer", "other_customer_same_person", "none")
        },
    }
    new = kinds.get("new")
    return {
        "existing": overall,
        "new_people": {
            "queries": new["queries"] if new else 0,
            "matched_to_anyone_share": new["other_customer_share"] if new else None,
        },
        "by_kind": kinds,
    }


def git_state() -> dict[str, Any]:
    """The commit served and the files of src/ changed since (the package is installed editable)."""

    def git(*cmd: str) -> str:
        done = subprocess.run(["git", *cmd], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "src_changed": git("status", "--short", "src")}


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = next(
        line.split()[1]
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "mem_gib": round(int(mem) / 1024**2, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def wait_quiet(server: Server, limit: float, threshold: float = 0.15) -> dict[str, Any]:
    """Wait (up to ``limit`` s) until other processes use under ``threshold`` of a core over 5 s:
    the server and the load generator share 2 cores, anything else running skews the figures."""
    started = time.perf_counter()
    while True:
        busy, mine = machine_busy_cpu(), self_cpu() + proc_status(server.proc.pid)["cpu_s"]
        time.sleep(5)
        other = (machine_busy_cpu() - busy) - (
            self_cpu() + proc_status(server.proc.pid)["cpu_s"] - mine
        )
        other = round(max(other, 0) / 5, 2)
        waited = round(time.perf_counter() - started, 1)
        if other < threshold or waited >= limit:
            return {"waited_s": waited, "other_cpu_share_of_one_core": other,
                    "quiet": other < threshold}  # fmt: skip


async def run_load(args: argparse.Namespace, server: Server, queries: list[Query]) -> dict:
    phases: dict[str, Any] = {"open_loop": [], "closed_loop": []}
    if args.wait_quiet > 0:
        phases["wait_quiet"] = wait_quiet(server, args.wait_quiet)
        print(f"machine: {phases['wait_quiet']}", file=sys.stderr, flush=True)
    everything: list[Outcome] = []
    offset = 0

    def measure() -> tuple[float, float, float]:
        return proc_status(server.proc.pid)["cpu_s"], self_cpu(), machine_busy_cpu()

    def cpu(before: tuple[float, ...], after: tuple[float, ...], wall: float, n: int) -> dict:
        server, client, busy = (b - a for a, b in zip(before, after, strict=True))
        return {
            "server_cpu_ms_per_request": round(server * 1000 / max(n, 1), 2),
            "server_cpu_share_of_one_core": round(server / wall, 2),
            "client_cpu_share_of_one_core": round(client / wall, 2),
            # anything else running on the machine meanwhile (should be ~0)
            "other_cpu_share_of_one_core": round(max(busy - server - client, 0) / wall, 2),
        }

    if args.warmup > 0:
        warm = await open_loop(
            server, queries, args.rate, args.warmup, offset, args.max_in_flight, args.client
        )
        offset += len(warm)
        phases["warmup"] = summarise(warm, args.warmup)
        phases["warmup"]["drain_s"] = await server.drain(args.drain_limit)

    def quiet() -> dict[str, Any] | None:  # before each measured phase too
        return wait_quiet(server, args.wait_quiet) if args.wait_quiet > 0 else None

    for run in range(args.repeat):
        quiet_before = quiet()
        before = measure()
        started = time.perf_counter()
        outcomes = await open_loop(
            server, queries, args.rate, args.duration, offset, args.max_in_flight, args.client
        )
        wall = time.perf_counter() - started
        offset += len(outcomes)
        everything += outcomes
        result = summarise(outcomes, args.duration)
        result |= {
            "run": run + 1,
            "wall_s": round(wall, 1),
            "quiet_before": quiet_before,
            **cpu(before, measure(), wall, len(outcomes)),
            "windows": windows(outcomes, args.rate),
            "drain_s": await server.drain(args.drain_limit),
        }
        phases["open_loop"].append(result)
        print(f"open loop {run + 1}: {_line(result)}", file=sys.stderr, flush=True)
    for workers in args.concurrency:
        for run in range(args.repeat):
            quiet_before = quiet()
            before = measure()
            outcomes, wall = await closed_loop(
                server, queries, workers, args.closed_duration, offset, args.client
            )
            offset += len(outcomes)
            everything += outcomes
            result = summarise(outcomes, wall)
            result |= {
                "workers": workers,
                "run": run + 1,
                "wall_s": round(wall, 1),
                "quiet_before": quiet_before,
                **cpu(before, measure(), wall, len(outcomes)),
                "drain_s": await server.drain(args.drain_limit),
            }
            phases["closed_loop"].append(result)
            print(f"closed loop {workers} workers {run + 1}: {_line(result)}",
                  file=sys.stderr, flush=True)  # fmt: skip
    phases["quality"] = quality(everything, queries)
    return phases


def _line(r: dict[str, Any]) -> str:
    return (
        f"{r['matches_per_s']}/s, p50 {r.get('p50_ms')} ms, p99 {r.get('p99_ms')} ms, "
        f"max {r.get('max_ms')} ms, errors {sum(r['errors'].values())}"
    )


MEDIAN_KEYS = (
    "matches_per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms", "server_cpu_ms_per_request",
    "client_cpu_share_of_one_core", "other_cpu_share_of_one_core",
)  # fmt: skip


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return round(statistics.median(values), 2) if values else None


# -- the report ---------------------------------------------------------------------------
def report(result: dict[str, Any], path: Path) -> str:
    load, srv, m = result["load"], result["server"], result["machine"]
    opened = load["open_loop"]
    q = load["quality"]
    medians = result["medians"]
    lines = [
        f"Real-time matching under load, {result['when']}: {result['people']:,} generated "
        f"people, {result['warehouse_counts']['match_index']:,} records indexed "
        f"({result['warehouse_counts']['customers']:,} customers).",
        "",
        f"Machine: {m['nproc']} cores ({m['cpu_model']}), {m['mem_gib']} GiB, Python "
        f"{m['python']}. The load generator (asyncio, `--client {result['args']['client']}`, one "
        "process) runs on the **same "
        "2 cores** as the server (`customerlens serve`, one uvicorn process, loopback); its CPU "
        "is taken from the server's.",
        "",
        f"Command: `{result['command']}`",
        "",
        f"Server: `{shlex.join(result['server_command'])}` (API key in the environment). "
        f"Startup (process start to `/healthz` answering, index loaded) "
        f"**{srv['startup_seconds']} s**; RSS after startup {srv['after_startup']['VmRSS']:,} MB, "
        f"at the end {srv['at_end']['VmRSS']:,} MB (peak {srv['at_end']['VmHWM']:,} MB).",
        "",
        f"Workload: {result['workload']['queries']:,} distinct bodies, cycled: "
        + ", ".join(f"{k} {v:,}" for k, v in result["workload"]["kinds"].items())
        + f". `POST /v1/match?commit=false`. Existing records sent as they are (exact), without "
        "email, with one typo in a name, moved (another record's postcode and address); new "
        "people: a first name and a surname from two records, the postcode (half the time also "
        "the address) of a third, a fresh email / phone. Medians of "
        f"{result['args']['repeat']} runs; targets p99 < {TARGET_P99_MS:.0f} ms at "
        f"{TARGET_RATE:.0f} matches/s.",
        "",
        "| load | matches/s | p50 ms | p90 ms | p99 ms | max ms | errors | server CPU ms/match "
        "| client CPU, cores | other processes, cores |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| open loop {result['args']['rate']:g}/s x {result['args']['duration']:g} s | "
        f"{medians['open_loop']['matches_per_s']} | {medians['open_loop']['p50_ms']} | "
        f"{medians['open_loop']['p90_ms']} | **{medians['open_loop']['p99_ms']}** | "
        f"{medians['open_loop']['max_ms']} | {sum(sum(r['errors'].values()) for r in opened)} | "
        f"{medians['open_loop']['server_cpu_ms_per_request']} | "
        f"{medians['open_loop']['client_cpu_share_of_one_core']} | "
        f"{medians['open_loop']['other_cpu_share_of_one_core']} |",
    ]
    for workers, med in medians["closed_loop"].items():
        runs = [r for r in load["closed_loop"] if str(r["workers"]) == workers]
        lines.append(
            f"| closed loop, {workers} workers x {result['args']['closed_duration']:g} s | "
            f"**{med['matches_per_s']}** | {med['p50_ms']} | {med['p90_ms']} | {med['p99_ms']} | "
            f"{med['max_ms']} | {sum(sum(r['errors'].values()) for r in runs)} | "
            f"{med['server_cpu_ms_per_request']} | {med['client_cpu_share_of_one_core']} | "
            f"{med['other_cpu_share_of_one_core']} |"
        )
    prep = result["prepare"].get("ingest_resolve")
    if prep:
        gen = result["prepare"]["generate"]
        lines += [
            "",
            "Prepared here: generate "
            + (f"{gen['seconds']} s" if "seconds" in gen else "reused")
            + f", ingest + resolve {prep['seconds']} s (peak of the children "
            f"{prep['peak_children_mb']:,} MB).",
        ]
    verdict = result["verdict"]
    quiet = load.get("wait_quiet")
    if quiet:
        lines += [
            "",
            f"Before the load: waited {quiet['waited_s']} s for other processes to leave the CPU "
            f"({'quiet' if quiet['quiet'] else 'NOT quiet'}: other processes "
            f"{quiet['other_cpu_share_of_one_core']} core). Server log: `{result['work_dir']}/"
            "server.log`.",
        ]
    if result["args"].get("server_wrapper"):
        lines += ["", f"**Server run through `{result['args']['server_wrapper']}`** "
                  f"(patches applied at run time, src untouched; environment "
                  f"{result['server_patches']})."]  # fmt: skip
    lines += [
        "",
        f"Target p99 < {TARGET_P99_MS:.0f} ms at {TARGET_RATE:.0f}/s: "
        f"**{'met' if verdict['p99_met'] else 'not met'}** (p99 {verdict['p99_ms']} ms at "
        f"{verdict['rate']:g}/s offered, {verdict['achieved']}/s answered); at least "
        f"{TARGET_RATE:.0f} matches/s: **{'met' if verdict['throughput_met'] else 'not met'}** "
        f"(closed-loop best {verdict['max_matches_per_s']}/s).",
        "",
        "Open-loop runs: "
        + "; ".join(
            f"p50 {r['p50_ms']} / p99 {r['p99_ms']} ms, server {r['server_cpu_share_of_one_core']}"
            f" core, client {r['client_cpu_share_of_one_core']} core, other processes "
            f"{r['other_cpu_share_of_one_core']} core"
            for r in opened
        )
        + ".",
    ]
    c = opened[0].get("candidates_compared")
    if c:
        lines.append(
            f"Candidates compared per match: p50 {c['p50']}, p99 {c['p99']}, max {c['max']}; "
            f"latency of the matches with the most candidates (first run): p99 "
            f"{opened[0]['latency_when_candidates_ge_p99'].get('p99_ms')} ms."
        )
    ex, new = q["existing"], q["new_people"]
    lines += [
        "",
        f"Hit quality ({ex['queries']:,} perturbed existing records, {new['queries']:,} new "
        f"people): existing matched to their own customer **{ex['same_customer_share']:.1%}**, "
        f"to another customer {ex['other_customer_share']:.1%} (of which holding the same true "
        f"person {ex['other_customer_same_person_share']:.1%} of all), to none "
        f"{ex['none_share']:.1%}; new people matched to anyone (false matches) "
        f"**{new['matched_to_anyone_share']:.1%}**.",
        "",
        "| kind | queries | own customer | other customer | (same true person) | none |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind, k in q["by_kind"].items():
        lines.append(
            f"| {kind} | {k['queries']:,} | {k['same_customer_share']:.1%} | "
            f"{k['other_customer_share']:.1%} | {k['other_customer_same_person_share']:.1%} | "
            f"{k['none_share']:.1%} |"
        )
    text = "\n".join(lines) + "\n"
    path.write_text(text)
    return text


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--shop", type=Path, default=None, help="generated CSVs to reuse")
    parser.add_argument("--warehouse", type=Path, default=None, help="resolved lens.duckdb")
    parser.add_argument("--work", type=Path, default=None, help="default /tmp/bench_api_<N>")
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="open loop, requests/s")
    parser.add_argument("--duration", type=float, default=60.0, help="open loop, seconds")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds at --rate, discarded")
    parser.add_argument("--concurrency", default="1,8", help="closed-loop workers, comma separated")
    parser.add_argument("--closed-duration", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=3, help="runs per phase (medians)")
    parser.add_argument("--queries", type=int, default=5000, help="distinct request bodies")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--log-level", default="info", help="the server's (as deployed: info)")
    parser.add_argument("--startup-timeout", type=float, default=900.0)
    parser.add_argument(
        "--max-in-flight", type=int, default=1000, help="open loop: unanswered requests at most"
    )
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load generator's HTTP client: a lean asyncio one, or httpx (about 2 ms CPU a "
        "request, taken from the server on 2 cores)",
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="scheduling priority of the load generator and the server (inherited), e.g. -10 "
        "(root) on a machine shared with other work",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=600.0,
        help="seconds to wait at most for other processes to leave the CPU before the load",
    )
    parser.add_argument(
        "--drain-limit", type=float, default=600.0, help="seconds to wait for a backlog to clear"
    )
    parser.add_argument(
        "--server-wrapper",
        type=Path,
        default=None,
        help="run `python FILE serve ...` instead of the installed CLI (a script that patches "
        "something, then calls customerlens.cli.app): to measure a change without editing src",
    )
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--name", default=None, help="results file name (default api_<N>)")
    args = parser.parse_args(argv)
    args.concurrency = [int(c) for c in str(args.concurrency).split(",") if c.strip()]
    work = args.work or Path(f"/tmp/bench_api_{args.people}")
    work.mkdir(parents=True, exist_ok=True)
    name = args.name or f"api_{args.people}"
    command = shlex.join(
        [
            ".venv/bin/python",
            "benchmarks/bench_api.py",
            *(argv if argv is not None else sys.argv[1:]),
        ]
    )

    if args.nice:
        os.nice(args.nice)  # the server, started below, inherits it
    wh, shop, prep = prepare(args, work)
    print(f"warehouse {wh}; reading the sample", file=sys.stderr, flush=True)
    started = time.perf_counter()
    sample = read_sample(wh, shop, args.queries, args.seed)
    queries, invalid = build_workload(sample, args.queries, args.seed)
    sample_seconds = round(time.perf_counter() - started, 1)
    kinds: dict[str, int] = {}
    for q in queries:
        kinds[q.kind] = kinds.get(q.kind, 0) + 1

    server = Server(
        wh, work / "server.log", args.log_level, args.startup_timeout, args.server_wrapper
    )
    print(f"starting {shlex.join(server.command)}", file=sys.stderr, flush=True)
    started_server = server.start()
    print(f"server up in {started_server['startup_seconds']} s: {started_server['healthz']}",
          file=sys.stderr, flush=True)  # fmt: skip
    try:
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        load = asyncio.run(run_load(args, server, queries))
        started_server["at_end"] = proc_status(server.proc.pid)
    finally:
        server.stop()

    medians: dict[str, Any] = {
        "open_loop": {k: _median(load["open_loop"], k) for k in MEDIAN_KEYS},
        "closed_loop": {},
    }
    for workers in args.concurrency:
        runs = [r for r in load["closed_loop"] if r["workers"] == workers]
        medians["closed_loop"][str(workers)] = {k: _median(runs, k) for k in MEDIAN_KEYS}
    best = max((m["matches_per_s"] or 0 for m in medians["closed_loop"].values()), default=0)
    errors = sum(sum(r["errors"].values()) for r in load["open_loop"])
    verdict = {
        "rate": args.rate,
        "p99_ms": medians["open_loop"]["p99_ms"],
        "achieved": medians["open_loop"]["matches_per_s"],
        "max_matches_per_s": best,
        "p99_met": bool(
            args.rate >= TARGET_RATE
            and (medians["open_loop"]["p99_ms"] or 1e9) < TARGET_P99_MS
            and errors == 0
        ),
        "throughput_met": bool(best >= TARGET_RATE),
    }
    result: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "people": args.people,
        "command": command,
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "machine": machine(),
        "git": git_state(),
        "work_dir": str(work),
        "warehouse": str(wh),
        "shop": str(shop) if shop else None,
        "prepare": prep,
        "warehouse_counts": sample["counts"],
        "records_by_source": sample["by_source"],
        "workload": {
            "queries": len(queries),
            "invalid_skipped": invalid,
            "kinds": kinds,
            "mix": MIX,
            "build_seconds": sample_seconds,
        },  # fmt: skip
        "server_command": server.command,
        "server_patches": {k: v for k, v in os.environ.items() if k.startswith("BENCH_")},
        "server": started_server,
        "load": load,
        "medians": medians,
        "verdict": verdict,
    }
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / f"{name}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(report(result, args.results / f"{name}.md"))
    return result


if __name__ == "__main__":
    main()
