"""Real RabbitMQ and PostgreSQL, from CENAS_BROKER_URL / CENAS_DATABASE_URL or the local
defaults (amqp://guest:guest@127.0.0.1:5672//, postgresql://postgres@127.0.0.1:5432/test).
Each fixture waits up to 15 s for the server to be ready and skips, saying why, if it
never is."""

from __future__ import annotations

import os
import time
import uuid

import pytest

BROKER = os.environ.get("CENAS_BROKER_URL") or "amqp://guest:guest@127.0.0.1:5672//"
DATABASE = os.environ.get("CENAS_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"


def _wait(check, what: str, seconds: float = 15.0):
    deadline = time.monotonic() + seconds
    while True:
        try:
            return check()
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
            if time.monotonic() > deadline:
                pytest.skip(f"{what} not reachable: {exc}")
            time.sleep(0.5)


@pytest.fixture
def broker_url():
    from kombu import Connection

    def check():
        with Connection(BROKER) as conn:
            conn.ensure_connection(max_retries=1)
        return BROKER

    return _wait(check, f"RabbitMQ at {BROKER}")


@pytest.fixture
def pg_engine(tmp_path):
    from sqlalchemy import text

    from cenas.db import make_engine
    from cenas.db.forecasts import ForecastRecord
    from cenas.settings import Settings

    def check():
        engine = make_engine(Settings(database_url=DATABASE, data_dir=tmp_path))
        with engine.connect() as c:
            c.execute(text("select 1"))
        return engine

    engine = _wait(check, f"PostgreSQL at {DATABASE}")
    yield engine
    with engine.begin() as c:
        c.execute(ForecastRecord.__table__.delete().where(ForecastRecord.region.like("IT-%")))
    engine.dispose()


@pytest.fixture
def region() -> str:
    """A unique region name per test so parallel runs and old rows don't interfere."""
    return f"IT-{uuid.uuid4().hex[:8]}"
