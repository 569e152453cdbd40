"""The pages: small server-rendered shells (no inline script or style) that the static JS fills from
/api/v1, and the login form."""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .assets import missing
from .login import COOKIE, SESSION_SECONDS, verify

STATIC = Path(__file__).parent / "static"
router = APIRouter(include_in_schema=False)
PAGES = [("/", "now", "Now"), ("/meter", "meter", "Meter"), ("/where", "where", "Where & when"),
         ("/demand", "demand", "Demand & cost"), ("/reports", "reports", "Reports"), ("/events", "events", "Events")]
CHARTS = {"meter", "where", "demand"}


def _shell(request: Request, page: str, title: str, body: str) -> HTMLResponse:
    sites = list(request.app.state.sites)
    current = request.query_params.get("site") or sites[0]
    nav = "".join(f'<a href="{path}" class="{"on" if key == page else ""}" data-keep-site>{label}</a>'
                  for path, key, label in PAGES)
    picker = ""
    if len(sites) > 1:
        options = "".join(f'<option value="{html.escape(s)}"{" selected" if s == current else ""}>{html.escape(s)}</option>'
                          for s in sites)
        picker = f'<label class="site">Site <select id="site-picker">{options}</select></label>'
    charts = page in CHARTS
    vendor = charts and not missing()
    head_extra = '<link rel="stylesheet" href="/static/vendor/uPlot.min.css">' if vendor else ""
    scripts = ('<script src="/static/vendor/uPlot.iife.min.js" defer></script>' if vendor else "")
    scripts += f'<script src="/static/app.js" defer></script><script src="/static/{page}.js" defer></script>'
    logout = ('<form method="post" action="/logout" class="logout"><button>Log out</button></form>'
              if request.app.state.sessions is not None else "")
    note = ('<p class="note" id="no-charts">Charts are off: the chart library is not installed '
            '(run <code>./dev assets</code>, which needs npm).</p>' if charts and not vendor else "")
    text = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} · {html.escape(current)} · wattlog</title>
<link rel="stylesheet" href="/static/app.css">{head_extra}
</head><body data-page="{page}" data-site="{html.escape(current)}">
<header><span class="brand">wattlog</span><span class="sitename">{html.escape(current)}</span>{picker}{logout}
<nav>{nav}</nav></header>
<main id="main">{note}{body}</main>
<footer><span id="clock"></span> <span id="conn" class="conn"></span></footer>
{scripts}
</body></html>"""
    return HTMLResponse(text)


@router.get("/", response_class=HTMLResponse)
def now(request: Request) -> HTMLResponse:
    return _shell(request, "now", "Now", '<h1>Now</h1><div id="totals" class="totals"></div>'
                  '<div id="tiles" class="tiles" aria-live="polite"></div>')


@router.get("/meter", response_class=HTMLResponse)
def meter(request: Request) -> HTMLResponse:
    return _shell(request, "meter", "Meter", """<h1>Meter</h1>
<form id="pick" class="controls"><label>Meter <select id="meter"></select></label>
<label>Range <select id="range"><option value="1">1 hour</option><option value="6">6 hours</option>
<option value="24" selected>24 hours</option><option value="168">7 days</option><option value="720">30 days</option>
<option value="2160">90 days</option><option value="8760">1 year</option></select></label>
<button type="button" id="reset">Reset zoom</button></form>
<p class="hint">Drag across a chart to zoom; gaps in the data are gaps in the line.</p>
<div id="charts" class="charts"></div>""")


@router.get("/where", response_class=HTMLResponse)
def where(request: Request) -> HTMLResponse:
    return _shell(request, "where", "Where and when", """<h1>Where and when</h1>
<form id="period" class="controls"><label>From <input type="date" id="from"></label>
<label>To <input type="date" id="to"></label><label>Heatmap by <select id="by"><option value="date">date</option>
<option value="weekday">weekday</option></select></label><button type="submit">Show</button></form>
<section><h2>Ranking</h2><div id="ranking"></div></section>
<section><h2>Hour × day heatmap</h2><div id="heatmaps"></div></section>""")


@router.get("/demand", response_class=HTMLResponse)
def demand(request: Request) -> HTMLResponse:
    return _shell(request, "demand", "Demand and cost", """<h1>Demand and cost</h1>
<div id="demand" class="cards"></div><section><h2>What-if tariff</h2><div id="whatif"></div></section>""")


@router.get("/reports", response_class=HTMLResponse)
def reports(request: Request) -> HTMLResponse:
    return _shell(request, "reports", "Reports", """<h1>Reports</h1>
<form id="month-form" class="controls"><label>Month <input type="month" id="month"></label></form>
<ul class="downloads" id="downloads"></ul>""")


@router.get("/events", response_class=HTMLResponse)
def events(request: Request) -> HTMLResponse:
    return _shell(request, "events", "Events", """<h1>Events</h1>
<section><h2>Alarms</h2><div id="alarms"></div></section>
<section><h2>Meter errors and bus faults</h2><div id="events"></div></section>
<section><h2>Gaps in the data (last 7 days)</h2><div id="gaps"></div></section>""")


def _login_page(message: str = "", status: int = 200, next_url: str = "/") -> HTMLResponse:
    text = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in · wattlog</title><link rel="stylesheet" href="/static/app.css"></head>
<body class="login"><main><h1>wattlog</h1>
<form method="post" action="/login"><input type="hidden" name="next" value="{html.escape(next_url)}">
<label>Password <input type="password" name="password" autocomplete="current-password" autofocus required></label>
<button type="submit">Log in</button></form>
{f'<p class="error" role="alert">{html.escape(message)}</p>' if message else ''}</main></body></html>"""
    return HTMLResponse(text, status_code=status)


def _safe_next(value: str) -> str:
    return value if value.startswith("/") and not value.startswith("//") and "\\" not in value else "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    if request.app.state.sessions is None:
        return RedirectResponse("/", 303)
    return _login_page(next_url=_safe_next(next))


@router.post("/login")
async def login(request: Request) -> Response:
    state = request.app.state
    if state.sessions is None:
        return RedirectResponse("/", 303)
    client = request.client.host if request.client else "?"
    wait = state.attempts.retry_after(client)
    if wait > 0:
        response = _login_page(f"Too many attempts: try again in {wait:.0f} s.", 429)
        response.headers["retry-after"] = str(int(wait) + 1)
        return response
    body = (await request.body())[:4096].decode("utf-8", "replace")
    form = parse_qs(body)
    password = (form.get("password") or [""])[0]
    next_url = _safe_next((form.get("next") or ["/"])[0])
    from starlette.concurrency import run_in_threadpool

    if not password or not await run_in_threadpool(verify, password, state.password_hash):
        state.attempts.failed(client)
        return _login_page("Wrong password.", 401, next_url)
    state.attempts.succeeded(client)
    response = RedirectResponse(next_url, 303)
    secure = state.https or request.url.scheme == "https"
    response.set_cookie(COOKIE, state.sessions.new(), max_age=SESSION_SECONDS, httponly=True, samesite="strict",
                        secure=secure, path="/")
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    if request.app.state.sessions is not None:
        request.app.state.sessions.end(request.cookies.get(COOKIE))
    response = RedirectResponse("/login" if request.app.state.sessions is not None else "/", 303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/favicon.ico")
def favicon() -> Response:
    return Response(status_code=204)
