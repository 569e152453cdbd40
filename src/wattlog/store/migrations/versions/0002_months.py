"""Monthly rollups (rollup_1mo) and the day's packed quarter-hours (rollup_1d.quarters).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Rows of existing databases are filled by Store.migrate() afterwards, from rollup_15m (no raw
readings needed, so pruned history gets them too): a migration script knows no site time zone.
A frozen copy like 0001: later changes get a migration of their own.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mssql, mysql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime().with_variant(mssql.DATETIME2(precision=6), "mssql").with_variant(
    mysql.DATETIME(fsp=6), "mysql", "mariadb")
BLOB = sa.LargeBinary().with_variant(mssql.VARBINARY("max"), "mssql")  # not IMAGE (deprecated)
ROLLUP = ["samples", "covered_s", "gap_s", "energy_kwh", "reactive_kvarh", "apparent_kvah", "counter_first",
          "counter_first_ts", "counter_last", "counter_last_ts", "counter_kwh", "power_avg", "power_min",
          "power_max", "voltage_avg", "voltage_min", "voltage_max", "voltage_samples", "voltage_ll_min",
          "voltage_ll_max", "unbalance_max", "pf_avg", "pf_min", "freq_min", "freq_max", "current_max"]


def _rollup_column(name: str) -> sa.Column:
    if name in ("samples", "voltage_samples"):
        return sa.Column(name, sa.Integer(), nullable=False)
    if name in ("covered_s", "gap_s"):
        return sa.Column(name, sa.Double(), nullable=False)
    return sa.Column(name, TS if name.endswith("_ts") else sa.Double(), nullable=True)


def upgrade() -> None:
    op.add_column("rollup_1d", sa.Column("quarters", BLOB, nullable=True))
    op.create_table(
        "rollup_1mo",
        sa.Column("meter_id", sa.Integer(), sa.ForeignKey("meters.id", name="fk_rollup_1mo_meter"),
                  primary_key=True, autoincrement=False),
        sa.Column("start", TS, primary_key=True),
        *(_rollup_column(c) for c in ROLLUP),
    )


def downgrade() -> None:
    op.drop_table("rollup_1mo")
    with op.batch_alter_table("rollup_1d") as batch:
        batch.drop_column("quarters")
