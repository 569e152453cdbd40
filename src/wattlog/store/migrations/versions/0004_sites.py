"""The site's facts (sites): its time zone, recorded when the site is created.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

Rollups are cut into the site's local days and months: a command that opens the database with
only its URL must read them in the zone they were built in, not a default. Store.migrate() records
the zone of a site it does not know yet; a database from before this revision gets its row on the
next start of the logger (the config's zone). A frozen copy like 0001-0003.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mssql, mysql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime().with_variant(mssql.DATETIME2(precision=6), "mssql").with_variant(
    mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "sites",
        sa.Column("name", sa.Unicode(64), primary_key=True),
        sa.Column("timezone", sa.Unicode(64), nullable=False),
        sa.Column("created", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sites")
