"""Vanilla baselines: the simulated vanilla-NAS curve of each replayed nb201 search

`vanilla_baselines` holds one row per search, written by `cenas demo`: the
simulator's vanilla NAS on the search's own setting (points of hypervolume against hours
and grams), or the reason there is none. The gateway serves it with the search's curve.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_text = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "vanilla_baselines",
        sa.Column("search_id", _text(), nullable=False),
        sa.Column("source", _text(), nullable=False),
        sa.Column("reason", _text(), nullable=True),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("final_hypervolume", sa.Float(), nullable=False),
        sa.Column("carbon_g", sa.Float(), nullable=False),
        sa.Column("energy_kwh", sa.Float(), nullable=False),
        sa.Column("evaluations", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["search_id"], ["searches.id"]),
        sa.PrimaryKeyConstraint("search_id"),
    )


def downgrade() -> None:
    op.drop_table("vanilla_baselines")
