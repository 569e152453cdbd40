"""The site configuration (TOML): load, validate everything before a port opens, and explain.

Every problem is reported with the file, the key and the fix; `check` lists them all at once.
Passwords never live in the file: they come from an environment variable or a secret file.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .address import MeterAddress, parse_address
from .errors import ConfigError, WattlogError
from .meters.definition import MeterModel, load_models
from .quantities import NAME_PATTERN

DEFAULT_POLL, DEFAULT_SUMMARY, DEFAULT_CSV = 10.0, 120.0, 300.0
DEFAULT_RETENTION_DAYS = 90
DEFAULT_SPOOL_MAX = 1_000_000


class ConfigProblems(WattlogError):
    """Every problem found in a config file."""

    def __init__(self, problems: list[ConfigError]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class MeterConfig:
    name: str
    address: MeterAddress
    model: MeterModel
    location: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BusConfig:
    silence: float | None = None  # seconds between frames; None: 3.5 characters
    retries: int = 1
    backoff_max: float = 300.0


@dataclass(frozen=True)
class DatabaseConfig:
    url: str  # with the password filled in: never print it
    shown: str  # the URL with the password masked, for logs and messages
    name: str = "main"


@dataclass(frozen=True)
class MqttConfig:
    host: str
    port: int = 1883
    username: str = ""
    password: str = ""
    topic_prefix: str = "wattlog"
    qos: int = 1
    tls: bool = False
    client_id: str = ""


@dataclass
class Config:
    path: str  # "" when built from command-line options
    site: str = "wattlog"
    timezone: str = "Asia/Kuala_Lumpur"
    data_dir: Path = Path("data")
    poll: float = DEFAULT_POLL
    summary: float = DEFAULT_SUMMARY
    csv_interval: float = DEFAULT_CSV
    meters: list[MeterConfig] = field(default_factory=list)
    buses: dict[str, BusConfig] = field(default_factory=dict)
    databases: list[DatabaseConfig] = field(default_factory=list)
    csv_dir: Path | None = None
    mqtt: MqttConfig | None = None
    raw_retention_days: float = DEFAULT_RETENTION_DAYS
    spool_max: int = DEFAULT_SPOOL_MAX
    log_file: Path | None = None
    log_level: str = "info"
    definitions: list[Path] = field(default_factory=list)
    report_settings: Any = None  # analytics.settings.ReportSettings, from [reports]
    tariff: str | None = None  # the site's tariff (a shipped name or a file), from [tariff]
    what_if: str | None = None
    tariff_dirs: list[Path] = field(default_factory=list)
    web: Any = None  # web.options.WebOptions, from [web] (dashboard address, login)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def gap_seconds(self) -> float:
        """Readings further apart than this are a gap: energy is not integrated across it."""
        return max(6 * self.poll, 60.0)

    def bus_config(self, bus: str) -> BusConfig:
        return self.buses.get(bus, BusConfig())


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h)?\s*$")
_UNITS = {None: 1.0, "s": 1.0, "sec": 1.0, "ms": 0.001, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_duration(value: Any) -> float:
    """Seconds from 10, 10.5, "10s", "2m", "500ms", "1h"; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, (int, float)):
        return float(value)
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(value)
    return float(m.group(1)) * _UNITS[m.group(2)]


