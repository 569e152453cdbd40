"""Open a site from a config file or a database URL: the store, the site's name and time zone, its
report settings and tariffs. What every command and the web use; raises wattlog errors, never click's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .analytics.settings import ReportSettings
from .errors import ConfigError, StoreError
from .store import Store
from .store.engine import mask_url, normalise

if TYPE_CHECKING:  # the config reader imports every section's parser: only when a config is read
    from .config import Config
    from .tariffs.model import Tariff
    from .tariffs.periods import TariffTimeline

DEFAULT_TZ = "Asia/Kuala_Lumpur"


@dataclass
class Site:
    url: str  # as given, password filled in: never print it
    shown: str  # the URL with the password masked
    name: str  # the site's name in the database
    tz: str
    config: Config | None = None
    recorded: str | None = None  # the zone the database holds for this site (None: a new site)

    @property
    def settings(self) -> ReportSettings:
        """The config's [reports] settings, else the defaults, in the site's time zone."""
        built = self.config.report_settings if self.config else None
        return (built or ReportSettings()).with_(timezone=self.tz)

    @property
    def tariff(self) -> Tariff | None:
        return self.config.tariff if self.config else None

    @property
    def timeline(self) -> TariffTimeline | None:
        """The tariffs the site was on, from when, and its meter-reading day (None: no tariff configured)."""
        return self.config.timeline if self.config else None

    @property
    def what_if(self) -> Tariff | None:
        return self.config.what_if if self.config else None

    def store(self) -> Store:
        return Store(self.url, site=self.name, tz=self.tz)


def sites_in(url: str) -> list[str]:
    """The sites that have meters in the database at `url` (empty for a new or unreachable one)."""
    u = normalise(url)
    if u.get_backend_name() == "sqlite" and u.database and not Path(u.database).exists():
        return []  # looking must not create the file
    try:
        with Store(url) as store:
            return store.sites()
    except StoreError:
        return []


def recorded_zone(url: str, site: str) -> str | None:
    """The time zone the database at `url` holds for `site` (None for a new or unreachable one)."""
    u = normalise(url)
    if u.get_backend_name() == "sqlite" and u.database and not Path(u.database).exists():
        return None  # looking must not create the file
    try:
        with Store(url, site=site) as store:
            return store.recorded_zone()
    except StoreError:
        return None


def open_site(db: str | None = None, config_path: str | None = None, site: str | None = None,
              tz: str | None = None, check: bool = True) -> Site:
    """The database, site and time zone from a config file, or from a URL (the site and its
    recorded zone found in it). A zone (config's or tz) other than the one the database holds for
    the site is refused unless check=False (`wattlog rollups rebuild` moving a site to a zone).
    Raises ConfigProblems for a bad config, ConfigError for a bad URL, site or time zone."""
    if config_path:
        from .config import load_config

        cfg = load_config(config_path)
        main = cfg.databases[0]
        target = Site(db or main.url, mask_url(db) if db else main.shown, site or cfg.site, tz or cfg.timezone, cfg)
        key = "--tz" if tz else "site.timezone"
    else:
        if not db:
            raise ConfigError("no database given", key="--db", fix="give --db URL (e.g. sqlite:///data/wattlog.db) "
                              "or --config FILE")
        try:
            shown = normalise(db).render_as_string(hide_password=True)
        except Exception:  # noqa: BLE001 - SQLAlchemy's ArgumentError, or a value error from a bad port
            raise ConfigError(f"not a database URL: {mask_url(db)!r}", key="--db",
                              fix="e.g. sqlite:///data/wattlog.db or postgresql://user@host/db") from None
        if site is None:
            found = sites_in(db)
            if len(found) > 1:
                raise ConfigError(f"{shown} holds several sites ({', '.join(found)})", key="--site",
                                  fix="choose one with --site")
            site = found[0] if found else "wattlog"
        target = Site(db, shown, site, tz or "", None)
        key = "--tz"
    check_zone(target.tz or DEFAULT_TZ, key if key == "--tz" else f"{config_path}: {key}")
    target.recorded = recorded_zone(target.url, target.name)
    target.tz = target.tz or target.recorded or DEFAULT_TZ
    if check and target.recorded and target.tz != target.recorded:
        how = (f'set timezone = "{target.recorded}" in {config_path}' if key != "--tz"
               else f"leave out --tz (or give --tz {target.recorded})")
        raise ConfigError(f"site {target.name!r} in {target.shown} is in {target.recorded} (recorded with its "
                          f"data), not {target.tz}", file=None if key == "--tz" else config_path, key=key,
                          fix=f"{how}; if the database is wrong, move the site with "
                              f"`wattlog rollups rebuild --tz {target.tz}`")
    return target


def check_zone(zone: str, key: str) -> ZoneInfo:
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {zone!r}", key=key, fix="an IANA name, e.g. Asia/Kuala_Lumpur") from None


def parse_when(text: str | None, tz: str, key: str) -> datetime | None:
    """'2026-11-01' (local midnight) or '2026-11-01 08:30' / ISO 8601 → aware datetime."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        raise ConfigError(f"{text!r} is not a date", key=key, fix="write 2026-11-01 or '2026-11-01 08:30'") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    if not 1970 <= value.year <= 9000:  # 0001-01-01 overflows in UTC; no meter logged before 1970
        raise ConfigError(f"{text!r} is out of range", key=key,
                          fix="use a date from 1970 to 9000, or leave the option out for all data")
    return value
