"""Live signal: every carbon reading a live search observed, each source's state, stale decisions

`carbon_readings` keeps what the forecaster fetched from Electricity Maps / WattTime
(converted to gCO2eq/kWh, the provider's value and unit beside it); `carbon_sources` the
last poll of each (provider, zone); `decisions.stale` marks a decision taken while the
provider was not answering.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_text = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "carbon_readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", _text(), nullable=False),
        sa.Column("zone", _text(), nullable=False),
        sa.Column("kind", _text(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("raw_value", sa.Float(), nullable=False),
        sa.Column("raw_unit", _text(), nullable=False),
        sa.Column("signal_type", _text(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("estimated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider", "zone", "kind", "period_start", "fetched_at", name="uq_carbon_reading"),
    )
    with op.batch_alter_table("carbon_readings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carbon_readings_provider"), ["provider"], unique=False)
        batch_op.create_index(batch_op.f("ix_carbon_readings_zone"), ["zone"], unique=False)
        batch_op.create_index(batch_op.f("ix_carbon_readings_fetched_at"), ["fetched_at"], unique=False)
    op.create_table(
        "carbon_sources",
        sa.Column("provider", _text(), nullable=False),
        sa.Column("zone", _text(), nullable=False),
        sa.Column("state", _text(), nullable=False),
        sa.Column("error", _text(), nullable=True),
        sa.Column("last_ok_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("provider", "zone"),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stale", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_column("stale")
    op.drop_table("carbon_sources")
    with op.batch_alter_table("carbon_readings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_readings_fetched_at"))
        batch_op.drop_index(batch_op.f("ix_carbon_readings_zone"))
        batch_op.drop_index(batch_op.f("ix_carbon_readings_provider"))
    op.drop_table("carbon_readings")
