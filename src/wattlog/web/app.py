"""create_app: the FastAPI app over one or more sites, wrapped in the security guard."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from .. import __version__
from ..errors import WattlogError
from . import api, pages, reports_api
from .context import SiteContext
from .events import EventLog
from .guard import Guard
from .login import Attempts, Sessions
from .pages import STATIC
from .queries import TtlCache


def create_app(store: Any = None, *, site: str = "", timezone: str = "", settings: Any = None, tariff: Any = None,
               what_if: Any = None, live: Any = None, pollers: Sequence[Any] = (), poll: float = 10.0,
               locations: dict[str, str] | None = None, demand_target_kw: float | None = None,
               sites: Sequence[SiteContext] = (), password_hash: str | None = None, https: bool = False,
               paused: Any = None, metrics: Any = None) -> Any:
    """The dashboard and /api/v1 over an already-open store (and, inside the service, its live state
    and pollers), or over several `sites` (a central database). With `password_hash` every page and
    API call needs a login session. Returns an ASGI app; `.state` holds the FastAPI app's state."""
    contexts = list(sites)
    if store is not None:
        contexts.insert(0, SiteContext(store, site, timezone, settings, tariff, what_if, live, pollers, poll,
                                       locations or {}, demand_target_kw, paused=paused))
    if not contexts:
        raise ValueError("create_app needs a store or at least one SiteContext")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.stopping = asyncio.Event()
        app.state.loop = asyncio.get_running_loop()  # WebServer.stop() ends the event streams through it
        task = asyncio.create_task(_watch(app))
        try:
            yield
        finally:
            app.state.stopping.set()  # open event streams end, so a shutdown never waits on a phone
            task.cancel()

    app = FastAPI(title="wattlog", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Read-only REST API of a wattlog site: meters, latest readings, history, reports. "
                              "Times are ISO 8601 with the site's UTC offset; money is an exact decimal string.")
    app.state.sites = {c.name: c for c in contexts}
    app.state.events = EventLog()
    app.state.history_cache = TtlCache()
    app.state.stopping = asyncio.Event()
    app.state.sessions = Sessions() if password_hash else None
    app.state.attempts = Attempts()
    app.state.password_hash = password_hash
    app.state.https = https
    @app.exception_handler(WattlogError)
    async def store_down(request: Any, exc: WattlogError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)  # the database does not answer

    if metrics is not None:  # inside the service: Prometheus text from service/metrics.py
        @app.get("/metrics", include_in_schema=False)
        def prometheus() -> Response:
            body, content_type = metrics()
            return Response(body, media_type=content_type)

    app.include_router(api.router)
    app.include_router(reports_api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    guarded = Guard(app, app.state.sessions, https)
    guarded.state = app.state  # type: ignore[attr-defined]
    guarded.fastapi = app  # type: ignore[attr-defined]
    return guarded


async def _watch(app: FastAPI) -> None:
    """Every second: note meter errors, recoveries and bus faults for the Events page."""
    while True:
        for ctx in app.state.sites.values():
            if ctx.pollers:
                try:
                    app.state.events.observe(ctx)
                except Exception:  # noqa: BLE001 — a racing poller list is read again next second
                    pass
        await asyncio.sleep(1.0)
