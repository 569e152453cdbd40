"""`wattlog bill --month`: the utility's figures beside wattlog's estimate, each cause priced by hand."""

from __future__ import annotations

import json
from datetime import date

from analytics_synth import local, make_store, series, write
from click.testing import CliRunner

from wattlog.cli.app import main


def test_the_bill_on_the_desk_beside_the_estimate(tmp_path):
    path = tmp_path / "w.db"
    store = make_store(f"sqlite:///{path}")
    store.ensure_meter("office", location="office")
    # Mon 4 - Tue 5 Aug 2025: a constant 4 kW, PF 0.95: 192 kWh, 4 kW maximum demand.
    write(store, series("office", local(date(2025, 8, 4)), local(date(2025, 8, 6)), lambda t: 4000.0, step=60,
                        counter0=None))
    store.close()
    (tmp_path / "bill.toml").write_text("kwh = 200\nkw = 5\npf = 0.80\n")
    args = ["bill", "--db", f"sqlite:///{path}", "--month", "2025-08", "--tariff", "my-tnb-mv-general-2025",
            "--from-bill", str(tmp_path / "bill.toml"), "--amount", "720.00", "--format", "json"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    # The estimate: energy 192 × 29.83 sen = 57.27; capacity 4 × 29.43 = 117.72; network 4 × 59.84 = 239.36;
    # retail 200; AFA 192 × -1.45 sen = -2.78; PF 0.95: no surcharge; KWTBB 1.6 % × 611.57 = 9.79 → 621.36.
    assert data["estimate"]["total"] == "621.36"
    rows = {row[0]: row[1:] for row in data["rows"]}
    assert rows["kWh"] == [200.0, 192.0, 8.0] and rows["maximum demand kW"] == [5.0, 4.0, 1.0]
    assert rows["amount"] == ["720.00", "621.36", "98.64"]
    causes = {c["what"]: c["amount"] for c in data["causes"]}
    assert causes == {
        "kWh (unmetered remainder or missing data)": "2.27",  # 8 kWh × (57.27 - 2.78) / 192 = 2.2704
        "maximum demand": "89.27",                            # 1 kW × (29.43 + 59.84)
        # at PF 0.80: 7.5 % × 614.35 = 46.08, KWTBB 1.6 % × 657.65 = 10.52: 668.17 - 621.36
        "power factor": "46.81",
        "unexplained": "-39.71",                              # 98.64 - 2.27 - 89.27 - 46.81
    }
    table = CliRunner().invoke(main, args[:-2] + ["--format", "table"], env={"COLUMNS": "200"}).stdout
    assert "the largest part of the difference: maximum demand (89.27 MYR)" in table
    assert "unmetered remainder: 8.0 kWh" in table
    bad = CliRunner().invoke(main, args[:-4] + ["--amount", "lots"])
    assert bad.exit_code == 2 and "--amount 'lots' is not a number" in bad.stderr
