"""SQLAlchemy engine from settings (never built at import time)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import SQLModel, create_engine

from cenas.settings import Settings


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'cenas.db'}"


def make_engine(settings: Settings, *, create_tables: bool = True) -> Engine:
    """The engine for ``settings.database_url`` (or the embedded SQLite file)."""
    url = settings.database_url
    if not url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        url = sqlite_url(settings.data_dir)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, pool_pre_ping=True)
    if create_tables:
        import cenas.db.forecasts  # noqa: F401  (registers the tables)

        SQLModel.metadata.create_all(engine)
    return engine
