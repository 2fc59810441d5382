"""The report (issue 7): every section and plot after a full `run`, headline numbers checked
against SQL of our own, nothing remote, and what an ingest-only or resolve-only warehouse leaves
out (with the command that computes it)."""

from __future__ import annotations

import base64
import csv
import shutil
import struct
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from customerlens.cli import app
from customerlens.report import write_report

runner = CliRunner()

RUN_SECTIONS = ("revenue-gap", "rfm", "clv", "churn", "segment-profiles", "pca-map", "actions")
ALWAYS = ("headline", "data-quality", "run-metadata")
PLOTS = ("revenue-gap", "rfm", "clv", "churn", "segment-profiles", "pca-map")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Page(HTMLParser):
    """Sections (id -> their h2 and images), every URL-bearing attribute, and the text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.sections: dict[str, dict[str, list[str]]] = {}
        self.urls: list[str] = []
        self.tags: set[str] = set()
        self.text: list[str] = []
        self.headline: list[list[str]] = []
        self._section: str | None = None
        self._in: str | None = None
        self._row: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        values = dict(attrs)
        for name in ("src", "href", "action", "data", "poster"):
            if values.get(name) is not None:
                self.urls.append(str(values[name]))
        if tag == "section":
            self._section = str(values.get("id"))
            self.sections[self._section] = {"h2": [], "img": []}
        elif tag == "img" and self._section:
            self.sections[self._section]["img"].append(str(values.get("src")))
        elif tag in ("h2", "td", "th"):
            self._in = tag
            if tag == "td" and self._row is not None:
                self._row.append("")
        elif tag == "tr" and self._section == "headline":
            self._row = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self._section = None
        elif tag == "tr" and self._row is not None:
            if self._row:
                self.headline.append(self._row)
            self._row = None
        elif tag in ("h2", "td", "th"):
            self._in = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in == "h2" and self._section:
            self.sections[self._section]["h2"].append(data)
        if self._in == "td" and self._row is not None:
            self._row[-1] += data

    @property
    def all_text(self) -> str:
        return " ".join("".join(self.text).split())

    def headline_value(self, label: str) -> float:
        for row in self.headline:
            if row[0] == label:
                return float(row[1].replace(",", ""))
        raise AssertionError(f"no headline row {label!r} in {[r[0] for r in self.headline]}")


def _png(src: str) -> bytes:
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix), src[:40]
    png = base64.b64decode(src[len(prefix) :], validate=True)
    assert png.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    assert width >= 300 and height >= 200
    assert len(png) > 5_000
    return png


def _assert_self_contained(page: Page) -> None:
    assert "script" not in page.tags and "link" not in page.tags and "iframe" not in page.tags
    for url in page.urls:
        assert url.startswith(("data:image/png;base64,", "#")), url[:60]


def _parse(folder: Path) -> Page:
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "url(" not in html and "@import" not in html  # no remote CSS either
    return Page(html)


def test_run_writes_a_report_with_every_section_and_plot(shop_run: Path) -> None:
    page = _parse(shop_run)
    assert set(page.sections) == {*ALWAYS, *RUN_SECTIONS}
    assert "not-computed" not in page.sections
    for section_id, parts in page.sections.items():
        assert "".join(parts["h2"]).strip(), f"section {section_id} has no title"
    for section_id in PLOTS:
        images = page.sections[section_id]["img"]
        assert images, f"section {section_id} has no plot"
        for src in images:
            _png(src)
    _assert_self_contained(page)


def test_headline_numbers_equal_the_warehouse(shop_run: Path) -> None:
    page = _parse(shop_run)
    with duckdb.connect(str(shop_run / "lens.duckdb"), read_only=True) as con:

        def one(sql: str) -> float:
            return float(con.sql(sql).fetchall()[0][0])

        # records with nothing to identify them (anonymous guest invoices) are counted apart
        known = "FROM record_customer WHERE identity_fields > 0"
        records = one(f"SELECT count(*) {known}")
        customers = one(
            f"SELECT count(*) FROM customers WHERE customer_id IN (SELECT customer_id {known})"
        )
        product = "FROM sales WHERE kind = 'product' AND day IS NOT NULL"
        expected = {
            "identity records (customers before resolution)": records,
            "customers after resolution": customers,
            "duplicates merged": records - customers,
            "customers with a purchase": one("SELECT count(DISTINCT customer_id) FROM rfm"),
            "average net spend per customer": one(
                "SELECT sum(net_spend) / count(*) FROM customer_features"
            ),
            "average orders per customer": one(
                "SELECT sum(orders) / count(*) FROM customer_features"
            ),
            "net product revenue": one(f"SELECT sum(amount) {product}"),
            "tracked revenue": one(f"SELECT sum(amount) {product} AND tracked"),
            "untracked revenue": one(f"SELECT sum(amount) {product} AND NOT tracked"),
            "recovered by resolution": one(f"SELECT sum(amount) {product} AND recovered"),
            "revenue at risk": one("SELECT sum(p_churn * value) FROM actions"),
            "behavioural segments": one("SELECT count(DISTINCT segment) FROM segments"),
        }
        # value_at_risk is stored rounded to cents per customer
        at_risk_rounding = 0.005 * one("SELECT count(*) FROM actions")
    for label, value in expected.items():
        # the page shows two decimals at most
        tolerance = at_risk_rounding if label == "revenue at risk" else 0.006
        assert page.headline_value(label) == pytest.approx(value, abs=tolerance), label


def test_report_command_writes_html_and_pdf(shop_run: Path, tmp_path: Path) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(shop_run, folder)
    (folder / "report.html").unlink()
    result = runner.invoke(app, ["report", str(folder), "--pdf"])
    assert result.exit_code == 0, result.output
    assert "report.html" in result.output.splitlines()[-1]
    pdf = (folder / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    # a headline page, then one page per plot
    assert pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") >= 1 + len(PLOTS)
    assert set(_parse(folder).sections) == {*ALWAYS, *RUN_SECTIONS}


def test_without_metrics_json_the_model_figures_are_named_missing(
    shop_run: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(shop_run, folder)
    (folder / "metrics.json").unlink()
    written = write_report(folder)
    assert written.missing == ()
    page = _parse(folder)
    text = page.all_text
    assert "PR-AUC" not in text and "BG/NBD" not in text  # nothing made up
    assert "AUC and Brier scores are not shown" in text
    assert "metrics.json is not in" in text and "customerlens run --transactions FILE" in text
    for section_id in PLOTS:  # the plots come from the tables
        assert page.sections[section_id]["img"], section_id


def test_missing_warehouse_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(tmp_path / "nothing")])
    assert result.exit_code == 2
    assert "No warehouse in" in result.output and "customerlens run" in result.output


def _with_bad_rows(transactions: Path, target: Path) -> Path:
    """A copy of the transactions with one unreadable date and one unreadable price."""
    with transactions.open(newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    bad_date, bad_price = list(rows[1]), list(rows[2])
    bad_date[header.index("event_time")] = "not a date"
    bad_price[header.index("price")] = "abc"
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([*rows, bad_date, bad_price])
    return target


def test_ingest_then_resolve_only_reports_what_exists(
    shop_files: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    transactions = _with_bad_rows(shop_files["transactions"], tmp_path / "in" / "tx.csv")
    sources = ["--accounts", str(shop_files["accounts"]), "--crm", str(shop_files["crm"])]
    result = runner.invoke(
        app, ["ingest", *sources, "--transactions", str(transactions), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output

    # ingest only: identity records, data quality and run metadata; the rest named as missing
    assert runner.invoke(app, ["report", str(out)]).exit_code == 0
    page = _parse(out)
    assert set(page.sections) == {*ALWAYS, "not-computed"}
    assert not any(parts["img"] for parts in page.sections.values())
    text = page.all_text
    assert f"customerlens resolve --out {out}" in text
    assert f"customerlens run --transactions FILE --out {out}" in text
    assert "customers after resolution" not in [row[0] for row in page.headline]
    assert "2 input rows were rejected" in text
    assert "unparseable event_time" in text and "unparseable price" in text
    _assert_self_contained(page)

    # resolve: customers appear; value, risk and segments still left out, never invented
    result = runner.invoke(app, ["resolve", "--out", str(out)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["report", str(out)])
    assert result.exit_code == 0, result.output
    assert "Left out" in result.output
    page = _parse(out)
    assert set(page.sections) == {*ALWAYS, "not-computed"}
    for section_id in RUN_SECTIONS:
        assert section_id not in page.sections
    text = page.all_text
    assert f"customerlens run --transactions FILE --out {out}" in text
    assert f"customerlens resolve --out {out}" not in text
    with duckdb.connect(str(out / "lens.duckdb"), read_only=True) as con:
        customers = con.sql("SELECT count(*) FROM customers").fetchall()[0][0]
        records = con.sql("SELECT count(*) FROM records").fetchall()[0][0]
        anonymous = con.sql(
            "SELECT count(*) FROM record_customer WHERE identity_fields = 0"
        ).fetchall()[0][0]
    assert anonymous == 0  # every record of the generated shop identifies someone
    assert page.headline_value("customers after resolution") == customers
    assert page.headline_value("duplicates merged") == records - customers
    labels = [row[0] for row in page.headline]
    assert not any("revenue" in label or "segments" in label for label in labels)


@pytest.mark.slow
def test_report_of_online_retail(shared_data: Path, tmp_path: Path) -> None:
    retail = shared_data / "online_retail" / "online_retail.parquet"
    if not retail.exists():
        pytest.skip(f"shared data set missing: {retail}")
    out = tmp_path / "retail"
    result = runner.invoke(app, ["run", "--transactions", str(retail), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"Wrote {out / 'report.html'}" in " ".join(result.output.split())
    page = _parse(out)
    # a transactions-only shop still has every section: it has product ids and guest invoices
    assert set(page.sections) == {*ALWAYS, *RUN_SECTIONS}
    for section_id in PLOTS:
        assert page.sections[section_id]["img"], section_id
        for src in page.sections[section_id]["img"]:
            _png(src)
    _assert_self_contained(page)
    with duckdb.connect(str(out / "lens.duckdb"), read_only=True) as con:
        buyers = con.sql("SELECT count(*) FROM customer_features").fetchall()[0][0]
        guest_invoices = con.sql(
            "SELECT count(DISTINCT session_id) FROM transactions WHERE customer_id IS NULL"
        ).fetchall()[0][0]
        untracked = con.sql(
            "SELECT sum(amount) FROM sales WHERE kind = 'product' AND NOT tracked"
        ).fetchall()[0][0]
    assert page.headline_value("customers with a purchase") == buyers
    assert page.headline_value("untracked revenue") == pytest.approx(untracked, abs=0.01)
    # no account file and guest invoices without names: nothing to resolve, and it says so
    assert page.headline_value("identity records (customers before resolution)") == 0
    assert page.headline_value("anonymous guest sessions") == guest_invoices
    assert page.headline_value("duplicates merged") == 0
    assert "customers are known by the shop's customer id alone" in page.all_text
