"""`wattlog monthly`: one self-contained HTML page and a PDF with every section, charts that match the data."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import date, datetime
from html.parser import HTMLParser

import pytest
from exports_site import SITE, make_site, run, site_config
from pypdf import PdfReader

from wattlog.analytics.settings import ReportSettings
from wattlog.documents import charts, html, pdf
from wattlog.documents.fmt import kwh, money, num
from wattlog.documents.monthly import gather
from wattlog.documents.usage_sections import document
from wattlog.errors import NoData
from wattlog.store import Store
from wattlog.tariffs.load import load_tariff

MAIN = ReportSettings(main_meter="main")
SECTIONS = ["summary", "ranking", "heatmap", "profile", "demand", "afterhours", "quality", "cost", "notes"]
VOID = {"meta", "br", "img", "hr", "input", "link", "col", "source", "wbr"}


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return make_site(tmp_path_factory.mktemp("monthly") / "w.db")


@pytest.fixture(scope="module")
def data(db):
    with Store(db, site=SITE) as store:
        return gather(store, SITE, date(2026, 10, 1), MAIN, tariff=load_tariff("my-tnb-lv-tou-2025"),
                      now=datetime(2026, 11, 1, 9, 0))


@pytest.fixture(scope="module")
def page(data):
    return html.render(document(data))


class Balanced(HTMLParser):
    """Every element closed in order; the ids of the sections; the SVGs as text."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.ids: list[str] = []
        self.svgs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            self.ids.append(dict(attrs)["id"])
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1] if self.stack else None}>"
        self.stack.pop()


def svgs(page: str) -> list[ET.Element]:
    return [ET.fromstring(s) for s in re.findall(r"<svg .*?</svg>", page, re.S)]


def test_html_is_well_formed_with_every_section_and_nothing_external(page):
    p = Balanced()
    p.feed(page)
    p.close()
    assert p.stack == [] and p.ids == SECTIONS
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page and "@page" in page and "break-before: page" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page.lower()
    assert "<link" not in page and "<img" not in page and "url(" not in page


def test_the_numbers_and_the_incomplete_month_are_stated(page, data):
    assert f"{num(data.ranking.total_kwh, 0)} kWh" in page
    assert money(data.cost.total, "RM") in page and data.cost.total > 0
    assert "Incomplete month: data on 3 of 31 days, from 5 Oct 00:00 to 8 Oct 00:00" in page  # never hidden
    # 1-4 October (no data after September's day: a gap, not "not installed") and the plant's hour
    assert "meter office: 96.00 h without data" in page and "meter plant: 97.02 h without data" in page
    assert "not verified against the official schedule" in page  # the tariff's own notes
    assert "INCOMPLETE" in page  # the bill is a lower bound


def test_the_charts_draw_the_data(page, data):
    figs = svgs(page)
    assert all(f.tag == "svg" and f.get("viewBox") for f in figs)
    ranking = next(f for f in figs if f.findtext("title").startswith("kWh by location"))
    bars = {b.get("data-label"): float(b.get("data-value")) for b in ranking.iter("rect") if b.get("data-label")}
    assert max(bars, key=bars.get) == "Plant" == data.ranking.rows[0].location
    assert bars["Plant"] == pytest.approx(data.ranking.rows[0].kwh, abs=0.01)
    widths = {b.get("data-label"): float(b.get("width")) for b in ranking.iter("rect") if b.get("data-label")}
    assert max(widths, key=widths.get) == "Plant" and widths["Plant"] > 3 * widths["Office"]
    demand = next(f for f in figs if f.findtext("title") == "maximum demand per month")
    cols = [(c.get("data-label"), float(c.get("data-value"))) for c in demand.iter("rect") if c.get("data-label")]
    assert cols == [("Sep '26", pytest.approx(55.0)), ("Oct '26", pytest.approx(115.0))]  # the last 12 months
    office = next(f for f in figs if f.findtext("title") == "Office: average kWh by hour and weekday")
    cells = [c for c in office.iter("rect") if c.get("data-row")]
    assert len(cells) == 3 * 24 and {c.get("data-row") for c in cells} == {"Mon", "Tue", "Wed"}
    assert {round(float(c.get("data-value")), 3) for c in cells} == {10.0}
    profile = next(f for f in figs if f.findtext("title") == "Plant: average kW")
    lines = [p for p in profile.iter("polyline")]
    assert [p.get("data-name") for p in lines] == ["working days"]  # no data on other days this month
    assert float(lines[0].get("data-max")) > 40


