"""End to end in real headless Chromium against `wattlog run` polling simulated RX380 meters: the Now
page follows the polls and equals the stored readings, a meter whose simulator stops shows its error
within two polls, charts and the heatmap draw, a 360 px phone has no horizontal scroll, and a
non-loopback bind asks for a login. Screenshots land in tests/artifacts/."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from web_browser import (
    ARTIFACTS,
    FLAGS,
    chromium_path,
    free_port,
    stop,
    wait_http,
    wattlog,
)

from wattlog.sim import SimOptions, SimThread

POLL = 1.0
PAGES = ["/", "/meter", "/where", "/demand", "/reports", "/events"]


@pytest.fixture(scope="module")
def browser():
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=FLAGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """Three simulated meters on two simulators (so one can be stopped) and `wattlog run` with its dashboard."""
    tmp = tmp_path_factory.mktemp("websvc")
    # simulated time runs 60x: the load visibly moves from one 1 s poll to the next
    first = SimThread(SimOptions(units={1: "office", 2: "workshop"}, tcp=[("127.0.0.1", 0)], speed=60))
    second = SimThread(SimOptions(units={3: "aircon"}, tcp=[("127.0.0.1", 0)]))
    a, b = first.__enter__(), second.__enter__()
    port = free_port()
    db = tmp / "wattlog.db"
    meters = "".join(f'[[meters]]\nname = "{name}"\nurl = "{url}"\n'
                     for name, url in (("office", f"{a.endpoints[0]}/1"), ("workshop", f"{a.endpoints[0]}/2"),
                                       ("aircon", f"{b.endpoints[0]}/3")))
    cfg = tmp / "site.toml"
    cfg.write_text(f'[site]\nname = "Kilang"\ntimezone = "Asia/Kuala_Lumpur"\ndata_dir = "{tmp}"\n'
                   f'[intervals]\npoll = "{POLL}s"\nsummary = 0\n{meters}[[databases]]\nurl = "sqlite:///{db}"\n'
                   # the pages are compared with the stored readings a poll later: store at once
                   f'every = "0s"\n[spool]\nflush = "0.5s"\n'
                   f'[csv]\nenabled = false\n[tariff]\nname = "my-tnb-lv-tou-2025"\n'
                   f'[web]\nlisten = "127.0.0.1:{port}"\ndemand_target_kw = 150\n', encoding="utf-8")
    proc = wattlog("run", "--config", str(cfg))
    base = f"http://127.0.0.1:{port}"
    state: dict = {"second_running": True}
    try:
        wait_http(base + "/api/v1/health", proc=proc)
        state = {"base": base, "db": db, "second": second, "proc": proc, "second_running": True}
        yield state
    finally:
        out = stop(proc)
        if state["second_running"]:
            second.__exit__(None, None, None)
        first.__exit__(None, None, None)
        print(out[-3000:])


def stored_kw(db: Path, meter: str, local_iso: str) -> float | None:
    """total_real_power / 1000 of the reading stored at that instant (naive UTC in the database)."""
    from datetime import datetime, timezone

    ts = datetime.fromisoformat(local_iso).astimezone(timezone.utc).replace(tzinfo=None)
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT r.total_real_power FROM readings r JOIN meters m ON m.id = r.meter_id "
                           "WHERE m.name = ? AND r.ts LIKE ?", (meter, ts.isoformat(sep=" ")[:19] + "%")).fetchone()
    return None if row is None else row[0] / 1000


def tile(page, meter: str) -> dict:
    return page.eval_on_selector(f'article.tile[data-meter="{meter}"]', """el => ({
        status: el.dataset.status, kw: el.querySelector('[data-q=kw]').firstChild.textContent,
        ts: el.querySelector('[data-q=ts]').dataset.ts, problem: (el.querySelector('.problem') || {}).textContent || ''})""")


def test_now_follows_the_polls_and_equals_the_stored_readings(browser, service):
    page = browser.new_page(locale="en-US")
    page.goto(service["base"] + "/")
    page.wait_for_selector('article.tile[data-meter="office"][data-status="ok"]', timeout=15000)
    seen = []
    for _ in range(3):
        before = tile(page, "office")["ts"]
        deadline = time.monotonic() + 10  # polled from here: the page's CSP forbids wait_for_function's eval
        while tile(page, "office")["ts"] in (before, None, "") and time.monotonic() < deadline:
            time.sleep(0.2)
        seen.append(tile(page, "office"))
    assert len({s["ts"] for s in seen}) == 3  # a new reading on every poll
    for s in seen:
        deadline = time.monotonic() + 10
        while (kw := stored_kw(service["db"], "office", s["ts"])) is None and time.monotonic() < deadline:
            time.sleep(0.2)  # spooled, then delivered to the database
        assert kw is not None, f"no stored reading at {s['ts']}"
        # equal to display precision: the page and Python may round a half (9.045) differently
        assert abs(float(s["kw"].replace(",", "")) - kw) <= 0.005 + 1e-9, (s["kw"], kw)
    assert len({s["kw"] for s in seen}) > 1  # the simulated load moves between polls
    page.screenshot(path=str(ARTIFACTS / "now.png"), full_page=True)
    page.close()


def wait_stored(service, n: int = 3) -> None:
    """Until the database holds n readings of the office meter (the spool delivers them)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with sqlite3.connect(service["db"]) as conn:
            try:
                if conn.execute("SELECT count(*) FROM readings").fetchone()[0] >= 3 * n:
                    return
            except sqlite3.OperationalError:
                pass
        time.sleep(0.3)
    raise AssertionError("the service stored no readings")


