"""/api/v1: sites, meters and locations, the latest readings with status, history, buses, events,
health, and the live stream. Sync endpoints run in the thread pool, never on the poller's loop."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from .. import __version__
from ..errors import StoreError, WattlogError
from . import queries
from .context import SiteContext
from .snapshot import meters_of, snapshot
from .when import parse_time

router = APIRouter(prefix="/api/v1")
SiteQuery = Query(None, description="Site name (default: the first; GET /api/v1/sites lists them).",
                  max_length=64)


def site_of(request: Request, name: str | None) -> SiteContext:
    sites: dict[str, SiteContext] = request.app.state.sites
    if name is None:
        return next(iter(sites.values()))
    if name not in sites:
        raise HTTPException(404, f"no site {name!r}: use one of {', '.join(sites)}")
    return sites[name]


@router.get("/health", summary="Liveness, version, and whether each store answers")
def health(request: Request) -> dict[str, Any]:
    out = []
    for ctx in request.app.state.sites.values():
        try:
            ctx.store.meters()
            store = "ok"
        except Exception as exc:  # noqa: BLE001 — health reports it, it does not fail with it
            store = f"error: {exc}"
        out.append({"site": ctx.name, "store": store, "polling": bool(ctx.pollers),
                    "paused": bool(ctx.paused and ctx.paused())})
    ok = all(s["store"] == "ok" for s in out)
    return {"status": "ok" if ok else "degraded", "version": __version__,
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "sites": out}


@router.get("/sites", summary="The sites this dashboard shows")
def sites(request: Request) -> list[dict[str, Any]]:
    return [{"name": c.name, "timezone": c.timezone, "live": c.live is not None, "poll_s": c.poll,
             "demand_target_kw": c.demand_target_kw, "currency": getattr(c.tariff, "currency", None),
             "tariff": getattr(c.tariff, "id", None), "what_if": getattr(c.what_if, "id", None)}
            for c in request.app.state.sites.values()]


@router.get("/meters", summary="Meters with their location and tags")
def meters(request: Request, site: str | None = SiteQuery) -> list[dict[str, Any]]:
    return meters_of(site_of(request, site))


@router.get("/locations", summary="Locations, their meters and tags")
def locations(request: Request, site: str | None = SiteQuery) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for m in meters_of(site_of(request, site)):
        loc = out.setdefault(m["location"], {"location": m["location"], "meters": [], "tags": {}})
        loc["meters"].append(m["name"])
        loc["tags"].update(m["tags"])
    return list(out.values())


async def _snapshot(ctx: SiteContext) -> list[dict[str, Any]]:
    """In the service the live state is in memory: answered on the web loop, no thread hand-off (the
    store's meter list is re-read every 10 s); read-only, the store is asked in the thread pool."""
    if ctx.live is not None and ctx._meters is not None:
        return snapshot(ctx)
    return await run_in_threadpool(snapshot, ctx)


@router.get("/latest", summary="The latest reading of every meter, with status ok / stale / error / unknown")
async def latest(request: Request, site: str | None = SiteQuery) -> dict[str, Any]:
    ctx = site_of(request, site)
    return {"site": ctx.name, "time": ctx.local(datetime.now(timezone.utc)), "meters": await _snapshot(ctx)}


@router.get("/latest/{meter}", summary="The latest reading of one meter")
async def latest_one(request: Request, meter: str, site: str | None = SiteQuery) -> dict[str, Any]:
    ctx = site_of(request, site)
    for row in await _snapshot(ctx):
        if row["meter"] == meter:
            return row
    raise HTTPException(404, f"no meter {meter!r} at site {ctx.name!r}")


@router.get("/history", summary="One quantity of one meter over [start, end), at a resolution for the span",
            response_class=Response, responses={200: {"content": {"application/json": {}}}})
def history(request: Request, meter: str = Query(..., max_length=64),
            quantity: Literal["power", "voltage", "current", "pf", "frequency", "energy"] = "power",
            start: str | None = Query(None, description="ISO 8601; a naive time is site-local (default: end - 24 h)"),
            end: str | None = Query(None, description="ISO 8601 (default: now)"),
            resolution: Literal["auto", "raw", "1m", "15m", "1h", "1d"] = "auto",
            site: str | None = SiteQuery) -> Response:
    ctx = site_of(request, site)
    hi = parse_time(end, ctx.tz, "end") or datetime.now(timezone.utc)
    lo = parse_time(start, ctx.tz, "start") or hi - timedelta(hours=24)
    if hi <= lo:
        raise HTTPException(422, "end must be after start")
    span = hi - lo
    res = queries.choose_resolution(span, quantity) if resolution == "auto" else resolution
    if span > queries.MAX_SPAN[res]:
        raise HTTPException(422, f"{res} covers at most {queries.MAX_SPAN[res].days} days: choose a coarser resolution "
                                 "(or auto)")
    if quantity == "energy" and res in ("raw", "1m"):
        raise HTTPException(422, "energy comes from the rollups: use 15m, 1h, 1d or auto")
    if meter not in {m["name"] for m in meters_of(ctx)}:
        raise HTTPException(404, f"no meter {meter!r} at site {ctx.name!r}")
    key = (ctx.name, meter, quantity, res, queries.floor15(lo), queries.floor15(hi))

    def make() -> bytes:
        data = queries.history(ctx.store, meter, quantity, lo, hi, res)
        times, naive = data.pop("t"), data.pop("naive", True)
        spec = queries.SERIES[quantity]
        body = {"site": ctx.name, "meter": meter, "quantity": quantity, "label": spec["label"], "unit": spec["unit"],
                "resolution": res, "start": ctx.local(lo), "end": ctx.local(hi),
                "t": queries.iso_local(times, ctx.tz, naive), "series": data}
        return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()

    # many phones on one chart ask for the same thing: kept a few seconds (raw: never older than a poll)
    body = request.app.state.history_cache.get(key, min(ctx.poll, 10.0) if res in ("raw", "1m") else 10.0, make)
    return Response(body, media_type="application/json")


@router.get("/buses", summary="Per-bus poller statistics (empty when serving read-only)")
def buses(request: Request, site: str | None = SiteQuery) -> list[dict[str, Any]]:
    ctx = site_of(request, site)
    out = []
    for p in ctx.pollers:
        s = p.stats
        out.append({"bus": p.bus, "requests": s.requests, "replies": s.replies, "no_answer": s.no_answer,
                    "bad_frames": s.bad_frames, "refused": s.refused, "link_errors": s.link_errors,
                    "reconnects": s.reconnects, "cycles": s.cycles, "missed_cycles": s.missed_cycles,
                    "last_cycle_s": round(s.last_cycle_seconds, 3),
                    "busy_pct": round(100 * s.bus_seconds / max((datetime.now(timezone.utc) - ctx.started)
                                                                .total_seconds(), 1e-9), 2),
                    "meters": [{"meter": m.name, "unit": m.unit, "state": m.state, "last_error": m.last_error or None,
                                "readings": m.readings, "errors": m.errors, "last_ok": ctx.local(m.last_ok)}
                               for m in list(p.meters)]})
    return out


@router.get("/events", summary="Alarms (stored), meter errors, recoveries and bus faults seen while running; "
                               "gaps in the data")
def events(request: Request, days: int = Query(7, ge=1, le=400), site: str | None = SiteQuery) -> dict[str, Any]:
    ctx = site_of(request, site)
    now = datetime.now(timezone.utc)
    seen = [{**e, "time": ctx.local(e["time"])} for e in request.app.state.events.of(ctx.name)]
    gaps = [{**g, "start": ctx.local(g["start"]), "end": ctx.local(g["end"])}
            for g in queries.gaps(ctx.store, now - timedelta(days=days), now)]
    return {"site": ctx.name, "live": ctx.live is not None, "alarms": _alarms(ctx, now - timedelta(days=days), now),
            "events": seen, "gaps": gaps}


def _alarms(ctx: SiteContext, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The alarm events stored in the site's database (newest first), in the site's time."""
    from ..alarms.events import list_events

    try:
        rows = list_events(ctx.store, start, end)
    except StoreError:  # a database from before the alarms (revision 0005) has no events table yet
        return []
    return [{"rule": e["rule"], "kind": e["kind"], "subject": e["subject"], "start": ctx.local(e["start"]),
             "end": ctx.local(e["end"]) if e["end"] else None, "peak": e["peak"], "unit": e["unit"],
             "message": e["message"], "notified": e["notified"]} for e in reversed(rows)]


@router.get("/stream", include_in_schema=False)
async def stream(request: Request, site: str | None = SiteQuery) -> StreamingResponse:
    """Server-sent events: `latest` with the same body as GET /latest whenever it changes."""
    ctx = site_of(request, site)
    stop: asyncio.Event = request.app.state.stopping
    every = 0.5 if ctx.live is not None else min(max(ctx.poll / 2, 1.0), 10.0)

    async def events() -> Any:
        yield "retry: 3000\n\n"
        last, quiet = "", 0.0
        while not stop.is_set() and not await request.is_disconnected():
            try:
                body = await run_in_threadpool(lambda: json.dumps(
                    {"site": ctx.name, "meters": snapshot(ctx)}, separators=(",", ":")))
                kind = "latest"
            except WattlogError as exc:  # the database is down: say so, keep the stream, try again
                body, kind = json.dumps({"detail": str(exc)}), "problem"
            # timestamps and ages change every poll; unchanged bodies are not resent
            if body != last:
                last, quiet = body, 0.0
                yield f"event: {kind}\ndata: {body}\n\n"
            elif quiet >= 15:
                quiet = 0.0
                yield ": keep-alive\n\n"
            try:
                await asyncio.wait_for(stop.wait(), every)
            except asyncio.TimeoutError:
                quiet += every

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"cache-control": "no-store", "x-accel-buffering": "no"})
