"""Page load times of the dashboard in headless Chromium, over a large warehouse.

For each page: a fresh ``customerlens dashboard`` server and a fresh browser (no HTTP cache,
no query cache, the warehouse not yet opened) give the *cold* load; then, in the same browser,
one warm-up load and ``--runs`` more in new tabs (each a new Streamlit session) give the *warm*
median. A load is timed from navigation start to the page's last section visible, the script
finished and every chart drawn (the browser's own clock, ``performance.now()``).

    .venv/bin/customerlens generate --people 100000 --out /tmp/shop100k
    .venv/bin/customerlens run --accounts /tmp/shop100k/accounts.csv --crm /tmp/shop100k/crm.csv \\
        --transactions /tmp/shop100k/transactions.csv --out /tmp/run100k
    .venv/bin/python benchmarks/bench_dashboard.py --warehouse /tmp/run100k/lens.duckdb

Needs Debian's Chromium at /usr/bin/chromium (nothing is downloaded). Writes
``benchmarks/results/dashboard.md`` and ``dashboard.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import duckdb
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
CLI = str(Path(sys.executable).with_name("customerlens"))
RESULTS = Path(__file__).resolve().parent / "results"
#: page -> (URL path, the text of its last section, charts it draws on a full warehouse)
PAGES = {
    "overview": ("/", "High-risk customers", 2),
    "identity": ("/identity", "Accept: same person", 1),
    "segments": ("/segments", "Transitions between periods", 6),
    "customer": ("/customer", "Recommendations", 1),
    "targets": ("/targets", "Download the intelligence report", 0),
}
#: true once the script has finished (no running indicator), nothing is stale, charts drawn
READY = """([marker, charts]) => {
  const main = document.querySelector('[data-testid=stMain]');
  if (!main || !main.innerText.includes(marker)) return false;
  const status = document.querySelector('[data-testid=stStatusWidget]');
  if (status && status.innerText.includes('Stop')) return false;
  if (document.querySelector('[data-stale=true]')) return false;
  const drawn = [...document.querySelectorAll('.vega-embed')].filter(
    (e) => e.querySelector('canvas, svg'));
  return drawn.length >= charts;
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(command: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """A Streamlit server in its own process group; returns once it answers."""
    process = subprocess.Popen(
        command,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dashboard exited: {log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.read() == b"ok":
                    return process
        except OSError:
            time.sleep(0.2)
    stop(process)
    raise RuntimeError(f"dashboard did not answer: {log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server and the Streamlit process it started (one process group), and wait
    until both are gone: the warehouse stays locked while either lives."""
    group = process.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    process.wait(timeout=30)
    deadline = time.monotonic() + 30
    while True:
        try:
            os.killpg(group, signal.SIGKILL if time.monotonic() > deadline else 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


def load(page: Page, url: str, marker: str, charts: int) -> float:
    """Seconds from navigation start to the page fully rendered."""
    page.goto(url)
    page.wait_for_function(READY, arg=[marker, charts], timeout=120_000, polling=50)
    errors = page.locator("[data-testid=stException], [data-testid=stAlertContentError]")
    if errors.count():
        raise RuntimeError(f"{url}: {errors.first.inner_text()}")
    return float(page.evaluate("performance.now()")) / 1000


def measure(
    browser: Browser,
    command: list[str],
    port: int,
    page: tuple[str, str, int],
    runs: int,
    log: Path,
) -> dict[str, Any]:
    path, marker, charts = page
    server = start(command, port, log)
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        url = f"http://127.0.0.1:{port}{path}"
        times = []
        for _ in range(runs + 2):  # cold, one warm-up, then the warm runs
            tab = context.new_page()
            times.append(load(tab, url, marker, charts))
            tab.close()
        context.close()
    finally:
        stop(server)
    warm = times[2:]
    return {"cold": times[0], "warm_median": statistics.median(warm), "warm": warm}


def dashboard(warehouse: Path, port: int) -> list[str]:
    return [CLI, "dashboard", "--warehouse", str(warehouse), "--port", str(port)]


def baseline(script: Path, port: int) -> list[str]:
    """A one-line Streamlit app: what any page costs on this machine, at this moment."""
    script.write_text('import streamlit as st\nst.title("baseline: nothing to compute")\n')
    return [
        sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip


def sizes(warehouse: Path) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {
            table: int(con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])
            for table in ("customers", "records", "sales", "customer_features", "review_queue")
        }


def report(rows: list[dict[str, Any]], counts: dict[str, int], args: argparse.Namespace) -> str:
    lines = [
        "# Dashboard page loads",
        "",
        f"Warehouse `{args.warehouse}`: {counts['customers']:,} customers "
        f"({counts['customer_features']:,} with a purchase) from {counts['records']:,} identity "
        f"records, {counts['sales']:,} sales lines, {counts['review_queue']:,} pairs to review.",
        f"Machine: {os.cpu_count()} cores, {platform.platform()}; headless Chromium "
        f"({CHROMIUM}), viewport 1400x900. Load average (1 min) {args.load[0][0]:.1f} before the "
        f"run, {args.load[1][0]:.1f} after (the run itself keeps a server and a browser busy).",
        "",
        "Cold: a freshly started server and browser (warehouse not yet opened, no cached query, "
        f"no cached asset); the median of {args.cold_runs} such starts. Warm: the median of "
        f"{args.runs} loads per start in new tabs (each a new Streamlit session) after one "
        "warm-up load. Timed from navigation start to the page's last section visible, the "
        "script finished and every chart drawn. `baseline` is a one-line Streamlit app "
        "measured the same way: the cost of Streamlit itself on this machine at that moment.",
        "",
        "A cold load pays once per server process for the Python imports (pandas, DuckDB, "
        "Altair, the dashboard: about 0.6 s here) and for DuckDB's first read of each table; "
        "Identity also explains its five review pairs (`resolve.explain.explain_pair`). Later "
        "visits read cached results.",
        "",
        "| page | cold median s | cold runs s | warm median s | warm runs s |",
        "|---|---:|---|---:|---|",
    ]
    for r in rows:
        colds = ", ".join(f"{t:.2f}" for t in r["colds"])
        runs = ", ".join(f"{t:.2f}" for t in r["warm"])
        lines.append(
            f"| {r['page']} | {r['cold']:.2f} | {colds} | {r['warm_median']:.2f} | {runs} |"
        )
    lines += [
        "",
        "Reproduce:",
        "",
        "```bash",
        ".venv/bin/customerlens generate --people 100000 --out /tmp/shop100k",
        ".venv/bin/customerlens run --accounts /tmp/shop100k/accounts.csv "
        "--crm /tmp/shop100k/crm.csv \\",
        "    --transactions /tmp/shop100k/transactions.csv --out /tmp/run100k",
        ".venv/bin/python benchmarks/bench_dashboard.py --warehouse /tmp/run100k/lens.duckdb",
        "```",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--warehouse", type=Path, required=True, help="lens.duckdb from `run`")
    parser.add_argument("--runs", type=int, default=3, help="warm loads per page")
    parser.add_argument("--cold-runs", type=int, default=3, help="fresh server starts per page")
    parser.add_argument("--pages", nargs="*", default=list(PAGES), choices=list(PAGES))
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: install Debian's chromium package")
    counts = sizes(args.warehouse)
    RESULTS.mkdir(exist_ok=True)
    log = RESULTS / "dashboard_server.log"
    rows = []
    load_before = os.getloadavg()
    with sync_playwright() as p:
        for name in ["baseline", *args.pages]:
            port = free_port()
            if name == "baseline":
                command, page = baseline(RESULTS / "_baseline_app.py", port), ("/", "baseline", 0)
            else:
                command, page = dashboard(args.warehouse, port), PAGES[name]
            starts = []
            for _ in range(args.cold_runs):
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    starts.append(measure(browser, command, port, page, args.runs, log))
                finally:
                    browser.close()
            colds = [s["cold"] for s in starts]
            warm = [t for s in starts for t in s["warm"]]
            rows.append(
                {
                    "page": name,
                    "cold": statistics.median(colds),
                    "colds": colds,
                    "warm_median": statistics.median(warm),
                    "warm": warm,
                }
            )
            print(f"{name}: cold {rows[-1]['cold']:.2f} s, warm {rows[-1]['warm_median']:.2f} s")
    (RESULTS / "_baseline_app.py").unlink(missing_ok=True)
    args.load = (load_before, os.getloadavg())
    (RESULTS / "dashboard.json").write_text(
        json.dumps(
            {
                "warehouse": str(args.warehouse),
                "sizes": counts,
                "load_average": args.load,
                "pages": rows,
            },
            indent=2,
        )
    )
    (RESULTS / "dashboard.md").write_text(report(rows, counts, args))
    log.unlink(missing_ok=True)
    print(f"Wrote {RESULTS / 'dashboard.md'}")


if __name__ == "__main__":
    main()
