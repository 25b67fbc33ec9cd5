"""A private RabbitMQ virtual host and PostgreSQL database for one benchmark run.

Benchmarks start real processes against the local servers; this keeps their queues and
rows apart from everything else and removes them afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import psycopg
from sqlmodel import Session

from cenas.db import make_engine
from cenas.db.searches import Search, SearchStatus, create_search
from cenas.settings import Settings
from cenas.spec import SearchSpec

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class PrivateStack:
    env: dict[str, str]  # environment for child processes
    settings: Settings  # the same, for this process
    engine: object

    def spawn(self, *module_args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", *module_args], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def running_search(self, spec: dict) -> str:
        """Store a search already running (no optimizer needed to start it); its id."""
        search = create_search(self.engine, spec=SearchSpec.model_validate(spec).model_dump(mode="json"))
        with Session(self.engine) as session:
            row = session.get(Search, search.id)
            row.status, row.started_at = SearchStatus.RUNNING, datetime.now(timezone.utc)
            session.add(row)
            session.commit()
        return search.id


def wait_for_workers(celery, count: int) -> None:
    while len(celery.control.ping(timeout=1.0) or []) < count:
        time.sleep(0.5)


@contextmanager
def private_database(admin_url: str = PG_ADMIN) -> Iterator[str]:
    """A fresh PostgreSQL database on ``admin_url``'s server, dropped afterwards; its URL."""
    db = f"cenas_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{db}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


@contextmanager
def private_stack() -> Iterator[PrivateStack]:
    vhost = f"cenas-bench-{uuid.uuid4().hex[:8]}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True)
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"], check=True)
    data = Path(tempfile.mkdtemp())
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENAS_")}
    try:
        with private_database() as database_url:
            env.update(CENAS_BROKER_URL=f"amqp://guest:guest@127.0.0.1:5672/{vhost}",
                       CENAS_DATABASE_URL=database_url, CENAS_DATA_DIR=str(data))
            settings = Settings(broker_url=env["CENAS_BROKER_URL"], database_url=database_url, data_dir=data)
            engine = make_engine(settings)
            try:
                yield PrivateStack(env, settings, engine)
            finally:
                engine.dispose()
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False)


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(timeout=30)
