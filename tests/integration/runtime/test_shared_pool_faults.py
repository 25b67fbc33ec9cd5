"""Several searches share one pool while the stack is hurt: the optimizer is killed with
SIGKILL and restarted, then RabbitMQ drops every connection of the stack. Every search
must still finish, nothing recorded twice or lost, and each search's totals must equal
the sums over its recorded rows."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from sqlmodel import Session, select

from cenas.bus import Publisher, connect_from
from cenas.db import make_engine
from cenas.db.searches import Decision, Dispatch, Evaluation, IdleEnergy, SampleBatch, Search, SearchStatus, WorkSegment, utcnow
from cenas.search.submit import submit_search
from cenas.work import make_celery
from tests.integration.runtime.conftest import running, wait_for

pytestmark = pytest.mark.integration
POOL = 4
SPH = 2.0  # real seconds per trace hour


def spec(name: str, gpus: int, hours: float, policy: str) -> dict:
    return {"name": name, "task": {"kind": "nb201"}, "gpus": gpus, "budget": {"hours": hours},
            "carbon": {"region": "US-CAL-CISO", "start": "2021-07-02T06:00:00Z", "seconds_per_hour": SPH},
            "policy": policy, "accounting": "full"}


def test_searches_share_the_pool_and_survive_an_optimizer_kill_and_a_broker_drop(stack_env, stack_settings, broker_url, tmp_path):
    env = {**stack_env, "CENAS_POOL_GPUS": str(POOL)}
    engine = make_engine(stack_settings)
    celery = make_celery(stack_settings)
    with running(env, tmp_path, "optimizer_svc", "scheduler_svc", "worker.pool_service", virtual_gpus=POOL) as procs:
        wait_for(lambda: len(celery.control.ping(timeout=1.0) or []) == POOL, timeout=180, what=f"{POOL} workers")
        with Publisher(connection=connect_from(stack_settings)) as publisher:
            a = submit_search(engine, publisher, spec("shared-a", 2, 20, "heuristic"))
            b = submit_search(engine, publisher, spec("shared-b", 2, 20, "vanilla"))
            c = submit_search(engine, publisher, spec("waits-for-both", POOL, 6, "heuristic"))

        def rows(search_id: str, table=Evaluation):
            with Session(engine) as session:
                return session.exec(select(table).where(table.search_id == search_id)).all()

        def status(search_id: str) -> Search:
            with Session(engine) as session:
                return session.get(Search, search_id)

        wait_for(lambda: len(rows(a.id)) >= 2 and len(rows(b.id)) >= 2, timeout=120, what="both searches evaluating")
        assert status(c.id).status == SearchStatus.QUEUED  # 2 + 2 + 4 > 4: it waits its turn

        # 1. the optimizer dies mid-search and comes back
        procs["optimizer_svc"].kill()
        procs["optimizer_svc"].wait()
        with open(tmp_path / "optimizer_svc.restarted.log", "w") as log:
            procs["optimizer_svc"] = subprocess.Popen([sys.executable, "-m", "optimizer_svc"], env=env, stdout=log,
                                                      stderr=subprocess.STDOUT, start_new_session=True)
        def dispatched_since(moment) -> bool:
            """Some search got new work (C counts: on a loaded machine A and B may end first)."""
            return any(d.dispatched_at > moment for s in (a, b, c) for d in rows(s.id, Dispatch))

        restarted = utcnow()
        wait_for(lambda: dispatched_since(restarted), timeout=120, what="the restarted optimizer to dispatch")

        # 2. RabbitMQ drops every connection in the test's virtual host
        vhost = broker_url.rsplit("/", 1)[1]
        subprocess.run(["rabbitmqctl", "-q", "close_all_connections", "-p", vhost, "fault test"], check=True, timeout=60)
        dropped = utcnow()
        wait_for(lambda: dispatched_since(dropped), timeout=120, what="dispatches after the broker drop")
        # search C starts after the drop and can only get GPUs through decisions the
        # optimizer consumes from the bus, so its success proves the consumer reconnected

        def all_finished():
            assert all(p.poll() is None for p in procs.values()), {n: p.returncode for n, p in procs.items()}
            found = [status(s.id) for s in (a, b, c)]
            return found if all(s.status.finished for s in found) else None

        wait_for(all_finished, timeout=(20 + 6) * SPH + 240, what="all three searches to finish")
        # attempts under way at a budget's end stop there and are charged; then the ledger closes
        def all_settled():
            found = [status(s.id) for s in (a, b, c)]
            return found if all(s.settled_at for s in found) else None

        finals = wait_for(all_settled, timeout=180, what="the three ledgers to close")
    for final in finals:
        assert final.status == SearchStatus.SUCCEEDED, (final.name, final.error)
    fa, fb, fc = finals
    assert fc.started_at >= max(fa.finished_at, fb.finished_at)  # strict FIFO, no overlap beyond the pool
    for final in finals:
        evaluations = rows(final.id)
        codes = [e.code for e in evaluations]
        assert len(codes) == len(set(codes)) and final.evaluations == len(codes) > 0
        energy = sum(r.energy_kwh for table in (WorkSegment, IdleEnergy) for r in rows(final.id, table))
        carbon = sum(r.carbon_g for table in (WorkSegment, IdleEnergy) for r in rows(final.id, table))
        assert final.energy_kwh == pytest.approx(energy, rel=1e-9)
        assert final.carbon_g == pytest.approx(carbon, rel=1e-9)
        recorded = set(codes)
        dispatched = {d.key for d in rows(final.id, Dispatch) if d.kind == "evaluate" and d.done}
        assert dispatched <= recorded  # done only once its result is stored
        decisions = rows(final.id, Decision)
        assert all(d.gpus_evaluation + d.gpus_sampling + d.gpus_idle == final.spec["gpus"] for d in decisions)
    vanilla = rows(fb.id, SampleBatch)
    assert vanilla == []  # vanilla never screens
    engine.dispose()
