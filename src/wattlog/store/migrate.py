"""Schema versions: Alembic run from inside the package, so an installed wattlog migrates on start.

Alembic (with mako and pygments, ~0.1 s) is imported only when a migration runs: a database already
at the newest revision is told by one query, against the revision named by the newest script's file.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

from ..errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

VERSION_TABLE = "wattlog_version"  # not alembic_version: a central database may host other apps
SCRIPTS = Path(__file__).with_name("migrations")
PG_LOCK = 0x7761_7474  # "watt": one site migrates at a time when many share a PostgreSQL


def newest() -> str:
    """The newest revision without Alembic: scripts are versions/NNNN_name.py with revision "NNNN",
    each after the one before (a test checks this against Alembic's head)."""
    return max(p.name.split("_", 1)[0] for p in (SCRIPTS / "versions").glob("[0-9]*_*.py"))


def up_to_date(conn: Connection) -> bool:
    if not inspect(conn).has_table(VERSION_TABLE):
        return False
    return [r[0] for r in conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))] == [newest()]


def config(output: io.StringIO | None = None) -> Config:
    from alembic.config import Config

    cfg = Config(output_buffer=output) if output is not None else Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    return cfg


def head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config()).get_current_head() or ""


def current(conn: Connection) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_heads()


def upgrade(conn: Connection) -> None:
    """Bring the database on `conn` (inside a transaction) to the newest schema this code knows."""
    if up_to_date(conn):
        return
    from alembic import command
    from alembic.script import ScriptDirectory

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
    from alembic import command

    out = io.StringIO()
    cfg = config(out)
    cfg.attributes["dialect_name"] = dialect
    command.upgrade(cfg, "head", sql=True)
    return out.getvalue()
