"""alarm_events in SQLite and PostgreSQL: raised, resolved once, notifications noted, listed by range."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from wattlog.alarms.events import list_events, note_notified, record
from wattlog.alarms.rules import Alarm
from wattlog.store import Store

T0 = datetime(2026, 12, 2, 6, 0, tzinfo=timezone.utc)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_fresh")
    s = Store(url, site="plant", tz="Asia/Kuala_Lumpur")
    s.migrate()
    yield s
    s.close()


def alarm(state: str, end=None, peak=258.0) -> Alarm:
    return Alarm("hv/office/1", "hv", "overvoltage", "office", state, T0, 258.0, peak, "V",
                 "Over-voltage at office: 258.0 V" if state == "raised" else "Resolved: back to 240.0 V", end,
                 {"phase": "L2"})


def test_raise_resolve_note_and_list(store):
    record(store, alarm("raised"))
    record(store, alarm("raised"))  # a repeat does not add a row
    note_notified(store, "hv/office/1", "tg", "raised", T0 + timedelta(seconds=3))
    [e] = list_events(store)
    assert e["end"] is None and e["peak"] == 258.0 and e["details"] == {"phase": "L2"}
    assert e["notified"] == [{"channel": "tg", "state": "raised", "at": (T0 + timedelta(seconds=3)).isoformat()}]
    record(store, alarm("resolved", T0 + timedelta(minutes=5), peak=261.5))
    [e] = list_events(store)
    assert e["end"] == T0 + timedelta(minutes=5) and e["peak"] == 261.5
    assert e["message"] == "Over-voltage at office: 258.0 V\nResolved: back to 240.0 V"
    assert list_events(store, T0 + timedelta(minutes=6), None) == []  # ended before the range
    assert len(list_events(store, T0 + timedelta(minutes=4), T0 + timedelta(minutes=5))) == 1
    assert list_events(store, None, T0) == []  # started at the range's end: outside
    other = Store(store.url.render_as_string(hide_password=False), site="elsewhere")
    try:
        assert list_events(other) == []  # one site's events only
    finally:
        other.close()


def test_the_monthly_report_lists_the_months_alarm_events(tmp_path):
    from exports_site import OCT, SITE, make_site

    from wattlog.analytics.settings import ReportSettings
    from wattlog.documents import html
    from wattlog.documents.monthly import gather
    from wattlog.documents.usage_sections import document

    url = make_site(tmp_path / "w.db")
    with Store(url, site=SITE, tz="Asia/Kuala_Lumpur") as s:
        start = datetime.combine(OCT, datetime.min.time(), timezone.utc) + timedelta(hours=3)
        record(s, Alarm("md/site/1", "md", "demand", "site", "raised", start, 120.0, 131.5, "kW", "Demand forecast …"))
        note_notified(s, "md/site/1", "ops_telegram", "raised", start)
        record(s, Alarm("hv/x/2", "hv", "overvoltage", "office", "raised", start - timedelta(days=40), 255.0, 255.0, "V",
                        "Over-voltage …", start - timedelta(days=39)))  # September: not in October's report
        data = gather(s, SITE, OCT.replace(day=1), ReportSettings(main_meter="main"))
    assert [e["rule"] for e in data.events] == ["md"]
    page = html.render(document(data))
    section = page[page.index('id="alarms"'):]
    assert "131.5 kW" in section and "ops_telegram" in section and "still active" in section
