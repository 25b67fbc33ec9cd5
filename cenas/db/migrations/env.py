"""Alembic environment: runs on the connection `cenas.db.engine.migrate` hands it."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlmodel import SQLModel

import cenas.db.forecasts  # noqa: F401  (registers the tables on SQLModel.metadata)
import cenas.db.searches  # noqa: F401
import cenas.db.readings  # noqa: F401

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=SQLModel.metadata, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    if connection.dialect.name == "postgresql":
        # services may start together: one migrates, the others wait and find it done
        connection.execute(text("SELECT pg_advisory_xact_lock(7227001)"))
    context.run_migrations()
