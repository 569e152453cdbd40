"""The site's facts kept in the database (revision 0004): the time zone its rollups are cut in."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Connection, insert, select, update

from .schema import sites


def zone_of(conn: Connection, site: str) -> str | None:
    """The recorded time zone of `site`, or None for a site not recorded yet."""
    return conn.execute(select(sites.c.timezone).where(sites.c.name == site)).scalar()


def record(conn: Connection, site: str, zone: str) -> None:
    """Record `site` in `zone` unless it is recorded already (the first zone stays)."""
    if zone_of(conn, site) is None:
        conn.execute(insert(sites).values(name=site, timezone=zone,
                                          created=datetime.now(timezone.utc).replace(tzinfo=None)))


def change(conn: Connection, site: str, zone: str) -> None:
    if zone_of(conn, site) is None:
        record(conn, site, zone)
    else:
        conn.execute(update(sites).where(sites.c.name == site).values(timezone=zone))
