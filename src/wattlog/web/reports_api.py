"""/api/v1 reports: every report in the registry as JSON with the CLI's options, the workbook and the
monthly HTML/PDF as downloads, and the Demand page's month-so-far summary."""

from __future__ import annotations

import re
import threading
import time
from calendar import monthrange
from datetime import date, datetime, timedelta, timezone
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from ..errors import ConfigError, WattlogError
from .api import SiteQuery, site_of
from .context import SiteContext
from .data import (
    REPORTS,
    NoData,
    ReportError,
    load_tariff,
    monthly_document,
    parse_days,
    parse_hours,
    to_jsonable,
    workbook_bytes,
)
from .when import parse_date

router = APIRouter(prefix="/api/v1")
TARIFF_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,80}$")  # shipped names only: no paths from a browser
MONTHLY_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


class Options:
    """The CLI's report options as query parameters."""

    def __init__(self, location: str | None = Query(None, max_length=200),
                 by: Literal["date", "weekday", "location", "meter"] | None = Query(None, description="heatmap: date or weekday; cost: location or meter"),
                 window: Literal["15", "30", "60"] | None = Query(None, description="demand: block minutes"),
                 top: int | None = Query(None, ge=0, le=100, description="demand: blocks listed per month"),
                 resolution: Literal["15", "30", "60"] | None = Query(None, description="profile: minutes per slot"),
                 tariff: str | None = Query(None, max_length=80, description="cost: a shipped tariff name"),
                 what_if: str | None = Query(None, max_length=80, description="cost: a second tariff to compare"),
                 main_meter: str | None = Query(None, max_length=64),
                 holiday: list[str] = Query([], description="a public holiday, YYYY-MM-DD (repeatable)"),
                 working_hours: str | None = Query(None, max_length=20, description="e.g. 08:00-18:00"),
                 working_days: str | None = Query(None, max_length=40, description="e.g. mon-fri")) -> None:
        self.location, self.by, self.window, self.top, self.resolution = location, by, window, top, resolution
        self.tariff, self.what_if, self.main_meter, self.holiday = tariff, what_if, main_meter, holiday
        self.working_hours, self.working_days = working_hours, working_days

    def settings(self, ctx: SiteContext) -> Any:
        try:
            assert ctx.settings is not None
            return ctx.settings.with_(
                main_meter=self.main_meter, holidays=ctx.settings.holidays | {parse_date(h, "holiday") for h in self.holiday},
                working_hours=parse_hours(self.working_hours) if self.working_hours else None,
                working_days=parse_days(self.working_days) if self.working_days else None)
        except (ValueError, ConfigError) as exc:
            raise HTTPException(422, str(exc)) from None

    def run_options(self, ctx: SiteContext, name: str, strict: bool = True) -> dict[str, Any]:
        given = {"by": self.by, "resolution": int(self.resolution) if self.resolution else None,
                 "window": int(self.window) if self.window else None, "top": self.top,
                 "tariff": _tariff(self.tariff, ctx), "what_if": _tariff(self.what_if, ctx)}
        if name == "cost":
            given["tariff"] = given["tariff"] or ctx.tariff
            given["what_if"] = given["what_if"] or ctx.what_if
            if given["tariff"] is None:
                raise HTTPException(422, "the cost report needs a tariff: give tariff=NAME or set [tariff] in the config")
        spec = REPORTS[name]
        if strict:
            explicit = {k: v for k, v in given.items() if v is not None and k in ("by", "resolution", "window", "top")}
            ignored = [k for k in explicit if k not in spec.options]
            if ignored:
                raise HTTPException(422, f"{ignored[0]} does not apply to the {name} report")
        options = {k: v for k, v in given.items() if v is not None and k in spec.options}
        by_ok = ("date", "weekday") if name == "heatmap" else ("location", "meter")
        if "by" in options and options["by"] not in by_ok:
            if strict:
                raise HTTPException(422, f"by={options['by']} does not apply to {name}: use {' or '.join(by_ok)}")
            del options["by"]
        return options


