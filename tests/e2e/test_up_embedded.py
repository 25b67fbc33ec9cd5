"""`cenas up` on the embedded default (filesystem broker + SQLite, no servers), driven like
a user: start it, submit a search, watch it finish, stop it with SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from sqlmodel import Session, select

from cenas.bus import Publisher, connect_from
from cenas.db import make_engine
from cenas.db.searches import Evaluation, Search, SearchStatus
from cenas.search.submit import submit_search
from cenas.settings import Settings
from cenas.work import make_celery
from tests.integration.runtime.conftest import free_port, wait_for

pytestmark = pytest.mark.e2e


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_embedded_stack_runs_a_search_and_stops_cleanly(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENAS_")}
    env["CENAS_DATA_DIR"] = str(tmp_path)
    env["CENAS_GATEWAY_PORT"] = str(port := free_port())
    settings = Settings(data_dir=tmp_path, broker_url=None, database_url=None)
    log = open(tmp_path / "up.log", "w")
    up = subprocess.Popen([sys.executable, "-m", "cenas_cli", "up", "--virtual-gpus", "2"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        celery = make_celery(settings)
        deadline = time.monotonic() + 120
        while len(celery.control.ping(timeout=1.0) or []) < 2:
            assert up.poll() is None and time.monotonic() < deadline, (tmp_path / "up.log").read_text()[-2000:]
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/readyz"), timeout=60, what="the gateway")
        engine = make_engine(settings)
        spec = {"name": "embedded", "task": {"kind": "nb201"}, "gpus": 2, "budget": {"hours": 16},
                "carbon": {"region": "GB", "start": "2022-06-01T00:00:00Z", "seconds_per_hour": 1.5}, "policy": "static:1"}
        with Publisher(connection=connect_from(settings)) as publisher:
            search = submit_search(engine, publisher, spec)
        deadline = time.monotonic() + 120
        while True:
            with Session(engine) as session:
                row = session.get(Search, search.id)
            if row.status.finished or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert row.status == SearchStatus.SUCCEEDED, (row.status, row.error, (tmp_path / "up.log").read_text()[-3000:])

        def settled() -> Search | None:  # runs still going at the budget's end are folded in
            with Session(engine) as session:
                found = session.get(Search, search.id)
            return found if found.evaluations > 0 else None

        row = wait_for(settled, timeout=60, what="the first evaluation to be counted")
        with Session(engine) as session:
            codes = [e.code for e in session.exec(select(Evaluation).where(Evaluation.search_id == search.id)).all()]
        assert row.samples > 0 and row.hypervolume > 0 and row.carbon_g > 0
        assert len(codes) == len(set(codes))
        engine.dispose()
    finally:
        up.send_signal(signal.SIGTERM)
        code = up.wait(timeout=60)
        log.close()
    assert code == 0
    assert "all services stopped" in (tmp_path / "up.log").read_text()