def test_meter_chart_heatmap_and_demand_draw(browser, service):
    wait_stored(service)
    page = browser.new_page(locale="en-US", viewport={"width": 1280, "height": 900})
    page.goto(service["base"] + "/meter?meter=office&range=1")
    page.wait_for_selector('body[data-drawn="1"]', timeout=20000)
    assert page.locator('.chart[data-quantity="power"] canvas').count() == 1
    assert page.locator('.chart[data-quantity="voltage"] canvas').count() == 1
    page.screenshot(path=str(ARTIFACTS / "meter.png"), full_page=True)
    page.goto(service["base"] + "/where")
    page.wait_for_selector('body[data-drawn="1"]', timeout=20000)
    coloured = page.eval_on_selector_all("table.heat td", "tds => tds.filter(td => td.style.backgroundColor).length")
    assert coloured >= 3  # this hour, for each location
    assert page.locator("#ranking tbody tr").count() >= 3
    page.screenshot(path=str(ARTIFACTS / "where.png"), full_page=True)
    page.goto(service["base"] + "/demand")
    page.wait_for_selector('body[data-drawn="1"]', timeout=20000)
    assert "target" in page.inner_text("#demand")
    page.screenshot(path=str(ARTIFACTS / "demand.png"), full_page=True)
    page.close()


def test_phone_has_no_horizontal_scroll_and_the_overview_is_small(browser, service):
    page = browser.new_page(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True)
    sizes: list[int] = []
    page.on("response", lambda r: sizes.append(len(r.body())) if r.request.resource_type != "eventsource" else None)
    for path in PAGES:
        page.goto(service["base"] + path)
        page.wait_for_load_state("networkidle") if path not in ("/",) else page.wait_for_selector("article.tile")
        if path == "/":
            page.wait_for_timeout(500)
            overview = sum(sizes)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{path} is {width} px wide on a 360 px phone"
        page.screenshot(path=str(ARTIFACTS / f"phone-{path.strip('/') or 'now'}.png"), full_page=True)
    assert 0 < overview <= 500_000
    page.close()


def test_a_meter_whose_simulator_stops_shows_its_error_within_two_polls(browser, service):
    page = browser.new_page(locale="en-US")
    page.goto(service["base"] + "/")
    page.wait_for_selector('article.tile[data-meter="aircon"][data-status="ok"]', timeout=15000)
    service["second"].__exit__(None, None, None)  # the aircon's meter goes silent
    service["second_running"] = False
    # two polls, plus the stream's 0.5 s and the page's 1 s re-render
    page.wait_for_selector('article.tile[data-meter="aircon"][data-status="error"]', timeout=(2 * POLL + 2.5) * 1000)
    t = tile(page, "aircon")
    assert t["kw"] == "—" and t["problem"]  # no last value as if live; the error in words
    assert tile(page, "office")["status"] == "ok"
    page.screenshot(path=str(ARTIFACTS / "now-error.png"), full_page=True)
    page.goto(service["base"] + "/events")
    page.wait_for_selector("#events >> text=aircon", timeout=15000)  # a selector: the CSP forbids eval
    page.screenshot(path=str(ARTIFACTS / "events.png"), full_page=True)
    page.close()


def test_login_is_enforced_on_a_non_loopback_bind(browser, service, tmp_path):
    from wattlog.passwords import hash_password

    port = free_port()
    url = f"sqlite:///{service['db']}"
    refused = wattlog("web", "--db", url, "--web", f"0.0.0.0:{port}", env={"WATTLOG_WEB_PASSWORD_HASH": ""})
    out = stop(refused) if refused.wait(30) is not None else ""
    assert refused.returncode == 2 and "without a login" in out
    proc = wattlog("web", "--db", url, "--web", f"0.0.0.0:{port}",
                   env={"WATTLOG_WEB_PASSWORD_HASH": hash_password("pump room 7")})
    try:
        wait_http(f"http://127.0.0.1:{port}/api/v1/health", proc=proc)
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/meter")
        assert "/login" in page.url
        page.fill("input[name=password]", "wrong")
        page.click("button[type=submit]")
        assert "Wrong password" in page.inner_text("body")
        page.fill("input[name=password]", "pump room 7")
        page.click("button[type=submit]")
        page.wait_for_selector('body[data-page="meter"]')
        page.screenshot(path=str(ARTIFACTS / "after-login.png"))
        page.close()
    finally:
        stop(proc)
