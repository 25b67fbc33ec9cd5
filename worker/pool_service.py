"""The pool controller (`python -m worker.pool_service`): applies decisions to workers.

It consumes `schedule.decision.*`, sums the GPUs each role is granted over the running
searches, and moves workers between the `evaluation` and `sampling` queues (or parks
them) with Celery remote control. `cancel_consumer` only stops a worker from taking new
tasks, so a running task is never interrupted. Every second it re-reads which queues
each worker really consumes (`inspect().active_queues()`), so a worker that (re)joins is
given its role within a second, on any host: nothing assumes workers share a machine.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from celery import Celery
from sqlalchemy import Engine
from sqlmodel import Session, select

from cenas.bus import Consumer, connect_from
from cenas.contracts import Message, ScheduleDecision
from cenas.db import SERVICE_START_WAIT_S, make_engine
from cenas.db.searches import Decision, Search, SearchStatus
from cenas.readiness import mark_ready
from cenas.settings import Settings
from cenas.work import EVALUATION_QUEUE, SAMPLING_QUEUE, make_celery
from worker.pool import Role, assign

log = logging.getLogger(__name__)
QUEUE_OF = {Role.EVALUATION: EVALUATION_QUEUE, Role.SAMPLING: SAMPLING_QUEUE}
ROLE_OF = {queue: role for role, queue in QUEUE_OF.items()}


class PoolController:
    def __init__(self, app: Celery, engine: Engine, *, command_timeout: float = 2.0) -> None:
        self.app = app
        self.engine = engine
        self.command_timeout = command_timeout
        self.roles: dict[str, Role] = {}
        self.grants: dict[str, tuple[int, int]] = {}  # search -> (evaluation, sampling)
        self.applied_latency_s: list[float] = []

    # --- inputs -----------------------------------------------------------------------
    def on_message(self, message: Message) -> None:
        if isinstance(message, ScheduleDecision):
            received = time.perf_counter()
            self.grants[message.search_id] = (message.gpus_evaluation, message.gpus_sampling)
            self.apply()
            self.applied_latency_s.append(time.perf_counter() - received)

    def refresh_grants(self) -> None:
        """Running searches' latest decisions from the database (after a restart, and to drop finished ones)."""
        with Session(self.engine) as session:
            running = session.exec(select(Search.id).where(Search.status == SearchStatus.RUNNING)).all()
            grants = {}
            for search_id in running:
                latest = session.exec(
                    select(Decision).where(Decision.search_id == search_id).order_by(Decision.interval.desc())  # type: ignore[attr-defined]
                ).first()
                if latest is not None:
                    grants[search_id] = (latest.gpus_evaluation, latest.gpus_sampling)
        self.grants = grants

    def refresh_roles(self) -> None:
        """Which queues each worker really consumes (the truth after restarts and joins)."""
        replies = self.app.control.inspect(timeout=0.5).active_queues() or {}
        roles = {}
        for name, queues in replies.items():
            held = [ROLE_OF[q["name"]] for q in queues if q["name"] in ROLE_OF]
            roles[name] = held[0] if held else Role.PARKED
            for extra in held[1:]:  # a worker must hold one role: drop the others
                self._command("cancel_consumer", QUEUE_OF[extra], name)
        self.roles = roles

    # --- output -----------------------------------------------------------------------
    def apply(self) -> None:
        evaluation = sum(e for e, _ in self.grants.values())
        sampling = sum(s for _, s in self.grants.values())
        target = assign(list(self.roles), self.roles, evaluation, sampling)
        for name, role in target.items():
            old = self.roles.get(name, Role.PARKED)
            if role == old:
                continue
            if role != Role.PARKED:
                self._command("add_consumer", QUEUE_OF[role], name)
            if old != Role.PARKED:
                self._command("cancel_consumer", QUEUE_OF[old], name)
            self.roles[name] = role
        log.debug("pool: %s", {n: r.value for n, r in sorted(self.roles.items())})

    def state(self) -> dict[str, int]:
        return {role.value: sum(1 for r in self.roles.values() if r == role) for role in Role}

    def _command(self, verb: str, queue: str, worker: str) -> None:
        getattr(self.app.control, verb)(queue, destination=[worker], reply=True, timeout=self.command_timeout)

    # --- loop -------------------------------------------------------------------------
    def run(self, consumer: Consumer, should_stop: Callable[[], bool] = lambda: False, resync_s: float = 1.0) -> None:
        next_sync = 0.0
        while not should_stop():
            try:
                if time.monotonic() >= next_sync:
                    next_sync = time.monotonic() + resync_s
                    self.refresh_grants()
                    self.refresh_roles()
                    self.apply()
                consumer.drain(timeout=0.1, max_messages=50)
            except Exception:  # broker or database hiccup, a torn control reply: retry next cycle
                log.exception("pool controller cycle failed; retrying")
                time.sleep(0.5)


def main() -> None:
    import signal

    logging.basicConfig(level=logging.INFO, format="%(asctime)s pool %(levelname)s %(name)s: %(message)s")
    settings = Settings()
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))
    controller = PoolController(make_celery(settings), make_engine(settings, wait_s=SERVICE_START_WAIT_S))
    consumer = Consumer(None, "pool-controller", ["schedule.decision.*"], controller.on_message, connection=connect_from(settings))
    mark_ready(settings, "worker.pool_service")
    controller.run(consumer, should_stop=lambda: stop["now"])


if __name__ == "__main__":
    main()
