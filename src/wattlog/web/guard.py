"""ASGI middleware: security headers on every response, read-only methods, and the login wall."""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import quote

from .login import COOKIE, Sessions

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
OPEN_PATHS = ("/login", "/static/", "/api/v1/health", "/favicon.ico")
WRITE_PATHS = ("/login", "/logout")  # the only POSTs: nothing on the site changes config or data


class Guard:
    """Wraps the app: adds headers, refuses writes, and (with a login) asks for a session."""

    def __init__(self, app: Any, sessions: Sessions | None, https: bool = False) -> None:
        self.app, self.sessions, self.https = app, sessions, https

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        secure = self.https or scope.get("scheme") == "https"

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", CSP.encode()))
                headers += [h for h in HEADERS if h[0] not in names]
                if secure:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                if path.startswith("/api/") and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        if method not in ("GET", "HEAD") and not (method == "POST" and path in WRITE_PATHS):
            await _plain(send_with_headers, 405, {"detail": "the dashboard is read-only"}, [(b"allow", b"GET, HEAD")])
            return
        if self.sessions is not None and not path.startswith(OPEN_PATHS) and not self.sessions.valid(_cookie(scope)):
            if path.startswith("/api/"):
                await _plain(send_with_headers, 401, {"detail": "log in first: POST /login with the password"})
            else:
                target = path + ("?" + scope["query_string"].decode() if scope.get("query_string") else "")
                await _plain(send_with_headers, 303, None, [(b"location", f"/login?next={quote(target)}".encode())])
            return
        await self.app(scope, receive, send_with_headers)


def _cookie(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: BLE001 — a malformed cookie header is no session
                return None
            if COOKIE in jar:
                return jar[COOKIE].value
    return None


async def _plain(send: Any, status: int, body: Any, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    data = b"" if body is None else json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