def _tariff(name: str | None, ctx: SiteContext) -> Any:
    if not name:
        return None
    if not TARIFF_NAME.match(name):
        raise HTTPException(422, f"tariff {name!r}: give a shipped tariff name, e.g. my-tnb-mv-tou-2025")
    try:
        dirs = list(getattr(getattr(ctx, "config", None), "tariff_dirs", []) or [])
        return load_tariff(name, dirs)
    except ConfigError as exc:
        raise HTTPException(422, str(exc)) from None


def _range(start: str, end: str) -> tuple[date, date]:
    first, last = parse_date(start, "from"), parse_date(end, "to")
    if last <= first:
        raise HTTPException(422, f"to={last} must be after from={first} (the range is [from, to))")
    if (last - first).days > 3700:
        raise HTTPException(422, "at most ten years at a time")
    return first, last


def _check_location(ctx: SiteContext, location: str | None) -> None:
    if location is None:
        return
    known = sorted({m["location"] or m["name"] for m in ctx.store.meters()})
    if location not in known:
        raise HTTPException(404, f"no location {location!r}: use one of {', '.join(known) or '(no meters yet)'}")


def _run(ctx: SiteContext, name: str, first: date, last: date, opts: Options, strict: bool = True) -> Any:
    settings = opts.settings(ctx)
    _check_location(ctx, opts.location)
    try:
        return REPORTS[name].run(ctx.store, first, last, settings, location=opts.location,
                                 **opts.run_options(ctx, name, strict))
    except NoData as exc:
        raise HTTPException(404, str(exc)) from None
    except (ReportError, ConfigError) as exc:
        raise HTTPException(422, str(exc)) from None
    except WattlogError as exc:  # the store is down
        raise HTTPException(503, str(exc)) from None


ReportName = Literal[tuple(REPORTS)]  # type: ignore[valid-type]


@router.get("/reports", summary="The reports, their options, and the CLI example of each")
def reports() -> list[dict[str, Any]]:
    return [{"name": n, "summary": s.summary, "options": list(s.options), "example": s.example} for n, s in REPORTS.items()]


@router.get("/reports/{name}", summary="Run a report over local dates [from, to); JSON as `wattlog report --format json`")
def report(request: Request, name: ReportName, start: str = Query(..., alias="from", description="2026-10-01 or 2026-10"),
           end: str = Query(..., alias="to", description="the day after the last (exclusive)"),
           site: str | None = SiteQuery, opts: Options = Depends()) -> Any:
    ctx = site_of(request, site)
    first, last = _range(start, end)
    return to_jsonable(_run(ctx, name, first, last, opts))


@router.get("/workbook", summary="An Excel workbook of one report, or of all (cost when a tariff is known)",
            response_class=Response, responses={200: {"content": {"application/vnd.openxmlformats-officedocument"
                                                                   ".spreadsheetml.sheet": {}}}})
def workbook(request: Request, report: Literal[tuple([*REPORTS, "all"])] = "all",  # type: ignore[valid-type]
             start: str = Query(..., alias="from"), end: str = Query(..., alias="to"),
             site: str | None = SiteQuery, opts: Options = Depends()) -> Response:
    ctx = site_of(request, site)
    first, last = _range(start, end)
    names = list(REPORTS) if report == "all" else [report]
    notes = []
    if report == "all" and ctx.tariff is None and not opts.tariff:
        names.remove("cost")
        notes.append("cost: left out, no tariff (set [tariff] name in the site config)")
    results = []
    for n in names:
        try:
            results.append((n, _run(ctx, n, first, last, opts, strict=report != "all")))
        except HTTPException as exc:
            if report != "all" or exc.status_code != 404:
                raise
            notes.append(f"{n}: {exc.detail}")
    if not results:
        raise HTTPException(404, f"no data from {first} to {last}")
    body = workbook_bytes(results, ctx.name, first, last, opts.settings(ctx), ctx.settings.main_meter if ctx.settings else None, notes)
    filename = f"{_slug(ctx.name)}-{report}-{first}-{last}.xlsx"
    return Response(body, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"content-disposition": f'attachment; filename="{filename}"'})


@router.get("/monthly", summary="The monthly report for management, as HTML (print-ready) or PDF",
            response_class=Response, responses={200: {"content": {"text/html": {}, "application/pdf": {}}}})
