"""The REST API over a real SQLite store: meters, latest with status, history resolutions and gaps,
every report as the CLI's JSON, downloads, read-only, security headers, the login, several sites."""

from __future__ import annotations

import json
import warnings
from datetime import datetime, timedelta, timezone

import pytest

warnings.filterwarnings("ignore", message=".*httpx.*")
from exports_site import SITE, run  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from web_site import TARIFF, TZ, site_app  # noqa: E402

from wattlog.passwords import hash_password  # noqa: E402
from wattlog.polling.bus import BusStats, MeterStatus  # noqa: E402
from wattlog.reading import Reading  # noqa: E402
from wattlog.store import Store  # noqa: E402
from wattlog.web import create_app  # noqa: E402
from wattlog.web.data import REPORTS, LiveState, ReportSettings  # noqa: E402

OCT = {"from": "2026-10-05", "to": "2026-10-08"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    app, store, url = site_app(tmp_path_factory.mktemp("web"))
    with TestClient(app) as client:
        yield client, store, url
    store.close()


def test_meters_and_locations_with_tags(site):
    client, store, _ = site
    store.ensure_meter("office", location="Office", tags={"floor": "1"})
    meters = client.get("/api/v1/meters").json()
    assert [m["name"] for m in meters] == ["main", "office", "plant"]
    assert meters[1] == {"name": "office", "location": "Office", "model": "rx380", "tags": {"floor": "1"}}
    locs = {loc["location"]: loc for loc in client.get("/api/v1/locations").json()}
    assert locs["Office"]["meters"] == ["office"] and locs["Office"]["tags"] == {"floor": "1"}


def test_latest_read_only_is_stale_in_words_and_shows_no_values(site):
    client, *_ = site
    body = client.get("/api/v1/latest").json()
    plant = next(m for m in body["meters"] if m["meter"] == "plant")
    assert plant["status"] == "stale"
    assert plant["error"].startswith("no reading for ") and plant["error"].endswith("days")
    assert plant["values"] == {}  # never the last value as if it were live
    assert plant["last_values"]["total_real_power"] == 40_000.0
    assert plant["timestamp"] == "2026-10-08T00:00:00+08:00"  # ISO 8601 with the site's offset


def test_latest_live_ok_then_error_from_the_poller(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    store = Store(url, site="s", tz=TZ)
    store.migrate()
    live = LiveState(ZoneInfo(TZ))
    now = datetime.now(timezone.utc)
    live.update(Reading("m1", now - timedelta(seconds=2), "rx380", {"total_real_power": 1500.0, "frequency": 50.01}))
    status = MeterStatus("m1", 1, "tcp://127.0.0.1:5020", "rx380", state="ok")
    poller = type("Poller", (), {"bus": status.bus, "stats": BusStats(requests=5, replies=4, no_answer=1),
                                 "meters": [status]})()
    with TestClient(create_app(store, live=live, pollers=[poller], poll=10)) as client:
        m = client.get("/api/v1/latest/m1").json()
        assert (m["status"], m["values"]["total_real_power"], m["error"]) == ("ok", 1500.0, None)
        status.state, status.last_error, status.hint = "failing", "no answer from unit 1", "check the wiring"
        m = client.get("/api/v1/latest/m1").json()
        assert (m["status"], m["error"], m["hint"], m["values"]) == ("error", "no answer from unit 1",
                                                                      "check the wiring", {})
        bus = client.get("/api/v1/buses").json()[0]
        assert (bus["requests"], bus["no_answer"], bus["meters"][0]["state"]) == (5, 1, "failing")
        assert client.get("/api/v1/latest/nope").status_code == 404
    store.close()


def test_a_database_that_is_down_leaves_the_live_values_and_says_503():
    store = Store("postgresql://wattlog@127.0.0.1:1/nowhere", site="s", tz=TZ)  # nothing listens on port 1
    live = LiveState(ZoneInfo(TZ))
    live.update(Reading("m1", datetime.now(timezone.utc), "rx380", {"total_real_power": 2500.0}))
    with TestClient(create_app(store, live=live, poll=10)) as client:
        m = client.get("/api/v1/latest").json()["meters"]
        assert [(x["meter"], x["status"], x["values"]["total_real_power"]) for x in m] == [("m1", "ok", 2500.0)]
        assert [x["name"] for x in client.get("/api/v1/meters").json()] == ["m1"]  # known from the live state
        down = client.get("/api/v1/events")  # needs the store
        assert down.status_code == 503 and "127.0.0.1" in down.json()["detail"]
        assert client.get("/api/v1/health").json()["status"] == "degraded"
    store.close()


def test_history_chooses_the_resolution_for_the_span(site):
    client, *_ = site
    q = {"meter": "plant", "start": "2026-10-05T00:00", "end": "2026-10-08T00:00"}
    three_days = client.get("/api/v1/history", params=q).json()
    assert three_days["resolution"] == "15m" and three_days["unit"] == "kW"
    assert three_days["t"][0] == "2026-10-05T00:00:00+08:00"
    assert len(three_days["t"]) == 3 * 96
    hourly = client.get("/api/v1/history", params={**q, "start": "2025-10-08T00:00"}).json()
    assert hourly["resolution"] == "1d"
    short = client.get("/api/v1/history", params={**q, "start": "2026-10-07T23:00"}).json()
    assert short["resolution"] == "raw" and len(short["t"]) == 60  # a reading a minute in [start, end)
    assert client.get("/api/v1/history", params={**q, "resolution": "raw"}).status_code == 422  # too many points


def test_history_draws_gaps_as_gaps(site):
    client, *_ = site
    # the plant has no readings 7 Oct 03:00-04:00
    raw = client.get("/api/v1/history", params={"meter": "plant", "start": "2026-10-07T02:00",
                                                "end": "2026-10-07T05:00", "resolution": "raw"}).json()
    values = raw["series"]["avg"]
    assert values.count(None) == 1
    i = values.index(None)
    assert raw["t"][i - 1] < "2026-10-07T03:00" and raw["t"][i + 1] >= "2026-10-07T04:00"
    quarters = client.get("/api/v1/history", params={"meter": "plant", "start": "2026-10-07T02:00",
                                                     "end": "2026-10-07T05:00", "resolution": "15m"}).json()
    assert None not in quarters["series"]["avg"][:4] and quarters["series"]["max"][0] == 40.0


def test_history_energy_adds_up_to_the_ranking(site):
    client, *_ = site
    energy = client.get("/api/v1/history", params={"meter": "plant", "quantity": "energy", "start": "2026-10-05",
                                                   "end": "2026-10-08"}).json()
    ranking = client.get("/api/v1/reports/ranking", params=OCT).json()
    plant = next(r for r in ranking["rows"] if r["location"] == "Plant")
    assert sum(v for v in energy["series"]["sum"] if v) == pytest.approx(plant["kwh"], rel=1e-9)


@pytest.mark.parametrize("name", list(REPORTS))
def test_every_report_is_served_as_json(site, name):
    client, *_ = site
    r = client.get(f"/api/v1/reports/{name}", params=OCT)
    assert r.status_code == 200, r.text
    assert r.json()["header"]["report"] == name


def test_a_report_equals_the_clis_json_with_money_as_exact_strings(site, tmp_path):
    client, _, url = site
    params = {"from": "2026-10-01", "to": "2026-11-01", "tariff": TARIFF, "by": "location"}
    api = client.get("/api/v1/reports/cost", params=params).json()
    cli = run("report", "cost", "--db", url, "--from", "2026-10-01", "--to", "2026-11-01", "--tariff", TARIFF,
              "--main-meter", "main", "--format", "json")
    assert cli.returncode == 0, cli.stderr
    assert api == json.loads(cli.stdout)
    assert isinstance(api["total"], str) and api["total"].count(".") == 1 and len(api["total"].split(".")[1]) == 2


def test_report_options_are_checked_like_the_cli(site):
    client, *_ = site
    assert client.get("/api/v1/reports/ranking", params={**OCT, "window": "15"}).status_code == 422
    assert client.get("/api/v1/reports/demand", params={**OCT, "window": "15"}).json()["window"] == 15
    bad = client.get("/api/v1/reports/ranking", params={"from": "2026-13-01", "to": "2026-11-01"})
    assert bad.status_code == 422 and "not a date" in bad.json()["detail"]
    nodata = client.get("/api/v1/reports/ranking", params={"from": "2020-01-01", "to": "2020-02-01"})
    assert nodata.status_code in (200, 404) and nodata.status_code != 500
    assert client.get("/api/v1/reports/ranking", params={**OCT, "location": "Moon"}).status_code == 404
    assert client.get("/api/v1/reports/cost", params={**OCT, "tariff": "../../etc/passwd"}).status_code == 422
    assert client.get("/api/v1/meters", params={"site": "elsewhere"}).status_code == 404


def test_downloads_monthly_html_pdf_and_workbook(site):
    client, *_ = site
    html = client.get("/api/v1/monthly", params={"month": "2026-10"})
    assert html.status_code == 200 and "October 2026" in html.text
    assert "script-src" not in html.headers["content-security-policy"]  # its own CSP: inline CSS, no scripts
    pdf = client.get("/api/v1/monthly", params={"month": "2026-10", "format": "pdf"})
    assert pdf.content[:5] == b"%PDF-" and "attachment" in pdf.headers["content-disposition"]
    book = client.get("/api/v1/workbook", params={"from": "2026-10", "to": "2026-11"})
    assert book.content[:2] == b"PK" and ".xlsx" in book.headers["content-disposition"]
    assert client.get("/api/v1/monthly", params={"month": "2019-01"}).status_code == 404


def test_read_only_and_security_headers(site):
    client, *_ = site
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["x-frame-options"] == "DENY"
    assert "<script>" not in page.text and " style=" not in page.text  # nothing inline for the CSP to allow
    for method in ("post", "put", "delete", "patch"):
        assert getattr(client, method)("/api/v1/meters").status_code == 405
    assert client.get("/api/v1/health").json()["status"] == "ok"
    assert "/api/v1/history" in client.get("/openapi.json").json()["paths"]


def test_login_is_required_rate_limited_and_sets_safe_cookies(tmp_path):
    app, store, _ = site_app(tmp_path, password_hash=hash_password("correct horse"), https=True)
    with TestClient(app, base_url="https://testserver") as client:
        assert client.get("/api/v1/meters").status_code == 401
        page = client.get("/where?from=2026-10-01", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login?next=/where%3Ffrom%3D2026-10-01"
        assert client.get("/api/v1/health").status_code == 200  # for monitoring, says nothing private
        wrong = client.post("/login", data={"password": "wrong", "next": "/"}, follow_redirects=False)
        assert wrong.status_code == 401
        ok = client.post("/login", data={"password": "correct horse", "next": "//evil.example/"},
                         follow_redirects=False)
        assert ok.status_code == 303 and ok.headers["location"] == "/"  # no open redirect
        cookie = ok.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "secure" in cookie
        assert client.get("/api/v1/meters").status_code == 200
        assert "strict-transport-security" in client.get("/").headers
        client.post("/logout")
        assert client.get("/api/v1/meters").status_code == 401
        codes = [client.post("/login", data={"password": f"guess{i}"}, follow_redirects=False).status_code
                 for i in range(6)]
        assert codes[:5] == [401] * 5 and codes[5] == 429
        assert client.post("/login", data={"password": "correct horse"}, follow_redirects=False).status_code == 429
    store.close()


def test_several_sites_in_one_database(tmp_path):
    from wattlog.web.context import SiteContext

    app, store, url = site_app(tmp_path)
    other = Store(url, site="Cawangan", tz="Asia/Bangkok")
    other.ensure_meter("pump", location="Pump")
    app = create_app(sites=[SiteContext(store, settings=ReportSettings(timezone=TZ)), SiteContext(other)])
    with TestClient(app) as client:
        assert [s["name"] for s in client.get("/api/v1/sites").json()] == [SITE, "Cawangan"]
        assert [m["name"] for m in client.get("/api/v1/meters", params={"site": "Cawangan"}).json()] == ["pump"]
        assert 'id="site-picker"' in client.get("/").text
        assert client.get("/api/v1/sites").json()[1]["timezone"] == "Asia/Bangkok"
    other.close()
    store.close()


from zoneinfo import ZoneInfo  # noqa: E402


def test_the_events_page_lists_the_stored_alarms_newest_first_in_site_time(site):
    from wattlog.store import events as stored

    client, store, _ = site
    now = datetime.now(timezone.utc).replace(microsecond=0)
    stored.record(store, "demand:site", rule="demand", kind="demand", subject="site", started=now - timedelta(hours=3),
                  ended=now - timedelta(hours=2), peak=812.5, unit="kW", message="demand block will reach 812.5 kW",
                  details={})
    stored.record(store, "overvoltage:main", rule="ov", kind="overvoltage", subject="main",
                  started=now - timedelta(minutes=5), ended=None, peak=258.1, unit="V", message="253 V exceeded",
                  details={})
    stored.record(store, "offline:plant", rule="off", kind="offline", subject="plant",
                  started=now - timedelta(days=30), ended=now - timedelta(days=29), peak=0, unit="min",
                  message="old", details={})
    alarms = client.get("/api/v1/events", params={"days": 7}).json()["alarms"]
    assert [a["kind"] for a in alarms] == ["overvoltage", "demand"]  # newest first; the month-old one is out
    assert alarms[0]["end"] is None and alarms[0]["peak"] == 258.1 and alarms[0]["message"] == "253 V exceeded"
    local = (now - timedelta(hours=3)).astimezone(ZoneInfo(TZ)).isoformat(timespec="seconds")
    assert alarms[1]["start"] == local and local.endswith("+08:00")
