"""The login: scrypt password hashes (`wattlog web-password`), in-memory sessions, rate-limited attempts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import deque

SCRYPT = (2**14, 8, 1)  # n, r, p: ~50 ms and 16 MB per check on a Pi, so guessing is slow
SESSION_SECONDS = 12 * 3600
ATTEMPTS, WINDOW = 5, 300.0  # failed logins allowed per client address per WINDOW seconds
COOKIE = "wattlog_session"


def hash_password(password: str) -> str:
    """'scrypt$n$r$p$salt$hash' (base64): what `wattlog web-password` prints."""
    n, r, p = SCRYPT
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    return "$".join(["scrypt", str(n), str(r), str(p), _b64(salt), _b64(digest)])


def check_hash(stored: str) -> str | None:
    """A problem with a stored hash, or None when it is well formed."""
    parts = stored.strip().split("$")
    if len(parts) != 6 or parts[0] != "scrypt" or not all(x.isdigit() for x in parts[1:4]):
        return "not a wattlog password hash (expected scrypt$n$r$p$salt$hash from `wattlog web-password`)"
    try:
        base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5], validate=True)
    except ValueError:
        return "the hash's salt or digest is not base64 (copy the whole line `wattlog web-password` printed)"
    return None


def verify(password: str, stored: str) -> bool:
    if check_hash(stored):
        return False
    _, n, r, p, salt, digest = stored.strip().split("$")
    got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                         dklen=len(base64.b64decode(digest)), maxmem=2**26)
    return hmac.compare_digest(got, base64.b64decode(digest))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Sessions:
    """Random session tokens held in memory: a restart logs everyone out, nothing is stored on disk."""

    def __init__(self) -> None:
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()

    def new(self) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = time.monotonic()
            self._tokens = {t: e for t, e in self._tokens.items() if e > now}
            self._tokens[token] = now + SESSION_SECONDS
        return token

    def valid(self, token: str | None) -> bool:
        if not token:
            return False
        with self._lock:
            expiry = self._tokens.get(token)
        return expiry is not None and expiry > time.monotonic()

    def end(self, token: str | None) -> None:
        with self._lock:
            self._tokens.pop(token or "", None)


class Attempts:
    """Failed logins per client address; blocked after ATTEMPTS failures within WINDOW seconds."""

    def __init__(self, attempts: int = ATTEMPTS, window: float = WINDOW) -> None:
        self.attempts, self.window = attempts, window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> float:
        """Seconds until `client` may try again (0: now)."""
        with self._lock:
            q = self._failures.get(client)
            if not q:
                return 0.0
            now = time.monotonic()
            while q and q[0] <= now - self.window:
                q.popleft()
            return q[0] + self.window - now if len(q) >= self.attempts else 0.0

    def failed(self, client: str) -> None:
        with self._lock:
            if len(self._failures) > 10_000:  # bounded memory under a scan of many addresses
                self._failures.clear()
            self._failures.setdefault(client, deque()).append(time.monotonic())

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)
