"""Real RabbitMQ and PostgreSQL (127.0.0.1 by default) with a private virtual host and a
private database per test session, so old rows and queues never interfere.

Override the servers with CENAS_TEST_AMQP_HOST (host:port, guest/guest) and
CENAS_TEST_PG_URL (an admin URL to an existing database, e.g. .../postgres).
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

AMQP_HOST = os.environ.get("CENAS_TEST_AMQP_HOST", "127.0.0.1:5672")
PG_ADMIN = os.environ.get("CENAS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _wait(check, what: str, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while True:
        try:
            return check()
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} not reachable after {seconds}s: {exc}") from exc
            time.sleep(0.5)


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def free_port() -> int:
    """A TCP port nothing listens on right now, on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def private_vhost(prefix: str = "cenas-test") -> Iterator[str]:
    """A virtual host of its own on the shared RabbitMQ: its URL; deleted afterwards."""
    vhost = f"{prefix}-{uuid.uuid4().hex[:8]}"
    _wait(lambda: _rabbitmqctl("add_vhost", vhost), "RabbitMQ (rabbitmqctl)")
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    url = f"amqp://guest:guest@{AMQP_HOST}/{vhost}"

    def check():
        from kombu import Connection

        with Connection(url) as conn:
            conn.ensure_connection(max_retries=1)

    _wait(check, f"RabbitMQ at {AMQP_HOST}")
    try:
        yield url
    finally:
        _rabbitmqctl("delete_vhost", vhost)


@contextmanager
def private_database(prefix: str = "cenas_test") -> Iterator[str]:
    """A database of its own on the shared PostgreSQL: its URL; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"

    def create():
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    _wait(create, f"PostgreSQL at {PG_ADMIN}")
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def broker_url():
    with private_vhost() as url:
        yield url


@pytest.fixture(scope="session")
def database_url():
    with private_database() as url:
        yield url


@pytest.fixture
def pg_engine(database_url, tmp_path):
    from cenas.db import make_engine
    from cenas.settings import Settings

    engine = make_engine(Settings(database_url=database_url, data_dir=tmp_path))
    yield engine
    engine.dispose()


@pytest.fixture
def region() -> str:
    """A unique region name per test so rows from other tests don't interfere."""
    return f"IT-{uuid.uuid4().hex[:8]}"


def running_search(engine, policy: str):
    """A stored search marked running since five minutes ago (as the optimizer would leave it)."""
    from sqlmodel import Session

    from cenas.db.searches import Search, SearchStatus, create_search
    from cenas.spec import SearchSpec

    spec = SearchSpec.model_validate({
        "name": f"sched-{policy}", "task": {"kind": "nb201"}, "gpus": 8, "budget": {"hours": 10},
        "carbon": {"region": "DE", "start": "2022-05-01T00:00:00Z", "seconds_per_hour": 3600}, "policy": policy,
    }).model_dump(mode="json")
    search = create_search(engine, spec=spec)
    with Session(engine) as session:
        row = session.get(Search, search.id)
        row.status, row.started_at = SearchStatus.RUNNING, datetime.now(timezone.utc) - timedelta(minutes=5)
        session.add(row)
        session.commit()
        session.refresh(row)
    return row
