"""The pool controller (`python -m worker.pool_service`): applies decisions to workers.

It consumes `schedule.decision.*`, sums the GPUs each role is granted over the running
searches, and moves workers between the `evaluation` and `sampling` queues (or parks
them) with Celery remote control. Every second it re-reads which queues each worker
really consumes (`inspect().active_queues()`), so a worker that (re)joins is given its
role within a second, on any host: nothing assumes workers share a machine.

`cancel_consumer` only stops a worker from taking new tasks, so an evaluation running on
a worker that loses the evaluation role is paused through the database
(`Dispatch.preempt`: the worker stops at its next checkpoint and the optimizer resumes
the run first when an evaluation GPU frees up), as the simulator pauses every run at an
hour's end. The runs kept are those within their search's grant, oldest first; idle
workers move before busy ones. A worker busy with a task cannot answer remote control
(solo pool), so one that holds a running attempt in the database keeps its last role
rather than counting as gone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from celery import Celery
from datetime import datetime

from sqlalchemy import Engine, update
from sqlmodel import Session, select

from cenas.bus import Consumer, connect_from
from cenas.contracts import Message, ScheduleDecision
from cenas.db import SERVICE_START_WAIT_S, make_engine
from cenas.carbon.traces import as_utc
from cenas.db.searches import Decision, Dispatch, Search, SearchStatus
from cenas.readiness import mark_ready
from cenas.settings import Settings
from cenas.work import EVALUATION_QUEUE, SAMPLING_QUEUE, make_celery
from worker.pool import Role, assign

log = logging.getLogger(__name__)
QUEUE_OF = {Role.EVALUATION: EVALUATION_QUEUE, Role.SAMPLING: SAMPLING_QUEUE}
ROLE_OF = {queue: role for role, queue in QUEUE_OF.items()}


@dataclass(frozen=True)
class Running:
    """An attempt a worker started and has not stopped."""

    dispatch_id: int
    attempt: int
    search_id: str
    kind: str
    started_at: datetime


class PoolController:
    def __init__(self, app: Celery, engine: Engine) -> None:
        self.app = app
        self.engine = engine
        self.roles: dict[str, Role] = {}
        self.grants: dict[str, tuple[int, int]] = {}  # search -> (evaluation, sampling)
        self.busy: dict[str, Running] = {}  # worker -> the attempt it runs (from the database)
        self.applied_latency_s: list[float] = []

    # --- inputs -----------------------------------------------------------------------
    def on_message(self, message: Message) -> None:
        if isinstance(message, ScheduleDecision):
            received = time.perf_counter()
            self.grants[message.search_id] = (message.gpus_evaluation, message.gpus_sampling)
            self.refresh_busy()
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

    def refresh_busy(self) -> None:
        """The attempts under way of running searches, by worker."""
        with Session(self.engine) as session:
            rows = session.exec(select(Dispatch).join(Search, Search.id == Dispatch.search_id).where(
                Search.status == SearchStatus.RUNNING, Dispatch.started_at != None, Dispatch.stopped_at == None,  # noqa: E711
                Dispatch.worker != None)).all()  # noqa: E711
        self.busy = {r.worker: Running(r.id, r.attempt, r.search_id, r.kind, as_utc(r.started_at)) for r in rows}  # type: ignore[misc]

    def refresh_roles(self) -> None:
        """Which queues each worker really consumes (the truth after restarts and joins);
        a worker too busy to answer keeps its last role, or the role of its task."""
        replies = self.app.control.inspect(timeout=0.5).active_queues() or {}
        roles = {}
        for name, queues in replies.items():
            held = [ROLE_OF[q["name"]] for q in queues if q["name"] in ROLE_OF]
            roles[name] = held[0] if held else Role.PARKED
            for extra in held[1:]:  # a worker must hold one role: drop the others
                self._command("cancel_consumer", QUEUE_OF[extra], name)
        for name, running in self.busy.items():
            if name not in roles:
                roles[name] = self.roles.get(name, Role.EVALUATION if running.kind == "evaluate" else Role.SAMPLING)
        self.roles = roles

    # --- output -----------------------------------------------------------------------
    def keep_order(self) -> Callable[[str], tuple]:
        """Evaluation holders by how much they should keep the role: a run within its
        search's grant (oldest first), then idle workers, then runs beyond the grant."""
        runs = sorted((r.started_at, w) for w, r in self.busy.items() if r.kind == "evaluate")
        seen: dict[str, int] = {}
        rank: dict[str, tuple] = {}
        for started, worker in runs:
            search = self.busy[worker].search_id
            seen[search] = seen.get(search, 0) + 1
            within = seen[search] <= self.grants.get(search, (0, 0))[0]
            rank[worker] = (0 if within else 2, started.timestamp())
        return lambda worker: rank.get(worker, (1, 0.0))

    def pause_misplaced(self) -> int:
        """Ask every evaluation running on a worker without the evaluation role to pause."""
        paused = 0
        with Session(self.engine) as session:
            for worker, running in self.busy.items():
                if running.kind == "evaluate" and self.roles.get(worker) != Role.EVALUATION:
                    paused += session.exec(update(Dispatch).where(  # type: ignore[call-overload]
                        Dispatch.id == running.dispatch_id, Dispatch.attempt == running.attempt, Dispatch.preempt == False,  # noqa: E712
                        Dispatch.stopped_at == None).values(preempt=True)).rowcount  # noqa: E711
            session.commit()
        if paused:
            log.info("pool: paused %d evaluation(s) on workers that lost the evaluation role", paused)
        return paused

    def apply(self) -> None:
        evaluation = sum(e for e, _ in self.grants.values())
        sampling = sum(s for _, s in self.grants.values())
        target = assign(list(self.roles), self.roles, evaluation, sampling, self.keep_order())
        for name, role in target.items():
            old = self.roles.get(name, Role.PARKED)
            if role == old:
                continue
            if role != Role.PARKED:
                self._command("add_consumer", QUEUE_OF[role], name)
            if old != Role.PARKED:
                self._command("cancel_consumer", QUEUE_OF[old], name)
            self.roles[name] = role
        self.pause_misplaced()
        log.debug("pool: %s", {n: r.value for n, r in sorted(self.roles.items())})

    def state(self) -> dict[str, int]:
        return {role.value: sum(1 for r in self.roles.values() if r == role) for role in Role}

    def _command(self, verb: str, queue: str, worker: str) -> None:
        # no reply awaited: a worker busy with a task answers only after it (solo pool), and
        # waiting for each in turn delayed a reallocation by seconds; the next `refresh_roles`
        # (every second) reads what the worker really consumes and repeats what is missing
        getattr(self.app.control, verb)(queue, destination=[worker], reply=False)

    # --- loop -------------------------------------------------------------------------
    def run(self, consumer: Consumer, should_stop: Callable[[], bool] = lambda: False, resync_s: float = 1.0) -> None:
        next_sync = 0.0
        while not should_stop():
            try:
                if time.monotonic() >= next_sync:
                    next_sync = time.monotonic() + resync_s
                    self.refresh_grants()
                    self.refresh_busy()
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
