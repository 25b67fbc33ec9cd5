"""The whole stack as real processes, each in its own process group, so a fault can
SIGTERM or SIGKILL one service (the worker supervisor with its GPU processes) or all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import psycopg

AMQP_HOST = os.environ.get("CENAS_TEST_AMQP_HOST", "127.0.0.1:5672")
PG_ADMIN = os.environ.get("CENAS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SERVICES = ("optimizer_svc", "scheduler_svc", "forecaster_svc", "worker.pool_service", "gateway")


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@contextmanager
def private_database(prefix: str = "cenas_faults") -> Iterator[tuple[str, str]]:
    """A private PostgreSQL database, dropped afterwards even if closed to connections: (name, URL)."""
    db = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    try:
        yield db, PG_ADMIN.rsplit("/", 1)[0] + f"/{db}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS true')
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def refuse_connections(db: str) -> None:
    """Close the database to new connections and end every session on it (an outage)."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (db,))


def allow_connections(db: str) -> None:
    """End the outage `refuse_connections` began."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS true')


@contextmanager
def private_servers() -> Iterator[tuple[str, str]]:
    """A private RabbitMQ virtual host and PostgreSQL database: (broker URL, database URL)."""
    vhost = f"cenas-faults-{uuid.uuid4().hex[:8]}"
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    try:
        with private_database() as (_, database_url):
            yield f"amqp://guest:guest@{AMQP_HOST}/{vhost}", database_url
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False, capture_output=True, timeout=60)


class ServiceDied(AssertionError):
    """A service of the stack exited on its own: waiting longer cannot help."""


@dataclass
class Stack:
    env: dict[str, str]
    log_dir: Path
    virtual_gpus: int
    services: tuple[str, ...] = SERVICES
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    starts: dict[str, int] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [*self.services, "worker"]

    def start(self, name: str) -> None:
        command = [sys.executable, "-m", name]
        if name == "worker":
            command += ["--virtual-gpus", str(self.virtual_gpus)]
        n = self.starts[name] = self.starts.get(name, 0) + 1
        with open(self.log_dir / f"{name}.{n}.log", "w") as log:
            self.procs[name] = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def start_all(self) -> None:
        for name in self.names:
            self.start(name)

    def stop(self, name: str, sig: signal.Signals = signal.SIGTERM, timeout: float = 20.0) -> None:
        """Signal the service's process group and wait; SIGKILL what outlives `timeout`."""
        proc = self.procs[name]
        try:
            os.killpg(proc.pid, sig) if sig == signal.SIGKILL else proc.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        try:  # children (GPU processes) and stragglers go with the group
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()

    def restart(self, name: str, sig: signal.Signals) -> None:
        self.stop(name, sig)
        self.start(name)

    def kill_all(self) -> None:
        for name in self.names:
            self.stop(name, signal.SIGKILL)

    def stop_all(self) -> None:
        for name in self.names:
            if name in self.procs:
                self.stop(name, signal.SIGTERM)

    def dead(self) -> dict[str, int]:
        """Services that exited on their own: name -> exit code."""
        return {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}

    def log_tail(self, name: str, lines: int = 15) -> str:
        """The end of the service's latest log, to say why it died."""
        text = (self.log_dir / f"{name}.{self.starts[name]}.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def assert_alive(self) -> None:
        """Raise ServiceDied, naming the service and quoting its log, if one exited on its own."""
        if dead := self.dead():
            raise ServiceDied("; ".join(f"{n} exited with {code}:\n{self.log_tail(n)}" for n, code in dead.items()))

    def gpu_pids(self) -> list[int]:
        """PIDs of this stack's GPU worker processes (children of its supervisor only)."""
        out = subprocess.run(["pgrep", "-P", str(self.procs["worker"].pid), "-f", "worker.gpu_process"],
                             capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]


def wait_until(predicate, timeout: float, what: str, interval: float = 0.3):
    """Poll `predicate` until it returns something true; ServiceDied ends the wait at once."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except ServiceDied:
            raise
        except Exception:  # noqa: BLE001 - not ready yet (a dependency may be down on purpose)
            value = None
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
