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


TIMEOUT = 20.0  # seconds: connect, statement and lock timeouts on every database call (issue 8)


def timeout_args(u: URL, timeout: float) -> dict[str, object]:
    """The driver's connect arguments that bound every call: a database that is down, hung or
    locked gives an error within about `timeout` seconds instead of a wait without end. (A frozen
    server cannot enforce its own statement timeout: sinks/database.py also bounds each call.)"""
    backend, ms = u.get_backend_name(), max(int(timeout * 1000), 1)
    if backend == "sqlite":
        return {"timeout": timeout}  # the busy timeout: how long to wait for another writer's lock
    if backend == "postgresql" and u.get_driver_name() in ("psycopg", "psycopg2"):
        return {"connect_timeout": max(int(round(timeout)), 2),
                "options": f"-c statement_timeout={ms} -c lock_timeout={ms} -c synchronous_commit=on"}
    if backend in ("mysql", "mariadb") and u.get_driver_name() == "pymysql":
        t = max(int(round(timeout)), 1)
        return {"connect_timeout": t, "read_timeout": t, "write_timeout": t,
                "init_command": f"SET SESSION innodb_lock_wait_timeout = {t}"}
    if backend == "mssql" and u.get_driver_name() == "pymssql":
        return {"login_timeout": max(int(round(timeout)), 1), "timeout": max(int(round(timeout)), 1)}
    return {}


def make_engine(url: str | URL, timeout: float = TIMEOUT, **kwargs: object) -> Engine:
    """An engine with the settings wattlog relies on for each dialect, every call bounded by `timeout`."""
    u = normalise(url)
    if u.get_backend_name() == "sqlite":
        engine = create_engine(u, connect_args=timeout_args(u, timeout), **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # SQLAlchemy, not the driver, begins transactions (the driver would start them only
            # at the first write, leaving reads before it outside the transaction).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            # WAL: readers (reports, dashboard) never block the logger. FULL: a commit is on the
            # disk when it returns, so the spool is acknowledged only for readings that survive a
            # power cut (NORMAL is crash-safe, but may lose the last commits; bench/durability.py).
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):  # type: ignore[no-untyped-def]
            # A writer passes execution_options(sqlite_begin="IMMEDIATE"): it takes the write lock
            # at once, so a read-then-write transaction cannot fail half-way on a busy database.
            conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get('sqlite_begin', '')}".strip())

        return engine
    return create_engine(u, pool_pre_ping=True, connect_args=timeout_args(u, timeout), **kwargs)
