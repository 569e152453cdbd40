"""`wattlog workbook`: sheets per table, real numbers with formats, exact money, charts, a heatmap colour scale."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
from exports_site import OCT, SITE, make_site, run, site_config

from wattlog.analytics.settings import ReportSettings
from wattlog.documents.workbook import FIRST_ROW, Meta, build, sheet_name
from wattlog.reports.cost import cost_report
from wattlog.reports.ranking import ranking
from wattlog.store import Store
from wattlog.tariffs.load import load_tariff

MAIN = ReportSettings(main_meter="main")
FROM, TO = "2026-10-01", "2026-11-01"


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return make_site(tmp_path_factory.mktemp("wb") / "w.db")


@pytest.fixture(scope="module")
def config(db, tmp_path_factory):
    return site_config(tmp_path_factory.mktemp("cfg"), db)


def rows(ws, n_cols):
    out = []
    for r in range(FIRST_ROW, ws.max_row + 1):
        values = [ws.cell(r, c).value for c in range(1, n_cols + 1)]
        if values[0] is None:
            break
        out.append(values)
    return out


def test_one_report_one_sheet_with_numbers_formats_and_a_chart(db, tmp_path):
    with Store(db, site=SITE) as store:
        rep = ranking(store, OCT, date(2026, 11, 1), MAIN)
    meta = Meta(SITE, OCT, date(2026, 11, 1), "Asia/Kuala_Lumpur", datetime(2026, 11, 2, 9, 0), "", "main")
    build([("ranking", rep)], meta).save(tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "r.xlsx")
    assert wb.sheetnames == ["About", "locations", "emissions"]  # issue 11: Scope 2 per location
    about = wb["About"]
    assert [about.cell(r, 1).value for r in range(3, 9)] == ["Site", "Period", "Time zone", "Generated", "Tariff",
                                                            "Main meter"]
    assert about["B3"].value == SITE and about["B5"].value == "Asia/Kuala_Lumpur"
    ws = wb["locations"]
    assert ws.freeze_panes == f"A{FIRST_ROW}" and ws.cell(FIRST_ROW - 1, 2).value == "kWh"
    assert ws.cell(FIRST_ROW - 1, 1).font.b
    got = rows(ws, 6)
    table = rep.tables()[0]
    assert [r[0] for r in got] == [r[0] for r in table.rows] == ["Plant", "Office", "(unmetered)", "site (main meter)"]
    for mine, theirs in zip(got, table.rows):
        assert isinstance(mine[1], (int, float)) and mine[1] == pytest.approx(theirs[1])  # kWh: a number
        assert mine[2] == pytest.approx(theirs[2] / 100)  # share: Excel's percent holds the fraction
    assert ws.cell(FIRST_ROW, 2).number_format == "#,##0.0" and ws.cell(FIRST_ROW, 3).number_format == "0.0%"
    assert got[0][1] == pytest.approx(rep.rows[0].kwh, abs=0.05)
    assert ws.cell(FIRST_ROW, 4).value == pytest.approx(61 / 60, abs=0.01)  # the plant's gap: 02:59 to 04:00
    notes = [ws.cell(r, 1).value for r in range(FIRST_ROW + len(got) + 1, ws.max_row + 1)]
    assert any("without data" in (n or "") for n in notes)  # the notes under the table
    assert len(ws._charts) == 1 and ws._charts[0].type == "bar"


def test_every_report_in_one_workbook_money_exact(config, tmp_path):
    out = tmp_path / "all.xlsx"
    r = run("workbook", "all", "--config", str(config), "--from", FROM, "--to", TO, "-o", str(out), "--by", "weekday")
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout and "cost" in r.stdout
    wb = openpyxl.load_workbook(out)
    for name in ("About", "ranking locations", "heatmap cells", "heatmap Office", "heatmap Plant", "profile",
                 "demand peaks", "demand coincident", "demand top", "afterhours", "quality", "cost bill",
                 "cost locations"):
        assert name in wb.sheetnames
    heat = wb["heatmap Office"]
    assert heat.cell(FIRST_ROW - 1, 1).value == "weekday" and heat.cell(FIRST_ROW, 2).value == pytest.approx(10.0)
    assert [r.type for cf in heat.conditional_formatting for r in cf.rules] == ["colorScale"]
    assert len(wb["profile"]._charts) == 2 and len(wb["demand peaks"]._charts) == 1
    peaks = wb["demand peaks"]
    assert peaks.cell(FIRST_ROW, 2).value == pytest.approx(115.0)
    assert peaks.cell(FIRST_ROW, 3).value == datetime(2026, 10, 6, 14, 0)  # a real date and time
    with _store(config) as store:
        rep = cost_report(store, date(2026, 10, 1), date(2026, 11, 1),
                          MAIN.with_(timezone="Asia/Kuala_Lumpur"), tariff=load_tariff("my-tnb-lv-tou-2025"))
    bill = wb["cost bill"]
    got = {bill.cell(r, 2).value: bill.cell(r, 7) for r in range(FIRST_ROW, bill.max_row + 1) if bill.cell(r, 2).value}
    for c in rep.bills[0].components:
        cell = got[c.label]
        assert Decimal(str(cell.value)) == c.amount and '"RM"' in cell.number_format
    assert Decimal(str(got["total"].value)) == rep.total
    locs = wb["cost locations"]
    total_col = [locs.cell(FIRST_ROW - 1, j).value for j in range(1, locs.max_column + 1)].index("total") + 1
    alloc = {locs.cell(r, 1).value: Decimal(str(locs.cell(r, total_col).value))
             for r in range(FIRST_ROW, FIRST_ROW + 3)}
    assert alloc == {x.location: x.total for x in rep.locations} and sum(alloc.values()) == rep.total


def _store(config):
    from wattlog.config import load_config

    cfg = load_config(str(config))
    return Store(cfg.databases[0].url, site=cfg.site, tz=cfg.timezone)


def test_all_without_a_tariff_leaves_cost_out_and_says_so(db, tmp_path):
    cfg = site_config(tmp_path, db, tariff=None)
    out = tmp_path / "x.xlsx"
    r = run("workbook", "all", "--config", str(cfg), "--from", FROM, "--to", TO, "-o", str(out))
    assert r.returncode == 0, r.stderr
    wb = openpyxl.load_workbook(out)
    assert not [s for s in wb.sheetnames if s.startswith("cost")]
    about = [c.value for row in wb["About"].iter_rows() for c in row if c.value]
    assert any("cost: left out, no tariff" in str(v) for v in about)


def test_errors_are_one_line(db, config, tmp_path):
    r = run("workbook", "ranking", "--db", db, "--from", "2025-01-01", "--to", "2025-02-01",
            "-o", str(tmp_path / "a.xlsx"))
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "data exists from 2026-09-15" in r.stderr
    r = run("workbook", "ranking", "--db", db, "--from", FROM, "--to", TO, "-o", str(tmp_path / "a.csv"))
    assert r.returncode == 2 and "must end in .xlsx" in r.stderr
    r = run("workbook", "ranking", "--db", db, "--from", FROM, "--to", TO, "-o", str(tmp_path / "a.xlsx"), "--top", "3")
    assert r.returncode == 2 and "--top does not apply to the ranking report" in r.stderr
    r = run("workbook", "cost", "--db", db, "--from", FROM, "--to", TO, "-o", str(tmp_path / "a.xlsx"))
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "no tariff given" in r.stderr
    r = run("workbook", "ranking", "--config", str(config), "--from", FROM, "--to", TO,
            "-o", str(tmp_path / "no" / "such" / "a.xlsx"))
    assert r.returncode == 1 and "cannot write" in r.stderr and r.stderr.count("\n") == 1
    r = run("workbook", "--help")
    assert r.returncode == 0 and "Examples:" in r.stdout and "wattlog workbook all" in r.stdout


def test_sheet_names_are_valid_and_unique():
    used = {"About"}
    assert sheet_name("heatmap", "heatmap:Kitchen/Bar [1]", True, used) == "heatmap Kitchen Bar  1"
    assert sheet_name("x", "about", False, used) == "about 2"
    long = sheet_name("ranking", "a" * 40, False, used)
    assert len(long) == 31 and sheet_name("ranking", "a" * 40, False, used) == "a" * 29 + " 2"
