"""Export (CSV, JSON) and the proof of concept's CSV import, on SQLite."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from wattlog.reading import MISSING, Problem, Reading
from wattlog.store import ImportResult, Store, export_rows, import_poc_csv
from wattlog.store.importer import parse_timestamp

UTC = timezone.utc
KL = ZoneInfo("Asia/Kuala_Lumpur")
T0 = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
HEADER = ("timestamp,voltage_l12,voltage_l23,voltage_l31,voltage_l1,voltage_l2,voltage_l3,"
          "current_l1,current_l2,current_l3,total_real_power,total_power_factor,frequency")


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'w.db'}", site="test", tz="Asia/Kuala_Lumpur")
    s.migrate()
    yield s
    s.close()


def sample() -> list[Reading]:
    return [
        Reading("office", T0 + timedelta(seconds=10 * i, microseconds=i), "rx380",
                {"voltage_l1": 230.1 + i, "total_real_power": 1500.25 * i, "frequency": 50.01, "thd_v1": 1.5},
                {"current_l1": Problem(MISSING, "no answer")} if i == 2 else {})
        for i in range(5)
    ] + [Reading("shop", T0, "rx380", {"total_real_energy": 12345.0})]


def test_csv_export_round_trip(store):
    store.write(sample())
    out = io.StringIO()
    assert export_rows(store, fmt="csv", out=out) == 6
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert list(rows[0])[:4] == ["timestamp", "meter", "voltage_l12", "voltage_l23"]
    assert list(rows[0])[-1] == "flags"
    first = rows[0]
    assert first["timestamp"] == "2026-11-26T08:00:00+08:00" and first["meter"] == "office"
    assert float(first["voltage_l1"]) == 230.1 and first["current_l1"] == ""
    back = [(r["meter"], datetime.fromisoformat(r["timestamp"]), r["total_real_power"]) for r in rows]
    want = [(s.meter, s.timestamp, repr(s.values["total_real_power"]) if "total_real_power" in s.values else "")
            for s in sample()]
    assert back == want
    assert json.loads(rows[2]["flags"]) == {"current_l1": "missing: no answer"}
    assert rows[5]["total_real_energy"] == "12345.0"


def test_json_export_is_one_array_with_nulls_extras_and_flags(store):
    store.write(sample())
    out = io.StringIO()
    export_rows(store, meter="office", start=T0 + timedelta(seconds=10), fmt="json", out=out, tz="UTC")
    data = json.loads(out.getvalue())
    assert len(data) == 4
    assert data[0]["meter"] == "office" and data[0]["timestamp"] == "2026-11-26T00:00:10.000001+00:00"
    assert data[0]["voltage_l1"] == pytest.approx(231.1) and data[0]["current_l1"] is None and data[0]["thd_v1"] == 1.5
    assert "flags" not in data[0] and data[1]["flags"] == {"current_l1": "missing: no answer"}
    empty = io.StringIO()
    assert export_rows(store, meter="nobody", fmt="json", out=empty) == 0 and json.loads(empty.getvalue()) == []


def test_an_exported_csv_imports_back_identically(store, tmp_path):
    store.write(sample())
    path = tmp_path / "export.csv"
    with open(path, "w", newline="") as f:
        export_rows(store, fmt="csv", out=f)
    other = Store(f"sqlite:///{tmp_path / 'other.db'}", site="test")
    other.migrate()
    result = import_poc_csv(other, [path], meter=None)  # each row's meter column
    assert (result.rows_read, result.rows_inserted, result.skipped) == (6, 6, [])
    assert result.notes == []  # wattlog's own columns (flags) are known

    def key(rows):
        return [(r["meter"], r["timestamp"], r["voltage_l1"], r["total_real_power"], r["total_real_energy"])
                for r in rows]

    assert key(other.readings()) == key(store.readings())
    other.close()


def poc_file(path, lines: list[str], header: bool = True) -> str:
    path.write_text("\n".join(([HEADER] if header else []) + lines) + "\n")
    return str(path)


def test_import_poc_csv(store, tmp_path):
    day1 = poc_file(tmp_path / "rx380_2025-03-01.csv", [
        "2025-03-01 08:00:00,400.1,401.2,399.9,231.0,230.5,229.8,10.1,10.2,10.3,3600,0.95,50.01",
        "2025-03-01 08:00:10,400.1,401.2,399.9,231.0,230.5,229.8,10.1,10.2,10.3,3600,0.95,",
        "2025-03-01 08:00:20,400.1,401.2,399.9,231.0,abc,229.8,10.1,10.2,10.3,3600,0.95,50.01",
        "2025-03-01 8:00:30,400.1,401.2,399.9,231.0,230.5,229.8,10.1,10.2,10.3,3600,0.95,50.0",
        "01/03/2025 08:00:40,400.1,401.2,399.9,231.0,230.5,229.8,10.1,10.2,10.3,3600,0.95,50.0",
        "2025-03-01 08:00:50,400.1,401.2,399.9,231.0,230.5,229.8,10.1,10.2",
        "2025-03-01T08:01:00,400.1,401.2,399.9,231.0,230.5,229.8,10.1,10.2,10.3,3600,0.95,70.0",
        "2025/03/01 08:01:10.5,400.1,401.2,399.9,231.0,230.5,229.8,10.1,10.2,10.3,3600,0.95,50.0",
    ])
    day2 = poc_file(tmp_path / "rx380_2025-03-02.csv", [
        "2025-03-02 00:00:00,,,,,,,,,,3600,,",
        "2025-03-02 00:00:10,None,None,None,None,None,None,None,None,None,3600,None,None",
    ])
    seen: list[int] = []
    result = import_poc_csv(store, [day1, day2], meter="office", tz="Asia/Kuala_Lumpur",
                            progress=lambda path, r: seen.append(r.rows_read))
    assert isinstance(result, ImportResult) and result.files == 2
    assert (result.rows_read, result.rows_inserted, len(result.skipped)) == (10, 7, 3)
    assert [(s.file, s.line) for s in result.skipped] == [(day1, 4), (day1, 6), (day1, 7)]
    assert "voltage_l2: not a number 'abc'" in result.skipped[0].reason
    assert "unreadable timestamp '01/03/2025 08:00:40'" in result.skipped[1].reason
    assert "expected 13 columns, found 9" in result.skipped[2].reason
    assert seen and seen[-1] == 10

    rows = list(store.readings("office"))
    assert rows[0]["timestamp"] == datetime(2025, 3, 1, 0, 0, tzinfo=UTC)  # 08:00 local = 00:00 UTC
    assert rows[0]["total_real_power"] == 3600.0 and rows[0]["voltage_l12"] == 400.1
    assert rows[1]["frequency"] is None and rows[1]["flags"] == {"frequency": "missing: empty in the imported CSV"}
    assert rows[2]["timestamp"] == datetime(2025, 3, 1, 0, 0, 30, tzinfo=UTC)
    assert rows[3]["frequency"] is None and rows[3]["flags"]["frequency"].startswith("implausible: frequency 70")
    assert rows[4]["timestamp"] == datetime(2025, 3, 1, 0, 1, 10, 500000, tzinfo=UTC)
    assert rows[5]["voltage_l1"] is None and rows[6]["total_power_factor"] is None

    quarters = [q for q in store.rollups("15m", "office") if q["samples"]]  # the night between: gap rows
    assert [q["start"] for q in quarters] == [datetime(2025, 3, 1, 8, tzinfo=KL), datetime(2025, 3, 2, tzinfo=KL)]
    assert quarters[0]["energy_kwh"] == pytest.approx(3600 * 70.5 / 3.6e6)  # 08:00:00 .. 08:01:10.5
    assert [d["start"].date().isoformat() for d in store.rollups("1d")] == ["2025-03-01", "2025-03-02"]

    before = (list(store.readings()), {p: store.rollups(p) for p in ("15m", "1h", "1d")})
    again = import_poc_csv(store, [day1, day2], meter="office", tz="Asia/Kuala_Lumpur")
    assert (again.rows_read, again.rows_inserted, len(again.skipped), again.rows_duplicate) == (10, 0, 3, 7)
    assert (list(store.readings()), {p: store.rollups(p) for p in ("15m", "1h", "1d")}) == before


def test_import_without_a_header_and_a_whole_day(store, tmp_path):
    start = datetime(2025, 3, 1)
    lines = [f"{start + timedelta(seconds=10 * i)},,,,,,,,,,1000,1.0,50.0" for i in range(8640)]
    path = poc_file(tmp_path / "day.csv", lines, header=False)
    result = import_poc_csv(store, [path], meter="office")
    assert (result.rows_read, result.rows_inserted, result.skipped) == (8640, 8640, [])
    [day] = store.rollups("1d")
    assert day["start"] == datetime(2025, 3, 1, tzinfo=KL) and day["samples"] == 8640
    assert day["energy_kwh"] == pytest.approx(1000 * 86390 / 3.6e6)
    assert day["pf_avg"] == pytest.approx(1.0) and len(store.rollups("1h")) == 24
    assert len(store.rollups("15m")) == 96


def test_timestamp_variants_and_refusals():
    assert parse_timestamp("2025-03-01 08:00:10", KL) == datetime(2025, 3, 1, 0, 0, 10, tzinfo=UTC)
    assert parse_timestamp(" 2025-03-01T08:00:10Z ", KL) == datetime(2025, 3, 1, 8, 0, 10, tzinfo=UTC)
    assert parse_timestamp("2025-03-01 08:00:10+0700", KL) == datetime(2025, 3, 1, 1, 0, 10, tzinfo=UTC)
    assert parse_timestamp("2025-03-01 08:00", KL) == datetime(2025, 3, 1, 0, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="ambiguous or skipped"):
        parse_timestamp("2025-11-02 01:30:00", ZoneInfo("America/New_York"))
    with pytest.raises(ValueError, match="unreadable"):
        parse_timestamp("yesterday", KL)


def test_a_re_import_repairs_the_rollups_of_an_import_that_stopped_half_way(store, tmp_path):
    lines = [f"2025-03-01 08:{i // 6:02d}:{i % 6 * 10:02d},,,,,,,,,,2000,,50" for i in range(180)]
    path = poc_file(tmp_path / "day.csv", lines)
    import_poc_csv(store, [path], meter="office")
    good = {p: store.rollups(p) for p in ("15m", "1h", "1d")}
    from sqlalchemy import text
    with store.engine.begin() as conn:  # as if the import had died before its rollup rebuild
        for table in ("rollup_15m", "rollup_1h", "rollup_1d"):
            conn.execute(text(f"DELETE FROM {table}"))
    again = import_poc_csv(store, [path], meter="office")
    assert again.rows_inserted == 0 and again.rows_duplicate == 180
    assert {p: store.rollups(p) for p in ("15m", "1h", "1d")} == good
    assert good["1h"][0]["energy_kwh"] == pytest.approx(2000 * 1790 / 3.6e6)
