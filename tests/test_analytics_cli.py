"""`wattlog report`: table, JSON and CSV output, settings from options or the site config, one-line errors."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
from analytics_synth import local, make_store, series, write
from click.testing import CliRunner

from wattlog.cli.report import report
from wattlog.reports.registry import REPORTS, ReportSpec

D = date(2026, 3, 2)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "w.db"
    store = make_store(f"sqlite:///{path}")
    store.ensure_meter("office", location="office")
    store.ensure_meter("main", location="incomer")
    write(store, series("office", local(D), local(D + timedelta(days=1)), lambda t: 2000.0, step=60, counter0=None)
          + series("main", local(D), local(D + timedelta(days=1)), lambda t: 3000.0, step=60, counter0=None))
    store.close()
    return f"sqlite:///{path}"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(report, list(args), env={"COLUMNS": "200"})  # Rich's width for tables
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_every_report_with_an_example():
    code, out, _ = run("--help")
    assert code == 0
    for name, spec in REPORTS.items():
        assert f"wattlog report {name} " in out and spec.summary in out


def test_json_is_the_report_dataclass(db):
    code, out, _ = run("ranking", "--db", db, "--from", "2026-03-02", "--to", "2026-03-03", "--main-meter", "main",
                       "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["header"]["report"] == "ranking" and data["header"]["main_meter"] == "main"
    rows = {r["location"]: r for r in data["rows"]}
    assert rows["office"]["kwh"] == pytest.approx(48.0) and rows["(unmetered)"]["kwh"] == pytest.approx(24.0)


def test_csv_writes_one_table_to_stdout(db):
    code, out, _ = run("heatmap", "--db", db, "--from", "2026-03", "--to", "2026-04", "--format", "csv",
                       "--location", "office")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["location", "date", "hour", "kwh", "complete"] and len(rows) == 25
    assert rows[10] == ["office", "2026-03-02", "9", "2.0", "True"]
    code, out, _ = run("demand", "--db", db, "--from", "2026-03-02", "--to", "2026-03-03", "--format", "csv",
                       "--table", "top", "--top", "2", "--window", "15")
    assert code == 0 and out.splitlines()[0] == "month,rank,kW,from,complete" and len(out.splitlines()) == 3


def test_tables_print_with_notes(db):
    code, out, _ = run("afterhours", "--db", db, "--from", "2026-03-02", "--to", "2026-03-03",
                       "--working-hours", "09:00-17:00", "--holiday", "2026-03-02")
    assert code == 0 and "consumption outside working hours" in out and "office" in out


def test_settings_come_from_the_site_config(db, tmp_path):
    cfg = tmp_path / "site.toml"
    path = db.removeprefix("sqlite:///")
    cfg.write_text(f'[site]\nname = "t"\ntimezone = "Asia/Kuala_Lumpur"\n[[meters]]\nname = "office"\n'
                   f'url = "tcp://127.0.0.1:5020/1"\n[[databases]]\nurl = "sqlite:///{path}"\n')
    code, out, err = run("profile", "--config", str(cfg), "--from", "2026-03-02", "--to", "2026-03-03",
                         "--format", "json", "--resolution", "60")
    assert code == 0, err
    data = json.loads(out)
    assert data["resolution"] == 60 and data["header"]["timezone"] == "Asia/Kuala_Lumpur"


def test_errors_are_one_line_with_the_fix(db):
    code, _, err = run("ranking", "--db", db, "--from", "2025-01-01", "--to", "2025-02-01")
    assert code == 1 and err.count("\n") == 1
    assert "no data from 2025-01-01 to 2025-02-01" in err and "use --from 2026-03-02 --to 2026-03-03" in err
    code, _, err = run("ranking", "--db", db, "--from", "2026-03-02", "--to", "2026-03-03", "--location", "attic")
    assert code == 1 and "no location 'attic'" in err and "incomer, office" in err
    code, _, err = run("ranking", "--from", "2026-03-02", "--to", "2026-03-03")
    assert code == 2 and "--db" in err
    code, _, err = run("ranking", "--db", db, "--from", "2026-03-02", "--to", "2026-03-03", "--window", "15")
    assert code == 2 and "--window does not apply to the ranking report" in err
    code, _, err = run("ranking", "--db", db, "--from", "2026-03-05", "--to", "2026-03-03")
    assert code == 2 and "must be after" in err


def test_a_new_report_is_one_line_in_the_registry(db, monkeypatch):
    from wattlog.reports import ranking

    spec = ReportSpec(ranking.ranking, "same as ranking", "wattlog report copy ...")
    monkeypatch.setitem(REPORTS, "copy", spec)
    assert REPORTS["copy"].run is ranking.ranking
    assert all(callable(s.run) for s in REPORTS.values())


def test_report_options_are_checked_per_report(db):
    code, _, err = run("heatmap", "--db", db, "--from", "2026-03-02", "--to", "2026-03-03", "--by", "month")
    assert code == 1 and "a heatmap cannot be by 'month'" in err and "--by weekday" in err
    code, out, _ = run("heatmap", "--db", db, "--from", "2026-03-02", "--to", "2026-03-03", "--by", "weekday",
                       "--format", "json")
    assert code == 0 and json.loads(out)["by"] == "weekday"
    code, _, err = run("profile", "--db", db, "--from", "2026-03-02", "--to", "2026-03-03", "--what-if", "x")
    assert code == 2 and "--what-if does not apply to the profile report" in err
