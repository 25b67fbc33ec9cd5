"""A private RabbitMQ virtual host and PostgreSQL database per test module, on the real
servers (127.0.0.1, or CENAS_TEST_AMQP_HOST / CENAS_TEST_PG_URL), and a helper that runs
the whole stack as real processes against them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

AMQP_HOST = os.environ.get("CENAS_TEST_AMQP_HOST", "127.0.0.1:5672")
PG_ADMIN = os.environ.get("CENAS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def broker_url():
    vhost = f"cenas-test-{uuid.uuid4().hex[:8]}"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    yield f"amqp://guest:guest@{AMQP_HOST}/{vhost}"
    _rabbitmqctl("delete_vhost", vhost)


@pytest.fixture(scope="module")
def database_url():
    name = f"cenas_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def stack_env(broker_url, database_url, tmp_path_factory) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENAS_")}
    env.update(CENAS_BROKER_URL=broker_url, CENAS_DATABASE_URL=database_url,
               CENAS_DATA_DIR=str(tmp_path_factory.mktemp("data")), PYTHONUNBUFFERED="1")
    return env


@contextmanager
def running(env: dict[str, str], log_dir: Path, *modules: str, virtual_gpus: int | None = None):
    """Start service modules (and a worker supervisor) as real processes; stop them after."""
    commands = {m: [sys.executable, "-m", m] for m in modules}
    if virtual_gpus:
        commands["worker"] = [sys.executable, "-m", "worker", "--virtual-gpus", str(virtual_gpus)]
    procs = {}
    try:
        for name, command in commands.items():
            log = open(log_dir / f"{name}.log", "w")
            procs[name] = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        yield procs
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_for(predicate, timeout: float, interval: float = 0.5, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
