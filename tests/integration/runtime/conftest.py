"""Run the whole stack as real processes against the session's private virtual host and
database (see tests/integration/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.integration.conftest import free_port, private_database, private_vhost  # noqa: F401 (free_port: for the stack tests)


@pytest.fixture(scope="module")
def broker_url() -> Iterator[str]:
    """Each stack module its own virtual host: no queue or message of another test's."""
    with private_vhost("cenas-stack") as url:
        yield url


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """Each stack module its own database: a search another test left running would hold
    the pool (the optimizer admits searches strictly first come, first served)."""
    with private_database("cenas_stack") as url:
        yield url


@pytest.fixture(scope="module")
def stack_env(broker_url, database_url, tmp_path_factory) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENAS_")}
    env.update(CENAS_BROKER_URL=broker_url, CENAS_DATABASE_URL=database_url,
               CENAS_DATA_DIR=str(tmp_path_factory.mktemp("data")), PYTHONUNBUFFERED="1")
    return env


@pytest.fixture(scope="module")
def stack_settings(stack_env):
    """The same settings the stack's processes read from `stack_env`."""
    from cenas.settings import Settings

    return Settings(_env_file=None, **{k.removeprefix("CENAS_").lower(): v for k, v in stack_env.items() if k.startswith("CENAS_")})


@contextmanager
def running(env: dict[str, str], log_dir: Path, *modules: str, virtual_gpus: int | None = None):
    """Start service modules (and a worker supervisor) as real processes; stop them after."""
    commands = {m: [sys.executable, "-m", m] for m in modules}
    if virtual_gpus:
        commands["worker"] = [sys.executable, "-m", "worker", "--virtual-gpus", str(virtual_gpus)]
    procs, logs = {}, []
    try:
        for name, command in commands.items():
            logs.append(open(log_dir / f"{name}.log", "w"))
            procs[name] = subprocess.Popen(command, env=env, stdout=logs[-1], stderr=subprocess.STDOUT, start_new_session=True)
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
                proc.wait()
        for log in logs:
            log.close()




def workers_answering(celery) -> int:
    """Celery workers answering a ping; 0 while the broker connection is being reset (a
    fault test may just have closed every connection of the virtual host)."""
    try:
        return len(celery.control.ping(timeout=1.0) or [])
    except (ConnectionError, OSError):
        return 0


def wait_for(predicate, timeout: float, interval: float = 0.5, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
