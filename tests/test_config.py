"""The site config: every error path names the file, the key and the fix; check lists them all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from wattlog.config import ConfigProblems, load_config
from wattlog.validate import parse_duration

GOOD = '''
[site]
name = "plant"
timezone = "Asia/Kuala_Lumpur"
[intervals]
poll = "5s"
[[meters]]
name = "office"
url = "rtu:///dev/ttyUSB0?unit=1"
tags = { floor = "1" }
[[meters]]
name = "workshop"
url = "rtu:///dev/ttyUSB0?unit=2"
location = "workshop_a"
'''


BASE = GOOD[GOOD.index("[[meters]]"):]


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "wattlog.toml"
    p.write_text(text)
    return p


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigProblems) as err:
        load_config(write(tmp_path, text))
    return [str(p) for p in err.value.problems]


def test_a_good_config_and_its_defaults(tmp_path):
    cfg = load_config(write(tmp_path, GOOD))
    assert (cfg.site, cfg.poll, cfg.summary, cfg.csv_interval) == ("plant", 5.0, 120.0, 300.0)
    assert [m.name for m in cfg.meters] == ["office", "workshop"]
    assert cfg.meters[1].location == "workshop_a" and cfg.meters[0].tags == {"floor": "1"}
    assert cfg.data_dir == tmp_path / "data"
    assert cfg.databases[0].url == f"sqlite:///{tmp_path}/data/wattlog.db"
    assert cfg.csv_dir == tmp_path / "data" / "csv"
    assert cfg.mqtt is None and cfg.raw_retention_days == 90
    # SD-card wear (issue 14): the spool is fsynced every 5 s, SQLite written once a minute
    assert cfg.spool_flush == 5.0 and cfg.databases[0].every == 60.0


def test_server_databases_take_readings_as_they_come_and_every_is_settable(tmp_path):
    cfg = load_config(write(tmp_path, GOOD + '[spool]\nflush = "1s"\n[[databases]]\nurl = "postgresql://u@h/db"\n'
                                             '[[databases]]\nurl = "sqlite:///x.db"\nevery = "0s"\n'
                                             '[[databases]]\nurl = "sqlite:///y.db"\nevery = "5m"\n'))
    assert cfg.spool_flush == 1.0
    assert [d.every for d in cfg.databases] == [0.0, 0.0, 300.0]


@pytest.mark.parametrize("patch, key, words", [
    ('[site]\nname = "x"\ntimezone = "Mars/Olympus"\n', "site.timezone", "IANA name"),
    ('[intervals]\npoll = "fast"\n', "intervals.poll", '"10s"'),
    ('[intervals]\npoll = 0\n', "intervals.poll", "out of range"),
    ('[intervalls]\npoll = 5\n', "intervalls", "did you mean 'intervals'"),
    ('[[meters]]\nname = "lab"\nurl = "rtu://dev/ttyUSB0"\n', "meters[2].url", "three slashes"),
    ('[[meters]]\nname = "lab"\nurl = "tcp://h/1"\nmodel = "rx999"\n', "meters[2].model", "rx380"),
    ('[[meters]]\nname = "office"\nurl = "tcp://h/1"\n', "meters[2].name", "used twice"),
    ('[[meters]]\nname = "Lab 1"\nurl = "tcp://h/1"\n', "meters[2].name", "lower case"),
    ('[[meters]]\nname = "lab"\nurl = "rtu:///dev/ttyUSB0?unit=1"\n', "meters[2].url", "own unit id"),
    ('[[meters]]\nname = "lab"\nurl = "rtu:///dev/ttyUSB0?unit=9&baud=9600"\n', "meters[2].url", "same baud rate"),
    ('[[meters]]\nname = "lab"\nurl = "tcp://h/1"\nfloor = 2\n', "meters[2].floor", "allowed here"),
    ('[[databases]]\nurl = "postgresql://u:secret@h/db"\n', "databases[0].url", "password_env"),
    ('[[databases]]\nurl = "postgresql://u@h/db"\npassword = "x"\n', "databases[0].password", "environment variable"),
    ('[[databases]]\nurl = "postgresql://u@h/db"\npassword_env = "NO_SUCH_VAR_XYZ"\n', "databases[0].password_env",
     "is not set"),
    ('[[databases]]\nurl = "postgresql://u@h/db"\npassword_file = "nope.secret"\n', "databases[0].password_file",
     "cannot read"),
    ('[[databases]]\nurl = "oracle://u@h/db"\n', "databases[0].url", "unsupported database"),
    ('[[databases]]\nurl = "not a url"\n', "databases[0].url", "not a database URL"),
    ('[mqtt]\nport = 1883\n', "mqtt.host", "enabled = false"),
    ('[mqtt]\nhost = "h"\nport = 99999\n', "mqtt.port", "1 to 65535"),
    ('[log]\nlevel = "loud"\n', "log.level", "debug, info"),
    ('[spool]\nflush = "2h"\n', "spool.flush", "0.1 s to 60 s"),
    ('[[databases]]\nurl = "sqlite:///x.db"\nevery = "often"\n', "databases[0].every", '"10s"'),
    ('[buses."rtu:///dev/ttyUSB9"]\nsilence_ms = 5\n', 'buses."rtu:///dev/ttyUSB9"', "no meter is on this bus"),
    ('[buses."rtu:///dev/ttyUSB0"]\nsilence = 5\n', 'buses."rtu:///dev/ttyUSB0".silence', "silence_ms"),
])
def test_every_error_names_file_key_and_fix(tmp_path, patch, key, words):
    found = problems(tmp_path, BASE + patch)
    hits = [p for p in found if f": {key}: " in p]
    assert hits, found
    assert str(tmp_path / "wattlog.toml") in hits[0]
    assert words in hits[0] and "(fix: " in hits[0]


def test_no_meters(tmp_path):
    found = problems(tmp_path, '[site]\nname = "x"\n')
    assert any(": meters: no meters" in p for p in found)


def test_every_problem_is_listed_at_once(tmp_path):
    found = problems(tmp_path, GOOD.replace('poll = "5s"', 'poll = "x"') + '[log]\nlevel = "loud"\n[[meters]]\nname = "lab"\nurl = "ftp://x"\n')
    assert len(found) == 3


def test_broken_toml_and_missing_file(tmp_path):
    found = problems(tmp_path, GOOD + "[site\n")
    assert "not valid TOML" in found[0]
    with pytest.raises(ConfigProblems, match="wattlog init"):
        load_config(tmp_path / "missing.toml")


def test_secrets_from_env_and_file(tmp_path, monkeypatch):
    monkeypatch.setenv("WATTLOG_TEST_PW", "s3cret")
    (tmp_path / "mq.secret").write_text("mqpass\n")
    cfg = load_config(write(tmp_path, GOOD + '[[databases]]\nurl = "postgresql://wl@db.local/energy"\n'
                                               'password_env = "WATTLOG_TEST_PW"\n'
                                               '[mqtt]\nhost = "127.0.0.1"\nusername = "wl"\npassword_file = "mq.secret"\n'))
    assert cfg.databases[0].url == "postgresql+psycopg://wl:s3cret@db.local/energy"
    assert "s3cret" not in cfg.databases[0].shown
    assert cfg.mqtt.password == "mqpass"


@pytest.mark.parametrize("text, seconds", [(10, 10), (2.5, 2.5), ("10s", 10), ("2m", 120), ("500ms", 0.5),
                                           ("1h", 3600), ("5 min", 300)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


def wattlog(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wattlog.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_init_writes_an_example_that_check_accepts(tmp_path):
    path = tmp_path / "site.toml"
    r = wattlog("init", str(path))
    assert r.returncode == 0 and path.exists()
    assert wattlog("init", str(path)).returncode == 2  # no silent overwrite
    r = wattlog("check", "--config", str(path))
    assert r.returncode == 0, r.stderr
    assert "ok — site my_site" in r.stdout and "2 meters on 1 bus" in r.stdout


def test_check_lists_every_problem_and_fails(tmp_path):
    path = write(tmp_path, GOOD.replace('poll = "5s"', 'poll = "x"') + '[log]\nlevel = "loud"\n')
    r = wattlog("check", "--config", str(path))
    assert r.returncode == 1
    lines = [l for l in r.stderr.splitlines() if l.startswith("error: ")]
    assert len(lines) == 2 and "2 problem(s)" in r.stderr


def test_quick_start_options_are_validated_the_same_way():
    r = wattlog("run", "--meter", "office=ftp://x")
    assert r.returncode == 2 and "meters[0].url" in r.stderr and "unknown scheme" in r.stderr
    r = wattlog("run")
    assert r.returncode == 2 and "--config FILE or at least one --meter" in r.stderr


def test_reports_and_tariff_sections(tmp_path):
    cfg = load_config(write(tmp_path, GOOD + '[reports]\nworking_hours = "07:30-17:00"\nmain_meter = "office"\n'
                                             'holidays = ["2026-08-31"]\n[tariff]\nname = "my-tnb-mv-tou-2025"\n'
                                             'what_if = "my-tnb-mv-general-2025"\n'))
    assert cfg.report_settings.main_meter == "office" and cfg.report_settings.demand_window == 30
    assert str(cfg.report_settings.working_hours[0]) == "07:30:00"
    assert (cfg.tariff.id, cfg.what_if.id) == ("my-tnb-mv-tou-2025", "my-tnb-mv-general-2025")


@pytest.mark.parametrize("patch, key, words", [
    ('[reports]\nworking_hour = "08:00-18:00"\n', "reports.working_hour", "allowed"),
    ('[reports]\nworking_hours = "8 to 6"\n', "reports.working_hours", '"08:00-18:00"'),
    ('[reports]\nmain_meter = "incomer"\n', "reports.main_meter", "whole site"),
    ('[tariff]\nname = "my-tnb-mv-tou-2099"\n', "tariff.name", "did you mean 'my-tnb-mv-tou-2025'"),
    ('[tariff]\ntarif = "x"\n', "tariff.tarif", "allowed here"),
])
def test_report_and_tariff_errors(tmp_path, patch, key, words):
    found = problems(tmp_path, BASE + patch)
    hits = [p for p in found if f": {key}: " in p or f" {key}: " in p]
    assert hits, found
    assert words in hits[0]