def test_pdf_has_the_pages_and_the_text(data):
    blob = pdf.render(document(data))
    assert blob.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(blob))
    assert 6 <= len(reader.pages) <= 12
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert SITE in text and f"{num(data.ranking.total_kwh, 0)} kWh" in text
    assert money(data.cost.total, "RM") in text and "Incomplete month" in text
    assert "Data quality and notes" in text and "page 1 of" in text


def test_pdf_without_dejavu_uses_the_core_font(data, monkeypatch):
    monkeypatch.setattr(pdf, "FONT_DIRS", [])
    blob = pdf.render(document(data))
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(blob)).pages)
    assert SITE in text and "1 Oct 2026 - 31 Oct 2026" in text  # the en dash spelled in Latin-1


def test_without_a_tariff_the_report_says_how_to_get_the_bill(db):
    with Store(db, site=SITE) as store:
        d = gather(store, SITE, date(2026, 10, 1), MAIN)
    page = html.render(document(d))
    assert d.cost is None and "no tariff is configured" in page and 'id="cost"' in page


def test_a_month_without_data_names_the_months_with_data(db):
    with Store(db, site=SITE) as store, pytest.raises(NoData) as err:
        gather(store, SITE, date(2026, 7, 1), MAIN)
    assert "no data in 2026-07" in str(err.value) and "2026-09, 2026-10: use --month 2026-10" in str(err.value)


def test_monthly_command_writes_html_and_pdf(db, tmp_path):
    cfg = site_config(tmp_path, db)
    r = run("monthly", "--config", str(cfg), "--month", "2026-10", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    html_file, pdf_file = tmp_path / "Kedai-Ujian-2026-10.html", tmp_path / "Kedai-Ujian-2026-10.pdf"
    assert html_file.read_text(encoding="utf-8").count("<section") == len(SECTIONS)
    assert pdf_file.read_bytes().startswith(b"%PDF")
    r = run("monthly", "--config", str(cfg), "--month", "2026-10", "-o", str(tmp_path / "only.pdf"), "--no-cost")
    assert r.returncode == 0 and r.stdout.strip() == f"wrote {tmp_path / 'only.pdf'}"
    r = run("monthly", "--config", str(cfg), "--month", "2026-07", "-o", str(tmp_path / "x.html"))
    assert r.returncode == 1 and r.stderr.count("\n") == 1
    assert "no data in 2026-07" in r.stderr and "data exists in 2026-09, 2026-10" in r.stderr
    assert not (tmp_path / "x.html").exists()
    r = run("monthly", "--config", str(cfg), "--month", "October")
    assert r.returncode == 2 and "is not a month" in r.stderr
    r = run("monthly", "--config", str(cfg), "--month", "2026-10", "-o", "x.docx")
    assert r.returncode == 2 and ".html or .htm or .pdf" in r.stderr
    r = run("monthly", "--help")
    assert r.returncode == 0 and "Examples:" in r.stdout


def test_chart_helpers():
    assert charts.nice_ticks(0, 17190) == [0, 5000, 10000, 15000, 20000]
    assert charts.nice_ticks(-3, 9, 4) == [-5, 0, 5, 10]
    c = charts.hbars([("a", 5.0, "top"), ("b", -2.0, "normal")], "kWh", "t")
    bars = {i.args["data"]["label"]: i.args for i in c.items if i.kind == "rect"}
    assert bars["a"]["x"] == bars["b"]["x"] + bars["b"]["w"]  # both from the zero line
    grid = charts.heatgrid(["Mon"], ["00", "01"], [[None, 2.0]], "kWh", "g")
    assert "no complete hour" in grid.svg() and charts.ramp(1.0) == charts.RAMP[-1] and charts.ramp(0) == charts.RAMP[0]


def test_small_energy_keeps_its_digits():
    # A short first month must not read "0 kWh" where 0.08 kWh was used.
    assert [kwh(v, 0) for v in (0.08, 0.5, 3.2, 12.4, 0.0, None)] == [
        "0.080 kWh", "0.50 kWh", "3.2 kWh", "12 kWh", "0 kWh", "—"]
    assert kwh(1234.56) == "1,234.6 kWh"
