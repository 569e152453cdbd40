"""The [web] config table and --web HOST:PORT: where the dashboard listens, and its login."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .passwords import check_hash

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8080
HASH_ENV = "WATTLOG_WEB_PASSWORD_HASH"
KEYS = {"enabled", "listen", "password_hash_env", "password_file", "demand_target_kw", "https"}


@dataclass(frozen=True)
class WebOptions:
    enabled: bool = True
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    password_hash: str | None = None  # from the environment or a secret file, never from the config itself
    demand_target_kw: float | None = None  # the site's half-hour demand target, drawn on the Demand page
    https: bool = False  # behind a TLS proxy: cookies get the Secure flag

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_listen(text: str) -> tuple[str, int]:
    """'127.0.0.1:8080', '0.0.0.0:80', '[::1]:8080', ':8080' -> (host, port); ValueError with the fix."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:8080, or 0.0.0.0:8080 with a login)")
    host = host.strip("[]") or DEFAULT_HOST
    return host, int(port)


def password_hash(env: str = HASH_ENV, file: str | Path | None = None) -> str | None:
    """The login hash from a secret file or the environment; ConfigError if it is there but unusable."""
    if file:
        p = Path(file).expanduser()
        try:
            value = p.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read {p}: {exc.strerror}", key="web.password_file",
                              fix="write the line `wattlog web-password` prints into it (chmod 600)") from None
        where = str(p)
    else:
        value = os.environ.get(env, "").strip()
        where = f"${env}"
        if not value:
            return None
    problem = check_hash(value)
    if problem:
        raise ConfigError(f"{where}: {problem}", key="web", fix="run `wattlog web-password` and use the line it prints")
    return value


def parse_web(table: dict[str, Any], resolve: Any = Path) -> tuple[WebOptions, list[tuple[str, str, str]]]:
    """[web] -> options and (key, problem, fix) for everything wrong (config.py reports them)."""
    problems: list[tuple[str, str, str]] = []
    for key in table:
        if key not in KEYS:
            problems.append((f"web.{key}", "unknown key", f"allowed here: {', '.join(sorted(KEYS))}"))
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.append(("web.enabled", f"expected true or false, got {enabled!r}", "enabled = false turns it off"))
        enabled = True
    host, port = DEFAULT_HOST, DEFAULT_PORT
    if "listen" in table:
        try:
            host, port = parse_listen(str(table["listen"]))
        except ValueError as exc:
            problems.append(("web.listen", str(exc), 'listen = "127.0.0.1:8080"'))
    target = table.get("demand_target_kw")
    if target is not None and (isinstance(target, bool) or not isinstance(target, (int, float)) or target <= 0):
        problems.append(("web.demand_target_kw", f"invalid value {target!r}", "a positive number of kW, e.g. 120"))
        target = None
    https = table.get("https", False)
    if not isinstance(https, bool):
        problems.append(("web.https", f"expected true or false, got {https!r}", "https = true behind a TLS proxy"))
        https = False
    hashed = None
    try:
        file = table.get("password_file")
        hashed = password_hash(str(table.get("password_hash_env") or HASH_ENV), resolve(str(file)) if file else None)
    except ConfigError as exc:
        problems.append((exc.key or "web", exc.problem, exc.fix or ""))
    options = WebOptions(enabled=enabled, host=host, port=port, password_hash=hashed,
                         demand_target_kw=float(target) if target is not None else None, https=https)
    if enabled and not options.loopback and hashed is None:
        problems.append(("web.listen", f"{host}:{port} is reachable from other machines and no login is configured",
                         f"run `wattlog web-password`, put the line in a file named by password_file (or in ${HASH_ENV}); "
                         "or listen on 127.0.0.1"))
    return options, problems


def with_cli(base: WebOptions | None, listen: str | None, no_web: bool) -> WebOptions:
    """The config's [web] with --web HOST:PORT / --no-web applied (ValueError for a bad HOST:PORT)."""
    from dataclasses import replace

    options = base or WebOptions(password_hash=password_hash())
    if no_web:
        return replace(options, enabled=False)
    if listen:
        host, port = parse_listen(listen)
        options = replace(options, enabled=True, host=host, port=port)
    return options
