"""Database engines: one place that knows each dialect's settings and drivers."""

from __future__ import annotations

import importlib.util

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

DRIVERS = {  # driver name in the URL -> (module, how to install it)
    "psycopg": ("psycopg", "it comes with wattlog: reinstall wattlog"),
    "psycopg2": ("psycopg2", "pip install psycopg2-binary, or use postgresql:// (psycopg 3)"),
    "pymssql": ("pymssql", "pip install 'wattlog[mssql]'"),
    "pyodbc": ("pyodbc", "pip install pyodbc and apt install unixodbc tdsodbc"),
    "pymysql": ("pymysql", "pip install 'wattlog[mysql]'"),
    "mysqldb": ("MySQLdb", "pip install mysqlclient"),
}


def normalise(url: str | URL) -> URL:
    """Plain postgresql:// URLs use psycopg 3, which ships with wattlog."""
    u = make_url(url)
    if u.drivername == "postgresql":
        u = u.set(drivername="postgresql+psycopg")
    return u


def mask_url(text: str) -> str:
    """A URL as typed, password hidden, for messages about a URL too malformed to parse."""
    head, at, tail = text.rpartition("@")
    if not at:
        return text
    start = head.rfind("/") + 1  # the user info follows the last slash before the @
    user, colon, _ = head[start:].partition(":")
    return head[:start] + user + (":***" if colon else "") + at + tail


def check_driver(url: str | URL) -> tuple[str, str] | None:
    """(problem, fix) when the URL's database driver is not installed or not supported."""
    u = normalise(url)
    backend = u.get_backend_name()
    if backend not in ("sqlite", "postgresql", "mssql", "mysql", "mariadb"):
        return (f"unsupported database {backend!r}", "use sqlite, postgresql, mssql+pymssql or mysql+pymysql")
    driver = u.get_driver_name()
    if backend == "sqlite":
        return None
    module, how = DRIVERS.get(driver, (driver, f"install the {driver} driver"))
    if importlib.util.find_spec(module) is None:
        return (f"the {driver} driver for {backend} is not installed", how)
    return None


def make_engine(url: str | URL, **kwargs: object) -> Engine:
    """An engine with the settings wattlog relies on for each dialect."""
    u = normalise(url)
    if u.get_backend_name() == "sqlite":
        engine = create_engine(u, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # SQLAlchemy, not the driver, begins transactions (the driver would start them only
            # at the first write, leaving reads before it outside the transaction).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            # WAL: readers (reports, dashboard) never block the logger; NORMAL is crash-safe in WAL.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):  # type: ignore[no-untyped-def]
            # A writer passes execution_options(sqlite_begin="IMMEDIATE"): it takes the write lock
            # at once, so a read-then-write transaction cannot fail half-way on a busy database.
            conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get('sqlite_begin', '')}".strip())

        return engine
    return create_engine(u, pool_pre_ping=True, **kwargs)
