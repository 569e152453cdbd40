"""`wattlog tariffs` and `wattlog tariffs show ID`: what is shipped, from when, from where, in words."""

from __future__ import annotations

from click.testing import CliRunner

from wattlog.cli.app import main


def run(*args: str):
    return CliRunner().invoke(main, ["tariffs", *args])


def test_the_list_names_every_tariff_its_dates_and_the_adjustments_with_sources(tmp_path):
    r = run()
    assert r.exit_code == 0, r.stderr
    assert "my-tnb-c2-2014           2014-01-01 – 2025-06-30    official" in r.stdout
    assert "my-tnb-mv-tou-2025       2025-07-01 – open          code" in r.stdout
    assert "icpt   2023-01 – 2025-06 (30 months, official, secondary) for my-tnb-c1-2014" in r.stdout
    assert "source: paultan.org 2025-09-02 'TNB AFA rate Sept 2025', quoting TNB" in r.stdout
    cfg = tmp_path / "site.toml"
    cfg.write_text('[site]\nname = "t"\n[[meters]]\nname = "m"\nurl = "tcp://127.0.0.1:5020/1"\n'
                   f'[[databases]]\nurl = "sqlite:///{tmp_path}/w.db"\n[tariff]\nreading_day = 15\n'
                   '[[tariff.periods]]\nfrom = 2014-01-01\nname = "my-tnb-c2-2014"\n'
                   '[[tariff.periods]]\nfrom = 2025-07-01\nname = "my-tnb-mv-tou-2025"\n')
    r = run("--config", str(cfg))
    assert "This site (billing cycles from day 15 of the month):" in r.stdout
    assert "from 2025-07-01  my-tnb-mv-tou-2025" in r.stdout


def test_show_describes_bands_charges_and_rules():
    r = run("show", "my-tnb-c2-2014")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "    band peak: weekday 08:00-22:00; saturday 08:00-22:00; sunday 08:00-22:00; holiday 08:00-22:00" in lines
    assert ("    demand charge demand: 45.1 RM/kW; maximum demand over 30-minute clock blocks, blocks starting in "
            "peak (official)") in lines
    assert "    minimum charge: 600 RM a month, on energy, demand" in lines
    r = run("show", "th-mea-tou-2025")
    assert "    minimum charge: 70 % of the highest demand charge of the past 12 months, on energy, demand, retail" \
        in r.stdout.splitlines()
    bad = run("show", "my-tnb-mv-tou-2099")
    assert bad.exit_code == 2 and "did you mean 'my-tnb-mv-tou-2025'" in bad.stderr
