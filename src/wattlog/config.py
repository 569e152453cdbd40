"""The site configuration (TOML): load, validate everything before a port opens, and explain.

Every problem is reported with the file, the key and the fix; `check` lists them all at once.
Passwords never live in the file: they come from an environment variable or a secret file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .address import MeterAddress, parse_address
from .alarms.settings import AlarmSettings, parse_alarms  # issue 13
from .analytics.settings import ReportSettings
from .errors import ConfigError, ConfigProblems
from .meters.definition import MeterModel, load_models
from .quantities import NAME_PATTERN
from .sinks.database import DatabaseConfig
from .sinks.mqtt import MqttConfig
from .sinks.sections import SECTIONS
from .tariffs.adjust import config_adjust, with_given
from .tariffs.load import load_tariff
from .tariffs.model import Tariff
from .tariffs.periods import TariffTimeline, periods_from_config, retimed
from .validate import Checker
from .webconfig import WebOptions, parse_web

DEFAULT_POLL, DEFAULT_SUMMARY, DEFAULT_CSV = 10.0, 120.0, 300.0
DEFAULT_RETENTION_DAYS = 90
DEFAULT_SPOOL_MAX = 1_000_000
# Readings are spooled (fsynced) this often: a power cut loses at most this much. Longer = less SD wear.
DEFAULT_SPOOL_FLUSH = 5.0


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
    outputs: dict[str, Any] = field(default_factory=dict)  # each sink section's settings, by its key
    raw_retention_days: float = DEFAULT_RETENTION_DAYS
    archive_dir: Path | None = None  # [archive]: raw readings older than the retention, monthly .csv.gz
    spool_max: int = DEFAULT_SPOOL_MAX
    spool_flush: float = DEFAULT_SPOOL_FLUSH  # seconds: what a power cut or kill -9 can cost (issue 14)
    log_file: Path | None = None
    log_level: str = "info"
    definitions: list[Path] = field(default_factory=list)
    report_settings: ReportSettings | None = None  # from [reports]
    tariff: Tariff | None = None  # the site's tariff today: [tariff] name, or the last [[tariff.periods]]
    timeline: TariffTimeline | None = None  # every tariff the site was on, from when; its billing cycles
    what_if: Tariff | None = None
    tariff_dirs: list[Path] = field(default_factory=list)
    web: WebOptions | None = None  # from [web]: the dashboard's address and login
    alarms: AlarmSettings = field(default_factory=AlarmSettings)  # [alarms] rules and channels (issue 13)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def gap_seconds(self) -> float:
        """Readings further apart than this are a gap: energy is not integrated across it."""
        return max(6 * self.poll, 60.0)

    @property
    def databases(self) -> list[DatabaseConfig]:
        return self.outputs.get("databases") or []

    @property
    def csv_dir(self) -> Path | None:
        csv = self.outputs.get("csv")
        return csv.folder if csv else None

    @property
    def mqtt(self) -> MqttConfig | None:
        return self.outputs.get("mqtt")

    def bus_config(self, bus: str) -> BusConfig:
        return self.buses.get(bus, BusConfig())

TOP = {"site", "intervals", "meter_definitions", "buses", "meters", "spool", "archive", "log", "reports",
       "tariff", "web", "alarms"} | {s.key for s in SECTIONS}


def _meters(c: Checker, data: dict[str, Any], models: dict[str, MeterModel]) -> list[MeterConfig]:
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


def _check_buses(c: Checker, meters: list[MeterConfig]) -> None:
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
    c = Checker(path, collect=True)
    c.keys(data, TOP, "")
    cfg = base or Config(path=path)
    site = c.section(data, "site")
    c.keys(site, {"name", "timezone", "data_dir"}, "site.")
    cfg.site = c.string(site, "name", "site.", cfg.site)
    cfg.timezone = c.string(site, "timezone", "site.", cfg.timezone)
    try:
        ZoneInfo(cfg.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        c.fail("site.timezone", f"unknown time zone {cfg.timezone!r}", 'use an IANA name like "Asia/Kuala_Lumpur"')
    cfg.data_dir = c.resolve(c.string(site, "data_dir", "site.", "data"))

    iv = c.section(data, "intervals")
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

    buses = c.section(data, "buses")
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

    for section in SECTIONS:  # each sink parses its own section
        cfg.outputs[section.key] = section.parse(c, data.get(section.key), cfg)

    spool = c.section(data, "spool")
    c.keys(spool, {"max_readings", "raw_retention_days", "flush"}, "spool.")
    cfg.spool_max = int(c.number(spool, "max_readings", "spool.", cfg.spool_max, 1000, 1e9))
    cfg.spool_flush = c.duration(spool, "flush", "spool.", cfg.spool_flush, 0.1, 60)
    cfg.raw_retention_days = c.number(spool, "raw_retention_days", "spool.", cfg.raw_retention_days, 1, 36500)
    archive = c.section(data, "archive")
    c.keys(archive, {"enabled", "dir"}, "archive.")
    folder = c.resolve(c.string(archive, "dir", "archive.", str(cfg.data_dir / "archive")))
    cfg.archive_dir = folder if c.flag(archive, "enabled", "archive.", True) else None

    log = c.section(data, "log")
    c.keys(log, {"file", "level"}, "log.")
    cfg.log_file = c.resolve(c.string(log, "file", "log.", str(cfg.data_dir / "wattlog.log")))
    cfg.log_level = c.string(log, "level", "log.", "info").lower()
    if cfg.log_level not in ("debug", "info", "warning", "error"):
        c.fail("log.level", f"unknown level {cfg.log_level!r}", "use debug, info, warning or error")
    _reports(c, data, cfg)
    cfg.web, problems = parse_web(c.section(data, "web"), c.resolve)  # the dashboard's own rules
    for key, problem, fix in problems:
        c.fail(key, problem, fix)
    # --- alarms (issue 13): after [reports] and [tariff], whose bands and rates are its defaults
    cfg.alarms = parse_alarms(c, data.get("alarms"), {m.name: m.location for m in cfg.meters},
                              cfg.report_settings, cfg.tariff, cfg.site)
    # --- end alarms
    c.done()
    return cfg


def _reports(c: Checker, data: dict[str, Any], cfg: Config) -> None:
    """[reports] (working hours, holidays, main meter, demand window, …) and [tariff]."""
    try:
        cfg.report_settings = ReportSettings.from_dict(c.section(data, "reports"), timezone=cfg.timezone)
    except ConfigError as exc:
        c.fail(exc.key or "reports", exc.problem, exc.fix or "")
    if cfg.report_settings is not None and cfg.report_settings.main_meter:
        if cfg.report_settings.main_meter not in {m.name for m in cfg.meters}:
            c.fail("reports.main_meter", f"no meter is named {cfg.report_settings.main_meter!r}",
                   "name the meter that measures the whole site, as in [[meters]] name")
    tariff = c.section(data, "tariff")
    c.keys(tariff, {"name", "what_if", "dirs", "periods", "reading_day", "adjust"}, "tariff.")
    dirs = tariff.get("dirs", [])
    cfg.tariff_dirs = [c.resolve(str(d)) for d in ([dirs] if isinstance(dirs, str) else dirs)]

    def load(value: str, key: str) -> Tariff | None:
        if value.endswith(".toml"):
            value = str(c.resolve(value))
        try:
            return load_tariff(value, cfg.tariff_dirs)
        except ConfigError as exc:  # its own fix says what to do; a bad tariff file is named with its key
            where = ": ".join(p for p in (exc.file, exc.key) if p) if exc.file else ""
            c.fail(key, f"{where}: {exc.problem}" if where else exc.problem,
                   exc.fix or "docs/tariffs.md lists the shipped tariffs")
            return None

    cfg.timeline = periods_from_config(c, tariff, load)  # [tariff] name, or [[tariff.periods]]; reading_day
    what_if = c.string(tariff, "what_if", "tariff.") or None
    cfg.what_if = load(what_if, "tariff.what_if") if what_if else None
    given = config_adjust(tariff.get("adjust", {}), c.fail)  # [tariff.adjust] afa = { "2025-10" = -6.50 }
    if given and cfg.timeline:
        try:
            cfg.timeline = retimed(cfg.timeline, with_given(cfg.timeline.tariffs, given, "tariff.adjust"))
            cfg.what_if = with_given([cfg.what_if], given, "tariff.adjust")[0] if cfg.what_if else None
        except ConfigError as exc:
            c.fail("tariff.adjust", exc.problem, exc.fix or "")
    cfg.tariff = cfg.timeline.current if cfg.timeline else None


def load_config(path: str | Path, patch: Callable[[dict[str, Any]], None] | None = None) -> Config:
    """Load and check a config file; `patch` may change the parsed tables first (command-line overrides)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigProblems([ConfigError(f"cannot read: {exc.strerror}", file=str(p),
                                          fix="check the path, or create one with `wattlog init`")]) from None
    except UnicodeDecodeError as exc:  # random bytes, a binary, a UTF-16 file from Notepad
        raise ConfigProblems([ConfigError(f"not a UTF-8 text file (byte {exc.start})", file=str(p),
                                          fix="save it as UTF-8 text, or start again with `wattlog init`")]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigProblems([ConfigError(f"not valid TOML: {exc}", file=str(p),
                                          fix="check quotes, brackets and commas near that line")]) from None
    if patch is not None:
        patch(data)
    return parse_config(data, str(p.absolute()))  # relative paths inside resolve against its folder
