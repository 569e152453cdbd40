"""Password hashes for the dashboard's login: scrypt, what `wattlog web-password` prints and the config checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCRYPT = (2**14, 8, 1)  # n, r, p: ~50 ms and 16 MB per check on a Pi, so guessing is slow


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
