"""The login: in-memory sessions and rate-limited attempts (the password hashes are passwords.py's)."""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque

from ..passwords import check_hash, hash_password, verify

__all__ = ["COOKIE", "SESSION_SECONDS", "Attempts", "Sessions", "check_hash", "hash_password", "verify"]

SESSION_SECONDS = 12 * 3600
ATTEMPTS, WINDOW = 5, 300.0  # failed logins allowed per client address per WINDOW seconds
COOKIE = "wattlog_session"


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
