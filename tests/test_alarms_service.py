"""Alarms in the running service: simulator → engine → events in SQLite → webhook; a webhook that is
down gets the alarm after a restart (from the outbox); `wattlog events` and `wattlog alarms test`."""

from __future__ import annotations

import json
import sqlite3

from click.testing import CliRunner
from test_service import run_for, simulator, site_config  # noqa: F401 (a fixture)

from wattlog.alarms.events import list_events
from wattlog.cli import main
from wattlog.service.runner import Service
from wattlog.store import Store

RULES = {"rules": [{"name": "hv_test", "kind": "overvoltage", "meter": "office",
                    "above": 100.0, "channels": ["hook"]}]}  # the simulator's ~230 V is above 100 V: fires at once


def alarm_config(sim, tmp_path, url):
    return site_config(sim.endpoints[0], tmp_path / "data", extra={"alarms": {
        **RULES, "channels": {"hook": {"type": "webhook", "url": url + "/alarm"}}}})


def test_service_raises_stores_and_notifies(simulator, tmp_path, http_recorder):
    cfg = alarm_config(simulator, tmp_path, http_recorder.url)
    svc = Service(cfg)
    assert svc.alarms is not None
    run_for(svc, 3.0)
    [(method, path, headers, body)] = http_recorder.requests
    assert path == "/alarm" and body["state"] == "raised" and body["event"]["subject"] == "office"
    assert "Over-voltage at office" in body["text"] and "V on L" in body["text"]
    with Store(cfg.databases[0].url, site="t") as store:
        [event] = list_events(store)
    assert event["rule"] == "hv_test" and event["end"] is None and event["peak"] > 200
    assert [n["channel"] for n in event["notified"]] == ["hook"]


def test_a_down_webhook_gets_the_alarm_after_a_restart(simulator, tmp_path, http_recorder):
    cfg = alarm_config(simulator, tmp_path, http_recorder.url)
    http_recorder.status = 503
    run_for(Service(cfg), 2.0)
    assert http_recorder.requests == []
    outbox = sqlite3.connect(tmp_path / "data" / "alarm_outbox.db")
    [(attempts, error)] = outbox.execute("SELECT attempts, last_error FROM outbox WHERE sent IS NULL").fetchall()
    outbox.close()
    assert attempts >= 1 and "503" in error
    http_recorder.status = 200
    # after the restart the old (still active) alarm is news again only through the outbox: the engine
    # starts fresh and raises a new event, so both the held message and the new one arrive
    outbox = sqlite3.connect(tmp_path / "data" / "alarm_outbox.db")
    outbox.execute("UPDATE outbox SET next_try = 0")  # skip the backoff wait
    outbox.commit()
    outbox.close()
    run_for(Service(cfg), 2.0)
    keys = [r[3]["event"]["key"] for r in http_recorder.requests]
    assert len(keys) == 2 and len(set(keys)) == 2


def test_events_command_lists_table_json_csv(simulator, tmp_path, http_recorder):
    cfg = alarm_config(simulator, tmp_path, http_recorder.url)
    run_for(Service(cfg), 2.0)
    db = cfg.databases[0].url
    r = CliRunner().invoke(main, ["events", "--db", db, "--site", "t", "--format", "json"])
    assert r.exit_code == 0, r.output
    [event] = json.loads(r.output)
    assert event["rule"] == "hv_test" and event["kind"] == "overvoltage"
    r = CliRunner().invoke(main, ["events", "--db", db, "--site", "t", "--format", "csv"])
    assert r.output.splitlines()[0].startswith("start,end,rule,kind,subject,peak,unit")
    r = CliRunner().invoke(main, ["events", "--db", db, "--site", "t", "--from", "2000-01-01", "--to", "2000-02-01"])
    assert r.exit_code == 0 and "no events" in r.output


def test_alarms_test_command_says_which_channel_worked(tmp_path, http_recorder):
    http_recorder_down = http_recorder.url.replace(http_recorder.url.rsplit(":", 1)[1], "1")
    (tmp_path / "wattlog.toml").write_text(f'''
[site]
name = "plant"
[[meters]]
name = "office"
url = "tcp://127.0.0.1:5020/1"
[alarms.channels.good]
type = "webhook"
url = "{http_recorder.url}/ok"
[alarms.channels.bad]
type = "webhook"
url = "{http_recorder_down}/down"
''')
    r = CliRunner().invoke(main, ["alarms", "test", "--config", str(tmp_path / "wattlog.toml")])
    assert r.exit_code == 1, r.output
    assert "good: sent" in r.output and "bad: FAILED" in r.output
    [(_, path, _, body)] = http_recorder.requests
    assert path == "/ok" and "test message" in body["text"] and body["state"] == "test"


def test_a_failing_rule_does_not_stop_the_alarms_or_the_service(simulator, tmp_path, http_recorder, monkeypatch):
    from wattlog.alarms import engine

    cfg = alarm_config(simulator, tmp_path, http_recorder.url)
    calls = []

    def broken(self, r):  # noqa: ANN001
        calls.append(r)
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(engine.LevelWatch, "feed", broken)
    svc = Service(cfg)
    run_for(svc, 2.0)
    assert len(calls) >= 3 and svc.alarms.errors == len(calls)  # every reading still reached the engine
    assert svc.spooled >= 3
