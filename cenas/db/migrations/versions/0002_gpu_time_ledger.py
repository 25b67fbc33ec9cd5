"""GPU-time ledger: work segments, task attempts, preemption, search warnings

Every GPU-second a search holds is charged in one state: task work as `work_segments`
(a run paused by a decision or stopped by the search's end is charged up to where it
stopped; a resumed run adds a segment), the rest of the grant as `idle_energy` rows.
Existing evaluations and sample batches become one finished segment each, so the totals
of searches recorded before this migration still equal the sums over their rows.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "work_segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("search_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("key", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("worker", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("start_hours", sa.Float(), nullable=False),
        sa.Column("end_hours", sa.Float(), nullable=False),
        sa.Column("gpu_seconds", sa.Float(), nullable=False),
        sa.Column("energy_kwh", sa.Float(), nullable=False),
        sa.Column("energy_source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("carbon_g", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["search_id"], ["searches.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("search_id", "kind", "key", "attempt", name="uq_work_segment"),
    )
    with op.batch_alter_table("work_segments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_segments_search_id"), ["search_id"], unique=False)
    with op.batch_alter_table("dispatches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempt", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("preempt", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("worker", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("sample_batches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("idle_energy", schema=None) as batch_op:
        batch_op.add_column(sa.Column("start_hours", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("end_hours", sa.Float(), nullable=True))
    with op.batch_alter_table("searches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("warnings", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE searches SET settled_at = finished_at WHERE finished_at IS NOT NULL")
    # the rows recorded so far, as one finished segment each (their search-time spans are
    # not recorded; they matter only to searches still running, which the optimizer rebuilds)
    op.execute(
        "INSERT INTO work_segments (search_id, kind, key, attempt, worker, outcome, started_at, ended_at, start_hours, "
        "end_hours, gpu_seconds, energy_kwh, energy_source, carbon_g) "
        "SELECT search_id, 'evaluate', code, 0, worker, 'finished', started_at, finished_at, 0.0, 0.0, gpu_seconds, "
        "energy_kwh, energy_source, carbon_g FROM evaluations"
    )
    op.execute(
        "INSERT INTO work_segments (search_id, kind, key, attempt, worker, outcome, started_at, ended_at, start_hours, "
        "end_hours, gpu_seconds, energy_kwh, energy_source, carbon_g) "
        "SELECT search_id, 'sample', batch_id, 0, worker, 'finished', finished_at, finished_at, 0.0, 0.0, gpu_seconds, "
        "energy_kwh, energy_source, carbon_g FROM sample_batches"
    )


def downgrade() -> None:
    with op.batch_alter_table("searches", schema=None) as batch_op:
        batch_op.drop_column("settled_at")
        batch_op.drop_column("warnings")
    with op.batch_alter_table("idle_energy", schema=None) as batch_op:
        batch_op.drop_column("end_hours")
        batch_op.drop_column("start_hours")
    with op.batch_alter_table("sample_batches", schema=None) as batch_op:
        batch_op.drop_column("started_at")
    with op.batch_alter_table("dispatches", schema=None) as batch_op:
        for column in ("stopped_at", "started_at", "worker", "preempt", "attempt"):
            batch_op.drop_column(column)
    with op.batch_alter_table("work_segments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_segments_search_id"))
    op.drop_table("work_segments")
