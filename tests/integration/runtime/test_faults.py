"""Faults on the real stack: a GPU worker killed with SIGKILL in the middle of an evaluation."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from sqlmodel import Session, select

from cenas.bus import Publisher, connect_from
from cenas.db import make_engine
from cenas.db.searches import Dispatch, Evaluation, Search, SearchStatus
from cenas.search.submit import submit_search
from cenas.work import make_celery
from tests.integration.runtime.conftest import running, wait_for

pytestmark = pytest.mark.integration
#: half a day at 3 s per trace hour: the kill lands in the first tasks, leaving ~30 s for redelivery
HOURS, SPH = 12, 3


def test_killed_worker_task_is_redelivered_and_recorded_once(stack_env, stack_settings, tmp_path):
    settings = stack_settings
    engine = make_engine(settings)
    celery = make_celery(settings)
    with running(stack_env, tmp_path, "optimizer_svc", "scheduler_svc", "worker.pool_service", virtual_gpus=3) as procs:
        wait_for(lambda: len(celery.control.ping(timeout=1.0) or []) == 3, timeout=180, what="3 workers")
        spec = {"name": "kill-9", "task": {"kind": "nb201"}, "gpus": 3, "budget": {"hours": HOURS},
                "carbon": {"region": "US-CAL-CISO", "start": "2021-07-02T06:00:00Z", "seconds_per_hour": SPH}, "policy": "vanilla"}
        with Publisher(connection=connect_from(settings)) as publisher:
            search = submit_search(engine, publisher, spec)

        def in_flight() -> set[int]:
            """Evaluations dispatched and not yet recorded (a solo-pool worker cannot answer
            `inspect` while it trains, so the database says what is running)."""
            with Session(engine) as session:
                sent = session.exec(select(Dispatch.key).where(Dispatch.search_id == search.id, Dispatch.kind == "evaluate")).all()
                done = session.exec(select(Evaluation.code).where(Evaluation.search_id == search.id)).all()
            return set(sent) - set(done)

        wait_for(lambda: len(in_flight()) >= 3, timeout=120, interval=0.2, what="evaluations in progress")
        time.sleep(1.0)  # well inside the current tasks (each takes 1.5-6 s here)
        pending = in_flight()
        pid = int(subprocess.run(["pgrep", "-P", str(procs["worker"].pid), "-f", "worker.gpu_process --index 0( |$)"], capture_output=True, text=True, check=True).stdout.split()[0])
        os.kill(pid, signal.SIGKILL)

        def finished():
            with Session(engine) as session:
                row = session.get(Search, search.id)
                return row if row.status.finished else None

        final = wait_for(finished, timeout=HOURS * SPH + 180, what="the search to finish")
        assert procs["worker"].poll() is None  # the supervisor restarted the killed process
    assert final.status == SearchStatus.SUCCEEDED, final.error
    with Session(engine) as session:
        rows = session.exec(select(Evaluation).where(Evaluation.search_id == search.id)).all()
    codes = [r.code for r in rows]
    assert pending <= set(codes), f"never recorded after the kill: {pending - set(codes)}"
    assert len(codes) == len(set(codes))
    # runs in flight when the budget ran out (at most two per GPU) still land afterwards
    assert final.evaluations <= len(codes) <= final.evaluations + 2 * 3
    engine.dispose()
