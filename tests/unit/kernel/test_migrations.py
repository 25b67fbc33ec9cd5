"""The migrations build exactly the schema the models declare (a column added to a model
without a migration, or the reverse, fails here instead of at a user's upgrade)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from cenas.db import make_engine
from cenas.settings import Settings


def test_migrated_schema_matches_the_models(tmp_path):
    engine = make_engine(Settings(data_dir=tmp_path, broker_url=None, database_url=None))
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    assert diff == []
