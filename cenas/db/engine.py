"""SQLAlchemy engine from settings (never built at import time)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine
from sqlmodel import create_engine

from cenas.retry import retry_transient
from cenas.settings import Settings


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'cenas.db'}"


#: how long a service's start-up waits for an unreachable database (`make_engine(wait_s=...)`)
SERVICE_START_WAIT_S = 300.0


def make_engine(settings: Settings, *, create_tables: bool = True, wait_s: float = 0.0) -> Engine:
    """The engine for ``settings.database_url`` (or the embedded SQLite file).

    ``wait_s``: while the database is unreachable (a transient error, see
    `cenas.errors.is_transient`), keep retrying the migration for this long (0.5 s
    doubling to 5 s) instead of raising at once. Services pass `SERVICE_START_WAIT_S`, so
    one (re)started during a database outage waits for it rather than exiting.
    """
    url = settings.database_url
    if not url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        url = sqlite_url(settings.data_dir)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, pool_pre_ping=True)
    if create_tables:
        retry_transient(lambda: migrate(engine), "database migration", wait_s=wait_s)
    return engine


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    return config


#: Alembic's context is process-global, so threads migrate one at a time; processes
#: serialise on a PostgreSQL advisory lock taken in migrations/env.py, or on SQLite on a
#: lock file beside the database (`cenas up` starts five processes on one file).
_MIGRATION_LOCK = threading.Lock()


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        yield
        return
    import fcntl

    with open(f"{path}.migrate-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent; safe for concurrent starts)."""
    config = alembic_config()
    with _MIGRATION_LOCK, _sqlite_file_lock(engine), engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
