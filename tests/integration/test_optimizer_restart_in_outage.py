"""An optimizer restarted into a database outage waits for the database and restores its
running searches, instead of exiting (the fault suite once found a restarted optimizer
dead, and its search never finished)."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timezone

import psycopg
import pytest
from sqlmodel import Session

from cenas.db import make_engine
from cenas.db.searches import Search, SearchStatus, create_search
from cenas.settings import Settings
from cenas.spec import SearchSpec
from optimizer_svc.service import OptimizerService
from tests.integration.conftest import PG_ADMIN

pytestmark = pytest.mark.integration

OUTAGE_S = 2.0


@pytest.fixture
def private_database(tmp_path):
    name = f"cenas_outage_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(Settings(_env_file=None, database_url=PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", data_dir=tmp_path))
    yield name, engine
    engine.dispose()
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def running_search(engine) -> str:
    spec = SearchSpec.model_validate({"name": "outage", "task": {"kind": "nb201"}, "gpus": 2, "budget": {"hours": 4},
                                      "carbon": {"region": "DE", "start": "2022-05-01T00:00:00Z"}}).model_dump(mode="json")
    search = create_search(engine, spec=spec)
    with Session(engine) as session:
        row = session.get(Search, search.id)
        row.status, row.started_at = SearchStatus.RUNNING, datetime.now(timezone.utc)
        session.add(row)
        session.commit()
    return search.id


def refuse_connections(name: str) -> threading.Thread:
    """Close the database to new connections, end every session, reopen after OUTAGE_S."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))

    def reopen() -> None:
        time.sleep(OUTAGE_S)
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

    thread = threading.Thread(target=reopen, daemon=True)
    thread.start()
    return thread


def test_restore_waits_out_a_database_outage(private_database):
    name, engine = private_database
    search_id = running_search(engine)

    reopened = refuse_connections(name)
    with pytest.raises(Exception) as refused:  # without a wait the outage surfaces at once
        OptimizerService(engine, None, None, pool_gpus=2).restore()  # type: ignore[arg-type]
    assert "not currently accepting connections" in str(refused.value)
    reopened.join()

    reopened = refuse_connections(name)
    began = time.monotonic()
    service = OptimizerService(engine, None, None, pool_gpus=2)  # type: ignore[arg-type]
    service.restore(wait_s=60)
    reopened.join()
    assert time.monotonic() - began >= OUTAGE_S * 0.9  # it really waited for the database
    assert list(service.live) == [search_id]
