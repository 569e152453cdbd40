"""Alarm events (alarm_events): what the alarm engine raised, when it ended, its worst value, and
the notifications sent.

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-02

Numbered 0005 because 0004 is being added on another branch; whoever merges both re-chains this
one after 0004 (down_revision = "0004"). A frozen copy like 0001-0003.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mssql, mysql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime().with_variant(mssql.DATETIME2(precision=6), "mssql").with_variant(
    mysql.DATETIME(fsp=6), "mysql", "mariadb")
JSON = sa.UnicodeText().with_variant(mssql.NVARCHAR(), "mssql")


def upgrade() -> None:
    op.create_table(
        "alarm_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("site", sa.Unicode(64), nullable=False),
        sa.Column("event_key", sa.Unicode(200), nullable=False),
        sa.Column("rule", sa.Unicode(64), nullable=False),
        sa.Column("kind", sa.Unicode(32), nullable=False),
        sa.Column("subject", sa.Unicode(200), nullable=False),
        sa.Column("started", TS, nullable=False),
        sa.Column("ended", TS),
        sa.Column("peak", sa.Double()),
        sa.Column("unit", sa.Unicode(16), nullable=False),
        sa.Column("message", JSON, nullable=False),
        sa.Column("details", JSON),
        sa.Column("notified", JSON),
        sa.UniqueConstraint("site", "event_key", name="uq_alarm_events_site_key"),
    )
    op.create_index("ix_alarm_events_started", "alarm_events", ["site", "started"])


def downgrade() -> None:
    op.drop_index("ix_alarm_events_started", "alarm_events")
    op.drop_table("alarm_events")
