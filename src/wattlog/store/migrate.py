"""Schema versions: Alembic run from inside the package, so an installed wattlog migrates on start."""

from __future__ import annotations

import io
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from ..errors import StoreError

VERSION_TABLE = "wattlog_version"  # not alembic_version: a central database may host other apps
SCRIPTS = Path(__file__).with_name("migrations")
PG_LOCK = 0x7761_7474  # "watt": one site migrates at a time when many share a PostgreSQL


def config(output: io.StringIO | None = None) -> Config:
    cfg = Config(output_buffer=output) if output is not None else Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    return cfg


def head() -> str:
    return ScriptDirectory.from_config(config()).get_current_head() or ""


def current(conn: Connection) -> tuple[str, ...]:
    return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_heads()


def upgrade(conn: Connection) -> None:
    """Bring the database on `conn` (inside a transaction) to the newest schema this code knows."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK})
    cfg = config()
    script = ScriptDirectory.from_config(cfg)
    known = {rev.revision for rev in script.walk_revisions()}
    for rev in current(conn):
        if rev not in known:
            raise StoreError(f"the database schema is at revision {rev}, newer than this wattlog knows "
                             f"(its newest is {script.get_current_head()})",
                             fix="upgrade wattlog on this machine, or point it at another database")
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")


def offline_sql(dialect: str) -> str:
    """The SQL script that creates the schema on `dialect`, for a DBA to read or run by hand."""
    out = io.StringIO()
    cfg = config(out)
    cfg.attributes["dialect_name"] = dialect
    command.upgrade(cfg, "head", sql=True)
    return out.getvalue()