def monthly(request: Request, month: str = Query(..., pattern=r"^\d{4}-\d{2}$", description="YYYY-MM, site time"),
            format: Literal["html", "pdf"] = "html", download: bool = False, site: str | None = SiteQuery) -> Response:
    ctx = site_of(request, site)
    first = parse_date(month, "month")
    try:
        body = monthly_document(ctx.store, ctx.name, first, ctx.settings, ctx.tariff, ctx.what_if, format)
    except NoData as exc:
        raise HTTPException(404, str(exc)) from None
    except WattlogError as exc:
        raise HTTPException(503, str(exc)) from None
    name = f"{_slug(ctx.name)}-{month}.{format}"
    disposition = "attachment" if download or format == "pdf" else "inline"
    # the report is one self-contained file with inline CSS and no scripts: its own, stricter CSP
    return Response(body, media_type="application/pdf" if format == "pdf" else "text/html; charset=utf-8",
                    headers={"content-disposition": f'{disposition}; filename="{name}"',
                             "content-security-policy": MONTHLY_CSP})


_cache: dict[tuple[str, str], tuple[float, Any]] = {}
_cache_lock = threading.Lock()


def cached(key: tuple[str, str], seconds: float, make: Any) -> Any:
    """Heavy summaries are recomputed at most every `seconds` (many phones may watch one Pi)."""
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
        if hit and hit[0] > now:
            return hit[1]
    value = make()
    with _cache_lock:
        _cache[key] = (now + seconds, value)
    return value


@router.get("/demand/now", summary="This month so far: peak demand block, the running block against the "
                                   "target, the bill so far and at this pace, the what-if tariff")
def demand_now(request: Request, site: str | None = SiteQuery) -> dict[str, Any]:
    ctx = site_of(request, site)
    return cached((ctx.name, "demand"), 20, lambda: _demand_now(ctx, datetime.now(timezone.utc)))


def _demand_now(ctx: SiteContext, now: datetime) -> dict[str, Any]:
    from .running import running_block

    assert ctx.settings is not None
    local = now.astimezone(ctx.tz)
    first = local.date().replace(day=1)
    tomorrow = local.date() + timedelta(days=1)
    days_in_month = monthrange(first.year, first.month)[1]
    elapsed = (local - datetime.combine(first, datetime.min.time(), tzinfo=ctx.tz)).total_seconds() / 86400
    out: dict[str, Any] = {"site": ctx.name, "month": f"{first:%Y-%m}", "window_min": ctx.settings.demand_window,
                           "target_kw": ctx.demand_target_kw, "peak": None, "block": running_block(ctx, now),
                           "bill": None, "what_if": None, "notes": []}
    try:
        rep = REPORTS["demand"].run(ctx.store, first, tomorrow, ctx.settings, top=3)
        month = rep.months[-1] if rep.months else None
        if month and month.peak:
            out["peak"] = to_jsonable({"kw": month.peak.kw, "start": month.peak.start, "end": month.peak.end,
                                       "complete": month.peak.complete, "coincident": month.coincident})
            out["peak"]["start"] = ctx.local(month.peak.start)
            out["peak"]["end"] = ctx.local(month.peak.end)
    except WattlogError as exc:
        out["notes"].append(f"demand: {exc}")
    if ctx.tariff is None:
        out["notes"].append("no tariff configured: set [tariff] name in the site config to see the bill")
        return out
    try:
        cost = REPORTS["cost"].run(ctx.store, first, tomorrow, ctx.settings, tariff=ctx.tariff, what_if=ctx.what_if)
        pace = days_in_month / max(elapsed, 1 / 24)
        out["bill"] = {"currency": cost.currency, "tariff": cost.tariff_name, "so_far": str(cost.total),
                       "at_pace": str(round(cost.total * _dec(pace), 2)), "complete": cost.complete}
        if cost.what_if is not None:
            out["what_if"] = {"tariff": cost.what_if.tariff, "so_far": str(cost.what_if.total),
                              "at_pace": str(round(cost.what_if.total * _dec(pace), 2)),
                              "rows": to_jsonable(cost.what_if.rows)}
    except WattlogError as exc:
        out["notes"].append(f"cost: {exc}")
    return out


def _dec(x: float) -> Any:
    from decimal import Decimal

    return Decimal(str(round(x, 6)))


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "site"
