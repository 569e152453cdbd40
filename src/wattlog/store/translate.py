"""SQLAlchemy errors translated into wattlog's, with the masked URL and a one-line fix."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL

from ..errors import StoreError, StoreUnavailable


def _fix(url: URL) -> str:
    backend = url.get_backend_name()
    host, port = url.host or "localhost", url.port
    if backend == "sqlite":
        return f"check that the folder of {url.database} exists and is writable, and that the disk is not full"
    if backend == "postgresql":
        return (f"start PostgreSQL or check host, port and user: pg_isready -h {host} -p {port or 5432}, "
                "and the password in password_env/password_file")
    if backend == "mssql":
        return f"check that SQL Server accepts TCP connections on {host}:{port or 1433} and the login"
    return f"check that the database server on {host} is running and reachable"


def translate(exc: BaseException, url: URL) -> StoreError:
    """One wattlog error for a SQLAlchemy error: unavailable (retry later) or a real problem."""
    shown = url.render_as_string(hide_password=True)
    cause = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or ["?"])[0]
    if "no such table" in cause or ("relation" in cause and "does not exist" in cause) or (
            "Invalid object name" in cause):
        return StoreError(f"the database has no wattlog tables ({cause})", url=shown,
                          fix="check the URL; the logger (wattlog run) and wattlog import-csv create them")
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)) or (
            isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated):
        return StoreUnavailable(f"database unavailable: {cause}", url=shown, fix=_fix(url))
    return StoreError(f"database error: {cause}", url=shown,
                      fix="see the log; if the schema was changed by hand, restore it with Store.migrate()")
