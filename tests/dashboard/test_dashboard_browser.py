"""The dashboard in a real browser: ``customerlens dashboard`` serving a copy of a generated
shop's warehouse, each page opened in headless Chromium (Debian's ``chromium`` package, driven
by Playwright; nothing is installed at run time).

Screenshots of every page go to ``benchmarks/results/screenshots/`` (the README shows them).
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
CLI = str(Path(sys.executable).with_name("customerlens"))
SCREENSHOTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "screenshots"
#: true once the script has finished, nothing on the page is stale and every chart is drawn
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

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"{CHROMIUM} is absent: this test drives Debian's chromium package "
        "(apt-get install chromium) and downloads no browser itself",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def dashboard(shop_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``customerlens dashboard`` on a free loopback port over a copy of the run; its URL."""
    out = tmp_path_factory.mktemp("dashboard_browser") / "out"
    shutil.copytree(shop_run, out)
    port = _free_port()
    log = out.parent / "dashboard.log"
    process = subprocess.Popen(
        [CLI, "dashboard", "--warehouse", str(out / "lens.duckdb"), "--port", str(port)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # the CLI starts Streamlit as a child: stop both together
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, f"dashboard exited: {log.read_text()}"
            assert time.monotonic() < deadline, f"no answer from {url}: {log.read_text()}"
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=2).text == "ok":
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        yield url
    finally:
        # the warehouse stays locked until Streamlit, the CLI's child, has exited too
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        deadline = time.monotonic() + 30
        while True:
            try:
                os.killpg(process.pid, signal.SIGKILL if time.monotonic() > deadline else 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)


def test_every_page_in_chromium(dashboard: str, shop_run: Path, tmp_path: Path) -> None:
    with duckdb.connect(str(shop_run / "lens.duckdb"), read_only=True) as con:
        customers, buyers = con.execute(
            "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM customer_features)"
        ).fetchall()[0]
        top, first_name = con.execute(
            "SELECT a.customer_id, c.first_name FROM actions a JOIN customers c "
            "USING (customer_id) ORDER BY a.rank LIMIT 1"
        ).fetchall()[0]
        (segment,) = con.execute("SELECT name FROM segment_profiles LIMIT 1").fetchall()[0]
    # page -> (URL path, texts that must be visible: the last one ends the page; charts drawn)
    pages = {
        "overview": ("/", [f"{customers:,}", "Recovered by resolution", "High-risk customers"], 2),
        "identity": ("/identity", ["Duplicates merged per source", "Accept: same person"], 1),
        "segments": ("/segments", [segment, "Profiles, personas and strategy",
                                   "Transitions between periods"], 6),
        "customer": (f"/customer?customer={top}", [top, "Golden record", "Calibrated confidence",
                                                   "Recommendations"], 1),
        "targets": ("/targets", [f"{buyers:,}", "Download the intelligence report"], 0),
    }  # fmt: skip
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def shoot(page: Page, name: str) -> None:
        # Streamlit scrolls inside its main block and lays out off-screen elements lazily, so
        # a full-page screenshot shows one screen: grow the viewport until the content fits,
        # then reload at that size (resizing a drawn page races the redraw of its grids)
        height = 900
        for _ in range(6):
            needed = page.evaluate("document.querySelector('[data-testid=stMain]').scrollHeight")
            if needed <= height:
                break
            height = int(needed) + 80
            page.set_viewport_size({"width": 1400, "height": height})
            page.wait_for_timeout(700)
        page.reload()
        page.wait_for_function(READY, arg=[pages[name][1][-1], pages[name][2]], timeout=60_000)
        page.wait_for_timeout(1_500)  # data grids paint their canvases after the script ends
        page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
        page.set_viewport_size({"width": 1400, "height": 900})

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
            for name, (path, texts, charts) in pages.items():
                page.goto(dashboard + path)
                for text in texts:
                    expect(page.get_by_text(text).first).to_be_visible(timeout=60_000)
                page.wait_for_function(READY, arg=[texts[-1], charts], timeout=60_000)
                assert page.locator("[data-testid=stException]").count() == 0, name
                assert page.locator(".vega-embed").count() == charts, name
                if name == "customer":
                    expect(page.get_by_text(first_name).first).to_be_visible()
                shoot(page, name)

            # the target list's download: the full intelligence report, one row per buyer
            with page.expect_download(timeout=60_000) as info:
                page.get_by_role("button", name="Download the intelligence report").click()
            download = info.value
            assert download.suggested_filename == "customerlens_target_list.csv"
            saved = tmp_path / download.suggested_filename
            download.save_as(saved)
        finally:
            browser.close()
    with saved.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == buyers
    assert rows[0]["customer_id"] == top  # highest priority first
    for column in ("segment_name", "clv_expected_value", "p_churn", "churn_observed_in_band",
                   "action", "net_spend"):  # fmt: skip
        assert column in rows[0]
