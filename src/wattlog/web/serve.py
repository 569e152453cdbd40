"""Serving the dashboard: uvicorn in its own thread with its own event loop, so web work never runs on
(or waits for) the pollers' loop; built for the service, or read-only over a store."""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

from ..errors import WattlogError, WebError
from ..webconfig import HASH_ENV, WebOptions

log = logging.getLogger("wattlog.web")


def check_bind(options: WebOptions) -> None:
    if not options.loopback and not options.password_hash:
        raise WebError(f"refusing to serve the dashboard on {options.host}:{options.port} without a login "
                       f"(fix: run `wattlog web-password`, put the line it prints in a file named by [web] "
                       f"password_file or in ${HASH_ENV}; or listen on 127.0.0.1)")


class WebServer:
    """uvicorn on a socket bound here (so a busy port is a clear error at start), in a daemon thread."""

    def __init__(self, app: Any, options: WebOptions) -> None:
        import uvicorn

        check_bind(options)
        self.options = options
        family = socket.AF_INET6 if ":" in options.host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # inherited by accepted connections on Linux: a response's headers and body go out at once,
        # not 40 ms apart (Nagle waiting on the client's delayed ACK)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self.sock.bind((options.host, options.port))
        except OSError as exc:
            self.sock.close()
            raise WebError(f"cannot serve the dashboard on {options.host}:{options.port}: {exc.strerror} "
                           "(fix: choose another port with --web HOST:PORT, or --no-web)") from None
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                timeout_graceful_shutdown=2, timeout_keep_alive=15, server_header=False)
        self.server = uvicorn.Server(config)
        self.app = app
        self.thread = threading.Thread(target=self._run, name="wattlog-web", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.options.host}]" if ":" in self.options.host else self.options.host
        return f"http://{host}:{self.port}/"

    def _run(self) -> None:
        try:
            self.server.run(sockets=[self.sock])
        except Exception:  # noqa: BLE001 — the dashboard failing must never stop the logger
            log.exception("the web dashboard stopped")

    def start(self, timeout: float = 15.0) -> WebServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started and self.thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self.server.started:
            raise WebError(f"the dashboard did not start on {self.url} (see the log)")
        log.info("dashboard on %s", self.url)
        return self

    def stop(self) -> None:
        state = getattr(self.app, "state", None)
        loop = getattr(state, "loop", None)
        if loop is not None and not loop.is_closed():  # open event streams end first: no 2 s wait per phone
            loop.call_soon_threadsafe(state.stopping.set)
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def for_service(svc: Any, cfg: Any, options: WebOptions) -> WebServer:
    """The dashboard of a running Service: its live state and pollers, its main database read-only."""
    from ..service.metrics import render
    from ..store import Store
    from .app import create_app
    from .data import load_tariff, settings_from_config

    store = Store(cfg.databases[0].url, site=cfg.site, tz=cfg.timezone, gap_seconds=cfg.gap_seconds)
    try:
        store.migrate()  # the database sink does the same on its first write; a new database has tables at once
    except WattlogError as exc:  # a database that is down must not stop the logger: the pages say so
        log.warning("dashboard: the database does not answer yet (%s); pages show what is live", exc)
    app = create_app(store, site=cfg.site, timezone=cfg.timezone, settings=settings_from_config(cfg),
                     tariff=load_tariff(cfg.tariff, cfg.tariff_dirs) if cfg.tariff else None,
                     what_if=load_tariff(cfg.what_if, cfg.tariff_dirs) if cfg.what_if else None,
                     live=svc.live, pollers=svc.pollers, poll=cfg.poll,
                     locations={m.name: m.location for m in cfg.meters}, demand_target_kw=options.demand_target_kw,
                     password_hash=options.password_hash, https=options.https, paused=lambda: svc.paused,
                     metrics=lambda: render(svc))
    return WebServer(app, options)
