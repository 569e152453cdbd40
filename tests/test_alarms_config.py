"""[alarms] in the site config: defaults from [reports] and the tariff, every problem with file, key
and fix, secrets from the environment or a file."""

from __future__ import annotations

import pytest

from wattlog.config import ConfigProblems, load_config

BASE = '''
[site]
name = "plant"
[[meters]]
name = "main"
url = "rtu:///dev/ttyUSB0?unit=1"
[[meters]]
name = "press"
url = "rtu:///dev/ttyUSB0?unit=2"
location = "workshop"
[[meters]]
name = "lathe"
url = "rtu:///dev/ttyUSB0?unit=3"
location = "workshop"
'''

ALARMS = '''
[tariff]
name = "my-tnb-mv-tou-2025"
[[alarms.rules]]
kind = "overvoltage"
[[alarms.rules]]
name = "pf"
kind = "power_factor"
location = "workshop"
channels = ["ops"]
[[alarms.rules]]
name = "md"
kind = "demand"
[[alarms.rules]]
kind = "current"
meter = "press"
rating = 63
min_duration = "30s"
[alarms.channels.ops]
type = "telegram"
chat_id = -1001234
token_env = "WATTLOG_TEST_BOT"
quiet_hours = "22:00-07:00"
[alarms.channels.mail]
type = "smtp"
host = "smtp.example.com"
from = "wattlog@example.com"
to = "ops@example.com"
username = "alarms"
password_file = "smtp.secret"
'''


def load(tmp_path, text):
    p = tmp_path / "wattlog.toml"
    p.write_text(text)
    return load_config(p)


def problems(tmp_path, text):
    with pytest.raises(ConfigProblems) as err:
        load(tmp_path, text)
    return [str(p) for p in err.value.problems]


def test_rules_and_channels_with_their_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("WATTLOG_TEST_BOT", "123:ABC")
    (tmp_path / "smtp.secret").write_text("pw\n")
    cfg = load(tmp_path, BASE + ALARMS)
    hv, pf, md, cur = cfg.alarms.rules
    assert (hv.name, hv.meters, hv.scope, hv.above, hv.below) == ("overvoltage_0", ("main", "press", "lathe"), "site",
                                                                  pytest.approx(253.0), None)
    assert pf.meters == ("press", "lathe") and pf.below == pytest.approx(0.85) and pf.channels == ("ops",)
    assert md.params["window"] == 30 and md.params["currency"] == "RM"
    assert md.params["rate"] == pytest.approx(30.19 + 66.87)  # capacity + network per kW, MV ToU 2025
    assert md.min_duration == 60 and "target_kw" not in md.params
    assert (cur.above, cur.hysteresis, cur.min_duration) == (63, pytest.approx(3.15), 30)
    ops, mail = cfg.alarms.channels
    assert ops.secret == "123:ABC" and ops.options["chat_id"] == "-1001234" and str(ops.quiet[0]) == "22:00:00"
    assert mail.secret == "pw" and mail.options["to"] == ["ops@example.com"]
    assert "123:ABC" not in repr(ops)


def test_mea_tariff_gives_15_minute_blocks(tmp_path):
    cfg = load(tmp_path, BASE + '[tariff]\nname = "th-mea-tou-2025"\n[[alarms.rules]]\nkind = "demand"\ntarget_kw = 80\n')
    assert cfg.alarms.rules[0].params["window"] == 15 and cfg.alarms.rules[0].params["target_kw"] == 80
    assert cfg.alarms.rules[0].params["record_in"] == ("on_peak",)  # MEA charges on-peak demand only


def test_without_a_tariff_the_reports_demand_window_applies(tmp_path):
    cfg = load(tmp_path, BASE + '[reports]\ndemand_window = 15\n[[alarms.rules]]\nkind = "demand"\n')
    md = cfg.alarms.rules[0]
    assert md.params["window"] == 15 and md.params["rate"] == 0 and "record_in" not in md.params


@pytest.mark.parametrize("patch,key,words", [
    ('[[alarms.rules]]\nkind = "overvoltag"\n', "alarms.rules[0].kind", "use one of"),
    ('[[alarms.rules]]\nkind = "current"\n', "alarms.rules[0].rating", "rating = 100"),
    ('[[alarms.rules]]\nkind = "offline"\nmeter = "nope"\n', "alarms.rules[0].meter", "no meter is named"),
    ('[[alarms.rules]]\nkind = "offline"\nlocation = "roof"\n', "alarms.rules[0].location", "workshop"),
    ('[[alarms.rules]]\nkind = "offline"\nminute = 5\n', "alarms.rules[0].minute", "did you mean 'minutes'"),
    ('[[alarms.rules]]\nkind = "offline"\nchannels = ["x"]\n', "alarms.rules[0].channels", "no channel is named"),
    ('[[alarms.rules]]\nkind = "after_hours"\n', "alarms.rules[0].base_kw", "base load"),
    ('[alarms.channels.t]\ntype = "telegram"\nchat_id = "1"\ntoken = "123:ABC"\n', "alarms.channels.t.token",
     "do not belong"),
    ('[alarms.channels.t]\ntype = "telegram"\nchat_id = "1"\ntoken_env = "WATTLOG_NOT_SET_X"\n',
     "alarms.channels.t.token_env", "is not set"),
    ('[alarms.channels.t]\ntype = "line"\nto = "U1"\n', "alarms.channels.t.token_env", "access token"),
    ('[alarms.channels.t]\ntype = "sms"\n', "alarms.channels.t.type", "smtp, telegram"),
    ('[alarms.channels.m]\ntype = "smtp"\nhost = "h"\nfrom = "a@b"\nto = "c@d"\npassword = "x"\n',
     "alarms.channels.m.password", "do not belong"),
    ('[alarms.channels.w]\ntype = "webhook"\nurl = "http://h/x"\nquiet_hours = "22-7"\n',
     "alarms.channels.w.quiet_hours", "22:00-07:00"),
])
def test_every_alarm_error_names_file_key_and_fix(tmp_path, patch, key, words):
    found = problems(tmp_path, BASE + patch)
    hits = [p for p in found if f": {key}: " in p]
    assert hits, found
    assert str(tmp_path / "wattlog.toml") in hits[0] and words in hits[0] and "(fix: " in hits[0]


def test_the_readme_example_is_a_valid_config(tmp_path, monkeypatch):
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Alarms"):]
    example = section[section.index("```toml") + 7:section.index("```", section.index("```toml") + 7)]
    for var in ("WATTLOG_TELEGRAM_TOKEN", "WATTLOG_SMTP_PASSWORD", "WATTLOG_HOOK_TOKEN"):
        monkeypatch.setenv(var, "x")
    (tmp_path / "line.secret").write_text("tok")
    example = example.replace("/etc/wattlog/line.secret", str(tmp_path / "line.secret"))
    cfg = load(tmp_path, BASE + example)
    assert [r.kind for r in cfg.alarms.rules] == ["demand", "overvoltage", "after_hours", "offline"]
    assert [c.type for c in cfg.alarms.channels] == ["telegram", "smtp", "line", "webhook", "mqtt"]


def test_check_names_the_rules_and_channels(tmp_path, monkeypatch):
    import subprocess
    import sys

    monkeypatch.setenv("WATTLOG_TEST_BOT", "123:ABC")
    (tmp_path / "smtp.secret").write_text("pw\n")
    p = tmp_path / "wattlog.toml"
    p.write_text(BASE + ALARMS)
    out = subprocess.run([sys.executable, "-m", "wattlog.cli", "check", "--config", str(p)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "alarms: 4 rule(s); channels: ops (telegram), mail (smtp)" in out.stdout
