"""Rollup ranges still to recompute (rollup_pending), for writes that defer their rollups.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

A write made while catching up on a backlog inserts raw readings and records here, in the same
transaction, the 15-minute-aligned ranges [lo, hi) whose rollups they change; Store.refresh_pending()
recomputes them and removes the rows. A frozen copy like 0001 and 0002.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mssql, mysql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime().with_variant(mssql.DATETIME2(precision=6), "mssql").with_variant(
    mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "rollup_pending",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("meter_id", sa.Integer(), sa.ForeignKey("meters.id", name="fk_rollup_pending_meter"),
                  nullable=False),
        sa.Column("lo", TS, nullable=False),
        sa.Column("hi", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rollup_pending")
