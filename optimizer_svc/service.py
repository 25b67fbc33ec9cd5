"""The optimizer service (`python -m optimizer_svc`): runs LaMOO for every live search.

Adapter around `Dispatcher` (pure): it starts queued searches when the pool has room,
turns dispatcher commands into Celery tasks, feeds results back, keeps the database's
progress (hypervolume, Pareto front, energy, carbon) current, publishes `search.progress`,
and ends each search at its time or carbon budget. After a restart it rebuilds every
running search from the database (evaluations, in-flight tasks), so nothing is lost or
counted twice.

Queueing rule: searches start in creation order; the oldest queued search starts as soon
as its `gpus` fit in `pool_gpus` minus the GPUs of running searches, and nothing overtakes
it (no starvation of large searches).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
from celery import Celery
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from cenas.bus import Publisher
from cenas.carbon.accounting import JOULES_PER_KWH
from cenas.contracts import (
    EvaluationCompleted, Message, SampleCompleted, ScheduleDecision, SearchCancelled, SearchCreated, SearchProgress,
)
from cenas.errors import is_transient
from cenas.db.searches import Decision, Dispatch, Evaluation, IdleEnergy, SampleBatch, Search, SearchStatus, utcnow
from cenas.pareto import hypervolume, non_dominated_mask
from cenas.retry import retry_transient
from cenas.search.context import SearchContext, build_context
from optimizer_svc.dispatch import Dispatcher, EvaluateCommand, SampleCommand
from optimizer_svc.lamoo import LaMOO, LaMOOConfig
from cenas.work import EVALUATE, EVALUATION_QUEUE, SAMPLE, SAMPLING_QUEUE

log = logging.getLogger(__name__)
#: how often a live search's progress row (and `search.progress`) is refreshed
PROGRESS_EVERY_S = 0.5


@dataclass
class LiveSearch:
    ctx: SearchContext
    dispatcher: Dispatcher
    codes: list[int] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)
    idle_accounted: int = 0  # intervals whose parked-GPU energy is recorded
    samples: int = 0  # candidates screened so far
    next_progress: float = 0.0  # monotonic time of the next progress write


class OptimizerService:
    def __init__(self, engine: Engine, celery: Celery, publisher: Publisher, *, pool_gpus: int) -> None:
        self.engine = engine
        self.celery = celery
        self.publisher = publisher
        self.pool_gpus = pool_gpus
        self.live: dict[str, LiveSearch] = {}

    # --- lifecycle ----------------------------------------------------------------------
    def restore(self, wait_s: float = 0.0) -> None:
        """Rebuild every running search from the database (start-up, after a crash).

        ``wait_s``: how long to wait out a database outage; a service restarted into one
        must not exit, or nobody would finish its searches.
        """

        def attach_running() -> None:
            with Session(self.engine) as session:
                running = session.exec(select(Search).where(Search.status == SearchStatus.RUNNING)).all()
            for search in running:
                self._attach(search)

        retry_transient(attach_running, "restoring running searches", wait_s=wait_s)

    def _attach(self, search: Search) -> LiveSearch:
        ctx = build_context(search.id, search.spec, search.started_at)
        spec = ctx.spec
        lamoo = LaMOO(ctx.problem.space, ctx.problem.ref_point, LaMOOConfig(sampler=spec.optimizer.sampler), seed=spec.optimizer.seed)
        live = LiveSearch(ctx, Dispatcher(lamoo, ctx.problem.space.size, screening=spec.policy != "vanilla"))
        with Session(self.engine) as session:
            evaluations = session.exec(select(Evaluation).where(Evaluation.search_id == search.id).order_by(Evaluation.id)).all()
            pending = session.exec(select(Dispatch).where(Dispatch.search_id == search.id, Dispatch.done == False)).all()  # noqa: E712
            last_batch = session.exec(select(func.max(Dispatch.key)).where(Dispatch.search_id == search.id, Dispatch.kind == "sample")).one()
            decision = session.exec(select(Decision).where(Decision.search_id == search.id).order_by(Decision.interval.desc())).first()  # type: ignore[attr-defined]
            idle = session.exec(select(func.max(IdleEnergy.interval)).where(IdleEnergy.search_id == search.id)).one()
        restored = []
        for ev in evaluations:
            values = self._maximised(ctx, ev.objectives)
            restored.append((ev.code, values))
            live.codes.append(ev.code)
            live.values.append(values)
        live.dispatcher.restore(restored, [d.key for d in pending if d.kind == "evaluate"])
        for d in pending:
            if d.kind == "sample":
                live.dispatcher.sampling[d.key] = tuple(d.codes)
        live.dispatcher._next_batch = (last_batch + 1) if last_batch is not None else 0
        if decision is not None:
            live.dispatcher.set_allocation(decision.gpus_evaluation, decision.gpus_sampling)
        live.idle_accounted = (idle + 1) if idle is not None else 0
        with Session(self.engine) as session:
            live.samples = sum(len(c) for c in session.exec(select(SampleBatch.codes).where(SampleBatch.search_id == search.id)).all())
        self.live[search.id] = live
        return live

    @staticmethod
    def _maximised(ctx: SearchContext, objectives: dict[str, float]) -> np.ndarray:
        return np.array([o.sign * float(objectives[o.name]) for o in ctx.problem.objectives])

    def start_queued(self) -> None:
        with Session(self.engine) as session:
            busy = sum(s.spec["gpus"] for s in session.exec(select(Search).where(Search.status == SearchStatus.RUNNING)).all())
            for search in session.exec(select(Search).where(Search.status == SearchStatus.QUEUED).order_by(Search.created_at)).all():
                if busy + search.spec["gpus"] > self.pool_gpus:
                    break  # strict FIFO: nothing overtakes the oldest waiting search
                try:
                    build_context(search.id, search.spec, None)
                except Exception as exc:  # a spec this runtime cannot run: fail it, say why
                    search.status, search.error, search.finished_at = SearchStatus.FAILED, str(exc), utcnow()
                    session.add(search)
                    continue
                search.status, search.started_at = SearchStatus.RUNNING, utcnow()
                session.add(search)
                session.commit()
                session.refresh(search)
                busy += search.spec["gpus"]
                self._attach(search)
                log.info("started search %s (%s)", search.id, search.name)
            session.commit()

    def finish(self, search_id: str, status: SearchStatus, error: str | None = None) -> None:
        self.live.pop(search_id, None)
        with Session(self.engine) as session:
            search = session.get(Search, search_id)
            if search is None or search.status.finished:
                return
            search.status, search.error, search.finished_at = status, error, utcnow()
            session.add(search)
            session.commit()
        self._publish_progress(search_id)
        log.info("search %s %s%s", search_id, status.value, f": {error}" if error else "")

    # --- messages -----------------------------------------------------------------------
    def on_message(self, message: Message) -> None:
        if isinstance(message, SearchCreated):
            self.start_queued()
        elif isinstance(message, SearchCancelled):
            self.finish(message.search_id, SearchStatus.CANCELLED, "cancelled by its owner")
        elif (live := self.live.get(getattr(message, "search_id", ""))) is None:
            if isinstance(message, (EvaluationCompleted, SampleCompleted)):
                self._recount_finished(message.search_id)
        elif isinstance(message, ScheduleDecision):
            live.dispatcher.set_allocation(message.gpus_evaluation, message.gpus_sampling)
            self.pump(live)
        elif isinstance(message, SampleCompleted):
            if live.dispatcher.on_samples(message.batch_id, np.array(message.codes, dtype=np.int64), np.array(message.predicted)):
                live.samples += len(message.codes)
            self._mark_done(live.ctx.search_id, "sample", message.batch_id)
            self.pump(live)
        elif isinstance(message, EvaluationCompleted):
            values = self._maximised(live.ctx, message.objectives)
            if live.dispatcher.on_evaluation(message.code, values):
                live.codes.append(message.code)
                live.values.append(values)
            self._mark_done(live.ctx.search_id, "evaluate", message.code)
            self.pump(live)

    def _mark_done(self, search_id: str, kind: str, key: int) -> None:
        with Session(self.engine) as session:
            row = session.exec(select(Dispatch).where(Dispatch.search_id == search_id, Dispatch.kind == kind, Dispatch.key == key)).first()
            if row is not None and not row.done:
                row.done = True
                session.add(row)
                session.commit()

    # --- the loop -----------------------------------------------------------------------
    def pump(self, live: LiveSearch) -> None:
        """Dispatch what the allocation can start now."""
        search_id = live.ctx.search_id
        commands = live.dispatcher.plan()
        if not commands:
            return
        sent: list[Dispatch] = []
        try:
            for i, command in enumerate(commands):
                # sent first, recorded second: a crash in between loses nothing (the result is
                # still recorded by the worker and accepted), the reverse could strand a search
                if isinstance(command, EvaluateCommand):
                    self.celery.send_task(EVALUATE, args=[search_id, command.code], queue=EVALUATION_QUEUE)
                    sent.append(Dispatch(search_id=search_id, kind="evaluate", key=command.code))
                else:
                    assert isinstance(command, SampleCommand)
                    self.celery.send_task(SAMPLE, args=[search_id, command.batch_id, list(command.codes)], queue=SAMPLING_QUEUE)
                    sent.append(Dispatch(search_id=search_id, kind="sample", key=command.batch_id, codes=list(command.codes)))
        except Exception:
            for unsent in commands[len(sent):]:
                live.dispatcher.withdraw(unsent)
            raise
        finally:
            with Session(self.engine) as session:
                session.add_all(sent)
                session.commit()

    def reconcile(self, live: LiveSearch) -> None:
        """Treat dispatched tasks whose result row exists as completed.

        The database, not the bus, is the system of record: a worker that stored its result
        but could not announce it (broker away at that moment) must not hold a GPU slot
        forever. Replaying a known result is a no-op in the dispatcher.
        """
        search_id = live.ctx.search_id
        with Session(self.engine) as session:
            pending = session.exec(select(Dispatch).where(Dispatch.search_id == search_id, Dispatch.done == False)).all()  # noqa: E712
            codes = [d.key for d in pending if d.kind == "evaluate"]
            batches = [d.key for d in pending if d.kind == "sample"]
            evaluations = session.exec(select(Evaluation).where(Evaluation.search_id == search_id, Evaluation.code.in_(codes))).all() if codes else []  # type: ignore[attr-defined]
            samples = session.exec(select(SampleBatch).where(SampleBatch.search_id == search_id, SampleBatch.batch_id.in_(batches))).all() if batches else []  # type: ignore[attr-defined]
        for batch in samples:
            self.on_message(SampleCompleted(search_id=search_id, batch_id=batch.batch_id, codes=batch.codes, predicted=batch.predicted,
                                            gpu_seconds=batch.gpu_seconds, energy_kwh=batch.energy_kwh, worker=batch.worker))
        for ev in evaluations:
            self.on_message(EvaluationCompleted(search_id=search_id, code=ev.code, objectives=ev.objectives, gpu_seconds=ev.gpu_seconds,
                                                energy_kwh=ev.energy_kwh, carbon_g=ev.carbon_g, worker=ev.worker))

    def tick(self) -> None:
        """Budgets, parked-GPU energy and progress of every live search."""
        try:
            self.start_queued()
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("queued searches wait for a dependency: %s", str(exc).splitlines()[0])
        for search_id, live in list(self.live.items()):
            try:
                self._tick_one(live)
            except Exception as exc:
                if is_transient(exc):  # broker or database away: the search waits, it does not fail
                    log.warning("search %s waits for a dependency: %s", search_id, str(exc).splitlines()[0])
                    continue
                log.exception("search %s failed", search_id)
                self.finish(search_id, SearchStatus.FAILED, f"optimizer error: {exc}")

    def _tick_one(self, live: LiveSearch) -> None:
        ctx = live.ctx
        assert ctx.clock is not None
        hours = ctx.clock.hours()
        self._account_idle(live, int(hours))
        budget = ctx.spec.budget
        over_time = budget.hours is not None and hours >= budget.hours
        if over_time or time.monotonic() >= live.next_progress:
            self.reconcile(live)
            progress = self._update_progress(live, hours)
            live.next_progress = time.monotonic() + PROGRESS_EVERY_S
            if over_time or (budget.carbon_g is not None and progress.carbon_g >= budget.carbon_g):
                self.finish(ctx.search_id, SearchStatus.SUCCEEDED)
                return
        self.pump(live)

    def _account_idle(self, live: LiveSearch, completed_intervals: int) -> None:
        """Record the energy of GPUs the decisions parked, once per finished interval."""
        ctx = live.ctx
        while live.idle_accounted < completed_intervals:
            k = live.idle_accounted
            with Session(self.engine) as session:
                decision = session.exec(select(Decision).where(Decision.search_id == ctx.search_id, Decision.interval == k)).first()
                idle = decision.gpus_idle if decision else ctx.spec.gpus  # no decision: the whole grant sat idle
                seconds = idle * 3600.0
                energy = ctx.power.idle_w * seconds / JOULES_PER_KWH
                exists = session.exec(select(IdleEnergy).where(IdleEnergy.search_id == ctx.search_id, IdleEnergy.interval == k)).first()
                if exists is None and seconds > 0:
                    session.add(IdleEnergy(search_id=ctx.search_id, worker="pool", interval=k, gpu_seconds=seconds, energy_kwh=energy,
                                           energy_source="model", carbon_g=ctx.carbon_g(energy, k, k + 1)))
                    session.commit()
            live.idle_accounted += 1

    def _update_progress(self, live: LiveSearch, hours: float) -> Search:
        ctx = live.ctx
        with Session(self.engine) as session:
            search = session.get(Search, ctx.search_id)
            assert search is not None
            search.elapsed_hours = min(hours, ctx.spec.budget.hours or hours)
            search.samples = live.samples
            record_results(session, search, ctx, live.codes, live.values)
            search.gpus_evaluation, search.gpus_sampling = live.dispatcher.evaluation_gpus, live.dispatcher.sampling_gpus
            search.gpus_idle = ctx.spec.gpus - search.gpus_evaluation - search.gpus_sampling
            session.add(search)
            session.commit()
            session.refresh(search)
        self._publish_progress(ctx.search_id)
        return search

    def _recount_finished(self, search_id: str) -> None:
        """Fold results that landed after the search ended into its totals.

        Tasks running when a budget ends are never interrupted (their GPU time is spent
        either way), so their results and their energy belong to the search: its totals
        always equal the sums over its recorded rows.
        """
        with Session(self.engine) as session:
            search = session.get(Search, search_id)
            if search is None or not search.status.finished or search.started_at is None:
                return
            ctx = build_context(search.id, search.spec, search.started_at)
            evaluations = session.exec(select(Evaluation).where(Evaluation.search_id == search_id).order_by(Evaluation.id)).all()
            search.samples = sum(len(c) for c in session.exec(select(SampleBatch.codes).where(SampleBatch.search_id == search_id)).all())
            record_results(session, search, ctx, [ev.code for ev in evaluations], [self._maximised(ctx, ev.objectives) for ev in evaluations])
            session.add(search)
            session.commit()
        self._publish_progress(search_id)

    def _publish_progress(self, search_id: str) -> None:
        with Session(self.engine) as session:
            s = session.get(Search, search_id)
            if s is None:
                return
            message = SearchProgress(search_id=s.id, status=s.status.value, elapsed_hours=s.elapsed_hours, evaluations=s.evaluations,
                                     samples=s.samples, hypervolume=s.hypervolume, carbon_g=s.carbon_g, energy_kwh=s.energy_kwh)
        self.publisher.publish(message, routing_key=f"search.progress.{search_id}")


def record_results(session: Session, search: Search, ctx: SearchContext, codes: list[int], values: list[np.ndarray]) -> None:
    """Set what a search's evaluations add up to: count, hypervolume, Pareto front, and the
    energy and carbon of every recorded row (the caller commits)."""
    search.evaluations = len(codes)
    search.hypervolume = hypervolume(np.array(values), ctx.problem.ref_point) if values else 0.0
    search.pareto = pareto_points(ctx, codes, values)
    search.energy_kwh, search.carbon_g = energy_and_carbon(session, search.id)


def energy_and_carbon(session: Session, search_id: str) -> tuple[float, float]:
    """Total kWh and grams over every recorded evaluation, sample batch and idle interval."""
    kwh = grams = 0.0
    for table in (Evaluation, SampleBatch, IdleEnergy):
        k, g = session.exec(select(func.coalesce(func.sum(table.energy_kwh), 0.0), func.coalesce(func.sum(table.carbon_g), 0.0))
                            .where(table.search_id == search_id)).one()
        kwh, grams = kwh + float(k), grams + float(g)
    return kwh, grams


def pareto_points(ctx: SearchContext, codes: list[int], values: list[np.ndarray]) -> list[dict]:
    """The non-dominated evaluations as API.md's Pareto points (objectives in their own units)."""
    if not values:
        return []
    array = np.array(values)
    mask = non_dominated_mask(array)
    problem = ctx.problem
    signs = np.array([o.sign for o in problem.objectives])
    return [
        {"architecture": problem.space.arch_str(code), "values": {o.name: float(v) for o, v in zip(problem.objectives, row * signs)}}
        for code, row in zip(np.array(codes)[mask].tolist(), array[mask])
    ]


def run(settings=None, should_stop=lambda: False) -> None:
    from cenas.bus import Consumer, connect_from
    from cenas.db import SERVICE_START_WAIT_S, make_engine
    from cenas.readiness import mark_ready
    from cenas.settings import Settings
    from cenas.work import make_celery

    settings = settings or Settings()
    service = OptimizerService(make_engine(settings, wait_s=SERVICE_START_WAIT_S), make_celery(settings), Publisher(connection=connect_from(settings)), pool_gpus=settings.pool_gpus)
    service.restore(wait_s=SERVICE_START_WAIT_S)  # an outage may begin after the engine's own wait
    consumer = Consumer(None, "optimizer", ["search.created", "search.cancelled", "schedule.decision.*", "sample.completed", "evaluation.completed"],
                        service.on_message, connection=connect_from(settings))
    mark_ready(settings, "optimizer_svc")
    next_tick = 0.0
    while not should_stop():
        if time.monotonic() >= next_tick:
            service.tick()
            next_tick = time.monotonic() + settings.tick_seconds
        consumer.poll(timeout=settings.tick_seconds, max_messages=200)