class _Checker:
    """Walks the parsed file, collecting every problem instead of stopping at the first."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[ConfigError] = []

    def fail(self, key: str, message: str, fix: str = "") -> None:
        self.problems.append(ConfigError(message, file=self.path, key=key, fix=fix or None))

    def keys(self, table: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                self.fail(f"{where}{key}", "unknown key",
                          (f"did you mean '{close[0]}'? " if close else "remove it; ")
                          + f"allowed here: {', '.join(sorted(allowed))}")

    def table(self, data: dict[str, Any], key: str) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.fail(key, f"expected a table [{key}]", f"write it as [{key}] with keys below it")
            return {}
        return value

    def duration(self, table: dict[str, Any], key: str, where: str, default: float, lo: float, hi: float) -> float:
        if key not in table:
            return default
        try:
            v = parse_duration(table[key])
        except ValueError:
            self.fail(where + key, f"not a duration: {table[key]!r}", 'write seconds, or e.g. "10s", "2m", "1h"')
            return default
        if not lo <= v <= hi:
            self.fail(where + key, f"{v:g} s is out of range", f"use {lo:g} s to {hi:g} s")
            return default
        return v

    def string(self, table: dict[str, Any], key: str, where: str, default: str = "") -> str:
        v = table.get(key, default)
        if not isinstance(v, str):
            self.fail(where + key, f"expected a string, got {v!r}", f'write {key} = "..."')
            return default
        return v

    def number(self, table: dict[str, Any], key: str, where: str, default: float, lo: float, hi: float) -> float:
        v = table.get(key, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
            self.fail(where + key, f"invalid value {v!r}", f"a number from {lo:g} to {hi:g}")
            return default
        return float(v)

    def secret(self, table: dict[str, Any], where: str) -> str:
        """A password from password_env or password_file; never from the file itself."""
        if "password" in table:
            self.fail(where + "password", "passwords do not belong in the config file",
                      "put it in an environment variable (password_env = \"VAR\") or a file readable "
                      "only by the service user (password_file = \"/etc/wattlog/db.secret\")")
        env, file = table.get("password_env"), table.get("password_file")
        if env:
            if env not in os.environ:
                self.fail(where + "password_env", f"environment variable {env} is not set",
                          f"set {env} in the service's environment (systemd: EnvironmentFile=)")
                return ""
            return os.environ[env]
        if file:
            p = self.resolve(str(file))
            try:
                return p.read_text(encoding="utf-8").strip()
            except OSError as exc:
                self.fail(where + "password_file", f"cannot read {p}: {exc.strerror}",
                          "create it, readable by the service user only (chmod 600)")
        return ""

    def resolve(self, text: str) -> Path:
        p = Path(text).expanduser()
        return p if p.is_absolute() or not self.path else Path(self.path).parent / p


TOP = {"site", "intervals", "meter_definitions", "buses", "meters", "databases", "csv", "mqtt", "spool",
       "log", "reports", "tariff", "web"}


def _database(c: _Checker, entry: dict[str, Any], i: int) -> DatabaseConfig | None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    where = f"databases[{i}]."
    c.keys(entry, {"name", "url", "password", "password_env", "password_file"}, where)
    url_text = c.string(entry, "url", where)
    if not url_text:
        c.fail(where + "url", "missing", 'e.g. url = "postgresql://wattlog@db.local/wattlog"')
        return None
    try:
        url = make_url(url_text)
    except ArgumentError:
        c.fail(where + "url", f"not a database URL: {url_text!r}",
               "e.g. sqlite:///data/wattlog.db, postgresql://user@host/db, mssql+pymssql://user@host/db")
        return None
    if url.password:
        c.fail(where + "url", "the URL contains a password",
               "remove it from the URL and use password_env or password_file")
    password = c.secret(entry, where)
    if password:
        url = url.set(password=password)
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")  # plain postgresql:// URLs use psycopg 3
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        url = url.set(database=str(c.resolve(url.database)))  # relative to the config file
    from .store.engine import check_driver

    problem = check_driver(url)
    if problem:
        c.fail(where + "url", problem[0], problem[1])
    name = c.string(entry, "name", where, "main" if i == 0 else f"db{i}")
    return DatabaseConfig(url=url.render_as_string(hide_password=False),
                          shown=url.render_as_string(hide_password=True), name=name)


def _meters(c: _Checker, data: dict[str, Any], models: dict[str, MeterModel]) -> list[MeterConfig]:
    meters: list[MeterConfig] = []
    entries = data.get("meters", [])
    if not isinstance(entries, list) or not entries:
        c.fail("meters", "no meters", 'add [[meters]] with name = "office" and url = "rtu:///dev/ttyUSB0?unit=1"')
        return meters
    names: dict[str, int] = {}
    for i, entry in enumerate(entries):
        where = f"meters[{i}]."
        if not isinstance(entry, dict):
            c.fail(f"meters[{i}]", "expected a table", "write each meter as [[meters]] with keys below it")
            continue
        c.keys(entry, {"name", "url", "model", "location", "tags"}, where)
        name = c.string(entry, "name", where)
        if not name or not NAME_PATTERN.match(name):
            c.fail(where + "name", f"invalid meter name {name!r}",
                   "a location label in lower case letters, digits and _: office, workshop_2, aircon")
            continue
        if name in names:
            c.fail(where + "name", f"meter name {name!r} is used twice", f"meters[{names[name]}] is also {name!r}")
        names[name] = i
        url = c.string(entry, "url", where)
        try:
            address = parse_address(url)
        except ConfigError as exc:
            c.fail(where + "url", exc.problem, exc.fix or "")
            continue
        model_id = c.string(entry, "model", where, "rx380")
        if model_id not in models:
            c.fail(where + "model", f"unknown model {model_id!r}",
                   f"use one of {', '.join(sorted(models))}, or add a definition file to meter_definitions")
            continue
        tags = entry.get("tags", {})
        if not isinstance(tags, dict) or not all(isinstance(v, (str, int, float)) for v in tags.values()):
            c.fail(where + "tags", "tags must be a table of simple values", 'tags = { floor = "1", department = "admin" }')
            tags = {}
        location = c.string(entry, "location", where, name)
        meters.append(MeterConfig(name, address, models[model_id], location or name,
                                  {str(k): str(v) for k, v in tags.items()}))
    _check_buses(c, meters)
    return meters


def _check_buses(c: _Checker, meters: list[MeterConfig]) -> None:
    by_bus: dict[str, list[tuple[int, MeterConfig]]] = {}
    for i, m in enumerate(meters):
        by_bus.setdefault(m.address.bus, []).append((i, m))
    for bus, group in by_bus.items():
        first = group[0][1]
        units: dict[int, str] = {}
        for i, m in group:
            if m.address.line_settings != first.address.line_settings:
                c.fail(f"meters[{i}].url", f"{m.name!r} and {first.name!r} share {bus} with different line settings",
                       "every meter on one RS485 line must use the same baud rate, parity and stop bits")
            if m.address.unit in units:
                c.fail(f"meters[{i}].url", f"{m.name!r} and {units[m.address.unit]!r} both use unit {m.address.unit} on {bus}",
                       "give every meter on a bus its own unit id (set it on the meter's front panel)")
            units[m.address.unit] = m.name


def parse_config(data: dict[str, Any], path: str, base: Config | None = None) -> Config:
    """Validate a parsed config; raise ConfigProblems listing everything wrong."""
    c = _Checker(path)
    c.keys(data, TOP, "")
    cfg = base or Config(path=path)
    site = c.table(data, "site")
    c.keys(site, {"name", "timezone", "data_dir"}, "site.")
    cfg.site = c.string(site, "name", "site.", cfg.site)
    cfg.timezone = c.string(site, "timezone", "site.", cfg.timezone)
    try:
        ZoneInfo(cfg.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        c.fail("site.timezone", f"unknown time zone {cfg.timezone!r}", 'use an IANA name like "Asia/Kuala_Lumpur"')
    cfg.data_dir = c.resolve(c.string(site, "data_dir", "site.", "data"))

    iv = c.table(data, "intervals")
    c.keys(iv, {"poll", "summary", "csv"}, "intervals.")
    cfg.poll = c.duration(iv, "poll", "intervals.", cfg.poll, 0.1, 3600)
    cfg.summary = c.duration(iv, "summary", "intervals.", cfg.summary, 0, 86400)
    cfg.csv_interval = c.duration(iv, "csv", "intervals.", cfg.csv_interval, 1, 86400)

    defs = data.get("meter_definitions", [])
    defs = [defs] if isinstance(defs, str) else defs
    cfg.definitions = [c.resolve(str(d)) for d in defs]
    try:
        models = load_models(cfg.definitions)
    except ConfigError as exc:
        c.fail("meter_definitions", str(exc), "fix the definition file named above")
        models = load_models()
    cfg.meters = _meters(c, data, models)

    buses = c.table(data, "buses")
    for bus_url, settings in buses.items():
        where = f'buses."{bus_url}".'
        if not isinstance(settings, dict):
            c.fail(where[:-1], "expected a table", 'e.g. [buses."rtu:///dev/ttyUSB0"] with silence_ms = 5')
            continue
        c.keys(settings, {"silence_ms", "retries", "backoff_max"}, where)
        known = {m.address.bus for m in cfg.meters}
        if bus_url not in known:
            c.fail(where[:-1], "no meter is on this bus", f"buses are named as {', '.join(sorted(known)) or 'rtu:///dev/ttyUSB0'}")
        silence = settings.get("silence_ms")
        cfg.buses[bus_url] = BusConfig(
            silence=None if silence is None else c.number(settings, "silence_ms", where, 0, 0, 1000) / 1000,
            retries=int(c.number(settings, "retries", where, 1, 0, 5)),
            backoff_max=c.duration(settings, "backoff_max", where, 300, 1, 86400))

    dbs = data.get("databases")
    if dbs is None:
        dbs = [{"url": "sqlite:///" + str(cfg.data_dir / "wattlog.db")}]
    if not isinstance(dbs, list):
        c.fail("databases", "expected [[databases]] entries", '[[databases]] with url = "sqlite:///data/wattlog.db"')
        dbs = []
    cfg.databases = [d for i, e in enumerate(dbs) if isinstance(e, dict) and (d := _database(c, e, i))]

    csv = c.table(data, "csv")
    c.keys(csv, {"enabled", "dir"}, "csv.")
    cfg.csv_dir = c.resolve(c.string(csv, "dir", "csv.", str(cfg.data_dir / "csv"))) if csv.get("enabled", True) else None

    mqtt = c.table(data, "mqtt")
    c.keys(mqtt, {"enabled", "host", "port", "username", "password", "password_env", "password_file",
                  "topic_prefix", "qos", "tls", "client_id"}, "mqtt.")
    if mqtt and mqtt.get("enabled", True):
        host = c.string(mqtt, "host", "mqtt.", "")
        if not host:
            c.fail("mqtt.host", "missing", 'host = "127.0.0.1" (or set enabled = false)')
        cfg.mqtt = MqttConfig(host=host, port=int(c.number(mqtt, "port", "mqtt.", 1883, 1, 65535)),
                              username=c.string(mqtt, "username", "mqtt."), password=c.secret(mqtt, "mqtt."),
                              topic_prefix=c.string(mqtt, "topic_prefix", "mqtt.", "wattlog").strip("/"),
                              qos=int(c.number(mqtt, "qos", "mqtt.", 1, 0, 2)), tls=bool(mqtt.get("tls", False)),
                              client_id=c.string(mqtt, "client_id", "mqtt.", ""))

    spool = c.table(data, "spool")
    c.keys(spool, {"max_readings", "raw_retention_days"}, "spool.")
    cfg.spool_max = int(c.number(spool, "max_readings", "spool.", cfg.spool_max, 1000, 1e9))
    cfg.raw_retention_days = c.number(spool, "raw_retention_days", "spool.", cfg.raw_retention_days, 1, 36500)

    log = c.table(data, "log")
    c.keys(log, {"file", "level"}, "log.")
    cfg.log_file = c.resolve(c.string(log, "file", "log.", str(cfg.data_dir / "wattlog.log")))
    cfg.log_level = c.string(log, "level", "log.", "info").lower()
    if cfg.log_level not in ("debug", "info", "warning", "error"):
        c.fail("log.level", f"unknown level {cfg.log_level!r}", "use debug, info, warning or error")
    _reports(c, data, cfg)
    _web(c, data, cfg)
    if c.problems:
        raise ConfigProblems(c.problems)
    return cfg


def _reports(c: _Checker, data: dict[str, Any], cfg: Config) -> None:
    """[reports] (working hours, holidays, main meter, demand window, …) and [tariff]."""
    from .analytics.settings import ReportSettings

    try:
        cfg.report_settings = ReportSettings.from_dict(c.table(data, "reports"), timezone=cfg.timezone)
    except ConfigError as exc:
        c.fail(exc.key or "reports", exc.problem, exc.fix or "")
    if cfg.report_settings is not None and cfg.report_settings.main_meter:
        if cfg.report_settings.main_meter not in {m.name for m in cfg.meters}:
            c.fail("reports.main_meter", f"no meter is named {cfg.report_settings.main_meter!r}",
                   "name the meter that measures the whole site, as in [[meters]] name")
    tariff = c.table(data, "tariff")
    c.keys(tariff, {"name", "what_if", "dirs"}, "tariff.")
    dirs = tariff.get("dirs", [])
    cfg.tariff_dirs = [c.resolve(str(d)) for d in ([dirs] if isinstance(dirs, str) else dirs)]
    for key in ("name", "what_if"):
        value = c.string(tariff, key, "tariff.") or None
        if value is None:
            continue
        if value.endswith(".toml"):
            value = str(c.resolve(value))
        try:
            from .analytics.tariff import load_tariff

            load_tariff(value, cfg.tariff_dirs)
        except ConfigError as exc:  # its own fix says what to do; a bad tariff file is named with its key
            where = ": ".join(p for p in (exc.file, exc.key) if p) if exc.file else ""
            c.fail(f"tariff.{key}", f"{where}: {exc.problem}" if where else exc.problem,
                   exc.fix or "docs/tariffs.md lists the shipped tariffs")
            continue
        setattr(cfg, "tariff" if key == "name" else "what_if", value)


def _web(c: _Checker, data: dict[str, Any], cfg: Config) -> None:
    """[web]: checked by wattlog.web.options (the dashboard's own rules)."""
    from .web.options import parse_web

    cfg.web, problems = parse_web(c.table(data, "web"), c.resolve)
    for key, problem, fix in problems:
        c.fail(key, problem, fix)


def load_config(path: str | Path) -> Config:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigProblems([ConfigError(f"cannot read: {exc.strerror}", file=str(p),
                                          fix="check the path, or create one with `wattlog init`")]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigProblems([ConfigError(f"not valid TOML: {exc}", file=str(p),
                                          fix="check quotes, brackets and commas near that line")]) from None
    return parse_config(data, str(p.absolute()))  # relative paths inside resolve against its folder
