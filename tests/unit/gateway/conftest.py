"""A gateway over real parts: SQLite and the embedded filesystem broker in tmp_path."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from cenas.bus import Consumer, Publisher, connect_from
from cenas.db import make_engine
from cenas.settings import Settings
from gateway import create_app
from gateway.auth import create_api_key


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, broker_url=None, database_url=None,
                    gateway_max_body_bytes=64 * 1024, gateway_auth_failures_per_minute=5)


@pytest.fixture
def engine(settings):
    engine = make_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def heard(settings):
    """Messages the gateway published (search.created, search.cancelled): call to drain."""
    messages = []
    # a queue name per test: kombu keeps virtual-transport bindings per process
    consumer = Consumer(None, f"test-gateway-{uuid.uuid4().hex[:8]}", ["search.created", "search.cancelled"], messages.append, connection=connect_from(settings))
    consumer.declare()

    def drain():
        consumer.drain(timeout=0.3)
        return messages

    yield drain
    consumer.close()


@pytest.fixture
def client(settings, engine):
    with Publisher(connection=connect_from(settings)) as publisher, TestClient(create_app(settings, engine, publisher)) as client:
        yield client


@pytest.fixture
def alice(engine) -> dict[str, str]:
    row, key = create_api_key(engine, name="alice")
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def bob(engine) -> dict[str, str]:
    row, key = create_api_key(engine, name="bob")
    return {"Authorization": f"Bearer {key}"}
