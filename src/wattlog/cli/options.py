"""What database commands share: which store and site to open, and how to read dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from ..config import Config, ConfigProblems, load_config


@dataclass
class Target:
    url: str
    shown: str
    site: str
    tz: str
    config: Config | None = None


def sites_in(url: str) -> list[str]:
    """The sites that have meters in the database at `url` (empty for a new database)."""
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from ..store.engine import make_engine
    from ..store.schema import meters

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return sorted({r[0] for r in conn.execute(select(meters.c.site).distinct())})
    except SQLAlchemyError:
        return []
    finally:
        engine.dispose()


def resolve_target(db: str | None, config_path: str | None, site: str | None, tz: str | None) -> Target:
    """The database, site and time zone from --config, or from --db (the site found in it)."""
    from ..store.engine import normalise

    if config_path:
        try:
            cfg = load_config(config_path)
        except ConfigProblems as exc:
            raise click.ClickException("\n".join(str(p) for p in exc.problems)) from None
        main = cfg.databases[0]
        return Target(db or main.url, main.shown if not db else db, site or cfg.site, tz or cfg.timezone, cfg)
    if not db:
        raise click.UsageError("give --db URL (e.g. sqlite:///data/wattlog.db) or --config FILE")
    url = normalise(db).render_as_string(hide_password=False)
    if site is None:
        found = sites_in(url)
        if len(found) > 1:
            raise click.UsageError(f"{db} holds several sites ({', '.join(found)}): choose one with --site")
        site = found[0] if found else "wattlog"
    zone = tz or "Asia/Kuala_Lumpur"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"unknown time zone {zone!r}; e.g. Asia/Kuala_Lumpur", param_hint="--tz") from None
    return Target(url, normalise(db).render_as_string(hide_password=True), site, zone)


def parse_when(text: str | None, tz: str, option: str) -> datetime | None:
    """'2026-11-01' (local midnight) or '2026-11-01 08:30' / ISO 8601 → aware datetime."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a date; write 2026-11-01 or '2026-11-01 08:30'",
                                 param_hint=option) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value


def day_start(d: datetime) -> datetime:
    return datetime.combine(d.date(), time(0), tzinfo=d.tzinfo)
