"""The first schema: meters, readings, rollup_15m, rollup_1h, rollup_1d.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

A frozen copy: later changes to quantities.py or schema.py get a migration of their own.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mssql, mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime().with_variant(mssql.DATETIME2(precision=6), "mssql").with_variant(
    mysql.DATETIME(fsp=6), "mysql", "mariadb")
QUANTITIES = ["voltage_l12", "voltage_l23", "voltage_l31", "voltage_l1", "voltage_l2", "voltage_l3",
              "current_l1", "current_l2", "current_l3", "current_ln", "total_real_power",
              "total_apparent_power", "total_reactive_power", "total_power_factor", "frequency",
              "total_real_energy", "total_apparent_energy", "total_reactive_energy"]
JSON = sa.UnicodeText().with_variant(mssql.NVARCHAR(), "mssql")
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
    op.create_table(
        "meters",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("site", sa.Unicode(64), nullable=False),
        sa.Column("name", sa.Unicode(64), nullable=False),
        sa.Column("model", sa.Unicode(64), nullable=False),
        sa.Column("location", sa.Unicode(200)),
        sa.Column("tags", JSON),
        sa.Column("pruned_before", TS),
        sa.UniqueConstraint("site", "name", name="uq_meters_site_name"),
    )
    op.create_table(
        "readings",
        sa.Column("meter_id", sa.Integer(), sa.ForeignKey("meters.id", name="fk_readings_meter"),
                  primary_key=True, autoincrement=False),
        sa.Column("ts", TS, primary_key=True),
        *(sa.Column(q, sa.Double()) for q in QUANTITIES),
        sa.Column("extra", JSON),
        sa.Column("flags", JSON),
    )
    for table in ("rollup_15m", "rollup_1h", "rollup_1d"):
        op.create_table(
            table,
            sa.Column("meter_id", sa.Integer(), sa.ForeignKey("meters.id", name=f"fk_{table}_meter"),
                      primary_key=True, autoincrement=False),
            sa.Column("start", TS, primary_key=True),
            *(_rollup_column(c) for c in ROLLUP),
        )


def downgrade() -> None:
    for table in ("rollup_1d", "rollup_1h", "rollup_15m", "readings", "meters"):
        op.drop_table(table)
