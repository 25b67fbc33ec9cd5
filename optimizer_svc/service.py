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
import math
import time
from dataclasses import dataclass, field

import numpy as np
from celery import Celery
from sqlalchemy import Engine, delete, func, update
from sqlmodel import Session, select

from cenas.bus import Publisher
from cenas.carbon.traces import as_utc
from cenas.contracts import (
    EvaluationCompleted, Message, SampleCompleted, ScheduleDecision, SearchCancelled, SearchCreated, SearchProgress,
)
from cenas.errors import is_transient
from cenas.db.searches import (
    Decision, Dispatch, Evaluation, IdleEnergy, SampleBatch, Search, SearchStatus, WorkSegment, utcnow,
)
from cenas.pareto import hypervolume, non_dominated_mask
from cenas.retry import retry_transient
from cenas.db.readings import first_reading_since, source, with_observed_signal
from cenas.search.context import SearchContext, build_context
from cenas.search.ledger import intervals_ended
from optimizer_svc.dispatch import Dispatcher, EvaluateCommand, SampleCommand, surplus_queued
from optimizer_svc.lamoo import LaMOO, LaMOOConfig
from optimizer_svc.ledger import account_unused, unrecorded
from cenas.work import EVALUATE, EVALUATION_QUEUE, SAMPLE, SAMPLING_QUEUE

log = logging.getLogger(__name__)
#: how often a live search's progress row (and `search.progress`) is refreshed
PROGRESS_EVERY_S = 0.5
#: real seconds after an interval's end before its unused GPU time is charged, so the
#: segments of attempts that stopped at that end have landed (workers poll every second)
LEDGER_GRACE_S = 3.0
#: how long a finished search waits for its attempts under way to stop before its ledger
#: is closed without them (their workers presumably died)
SETTLE_TIMEOUT_S = 120.0


@dataclass
class LiveSearch:
    ctx: SearchContext
    dispatcher: Dispatcher
    codes: list[int] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)
    idle_accounted: int = 0  # intervals whose unused GPU time is charged
    fitted_interval: int = -1  # the interval in which the proposer last relearned
    samples: int = 0  # candidates screened so far
    next_progress: float = 0.0  # monotonic time of the next progress write
    settle_by: float = 0.0  # finished: monotonic time by which its ledger closes
    signal_read: float = -1e9  # live: monotonic time the observed signal was last read


class OptimizerService:
    def __init__(self, engine: Engine, celery: Celery, publisher: Publisher, *, pool_gpus: int,
                 settle_timeout_s: float = SETTLE_TIMEOUT_S) -> None:
        self.engine = engine
        self.celery = celery
        self.publisher = publisher
        self.pool_gpus = pool_gpus
        self.settle_timeout_s = settle_timeout_s
        self.live: dict[str, LiveSearch] = {}
        self.settling: dict[str, LiveSearch] = {}  # finished, waiting for their attempts to stop

    # --- lifecycle ----------------------------------------------------------------------
    def restore(self, wait_s: float = 0.0) -> None:
        """Rebuild every running search from the database (start-up, after a crash).

        ``wait_s``: how long to wait out a database outage; a service restarted into one
        must not exit, or nobody would finish its searches.
        """

        def attach_running() -> None:
            with Session(self.engine) as session:
                running = session.exec(select(Search).where(Search.status == SearchStatus.RUNNING)).all()
                unsettled = session.exec(select(Search).where(Search.settled_at == None, Search.finished_at != None,  # noqa: E711
                                                              Search.started_at != None)).all()  # noqa: E711
            for search in running:
                self._resend_unstarted_samples(self._attach(search))
            for search in unsettled:
                self.settling[search.id] = self._attach(search, register=False)
                self.settling[search.id].settle_by = time.monotonic() + self.settle_timeout_s

        retry_transient(attach_running, "restoring running searches", wait_s=wait_s)

    def _attach(self, search: Search, *, register: bool = True) -> LiveSearch:
        ctx = build_context(search.id, search.spec, search.started_at)
        spec = ctx.spec
        lamoo = LaMOO(ctx.problem.space, ctx.problem.ref_point, LaMOOConfig(sampler=spec.optimizer.sampler), seed=spec.optimizer.seed)
        live = LiveSearch(ctx, Dispatcher(lamoo, ctx.problem.space.size, screening=spec.policy != "vanilla", fit_on_plan=False))
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
        evaluating = [d for d in pending if d.kind == "evaluate"]
        # runs a decision paused, and dispatches no worker started (their message may never
        # have been sent): resumed first, under a new attempt
        carried = sorted((d for d in evaluating if d.started_at is None or d.stopped_at is not None),
                         key=lambda d: as_utc(d.stopped_at or d.dispatched_at))
        live.dispatcher.restore(restored, [d.key for d in evaluating], [d.key for d in carried])
        for d in pending:
            if d.kind == "sample":
                live.dispatcher.sampling[d.key] = tuple(d.codes)
        live.dispatcher._next_batch = (last_batch + 1) if last_batch is not None else 0
        if decision is not None:
            live.dispatcher.set_allocation(decision.gpus_evaluation, decision.gpus_sampling)
        live.idle_accounted = (idle + 1) if idle is not None else 0
        live.dispatcher.refit()
        with Session(self.engine) as session:
            live.samples = sum(len(c) for c in session.exec(select(SampleBatch.codes).where(SampleBatch.search_id == search.id)).all())
        if register:
            self.live[search.id] = live
        return live

    def _resend_unstarted_samples(self, live: LiveSearch) -> None:
        """After a restart, send again the sample batches no worker started (the message of
        one may never have left), under a new attempt so an old copy is dropped."""
        with Session(self.engine) as session:
            rows = session.exec(select(Dispatch).where(Dispatch.search_id == live.ctx.search_id, Dispatch.kind == "sample",
                                                       Dispatch.done == False, Dispatch.started_at == None)).all()  # noqa: E711,E712
            for row in rows:
                row.attempt += 1
                session.add(row)
            session.commit()
            for row in rows:
                self.celery.send_task(SAMPLE, args=[row.search_id, row.key, list(row.codes), row.attempt], queue=SAMPLING_QUEUE)

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
                    ctx = build_context(search.id, search.spec, None)
                except Exception as exc:  # a spec this runtime cannot run: fail it, say why
                    search.status, search.error, search.finished_at = SearchStatus.FAILED, str(exc), utcnow()
                    session.add(search)
                    continue
                if ctx.live:
                    refused = self._live_refusal(search)
                    if refused is not None:
                        search.status, search.error, search.finished_at = SearchStatus.FAILED, refused, utcnow()
                        session.add(search)
                        continue
                    if first_reading_since(self.engine, search.spec["carbon"]["signal"], search.spec["carbon"]["region"],
                                           as_utc(search.created_at)) is None:
                        continue  # its clock starts with the first reading of its zone (the forecaster polls it)
                search.status, search.started_at = SearchStatus.RUNNING, utcnow()
                session.add(search)
                session.commit()
                session.refresh(search)
                busy += search.spec["gpus"]
                self._attach(search)
                log.info("started search %s (%s)", search.id, search.name)
            session.commit()

    def _live_refusal(self, search: Search) -> str | None:
        """Why a queued live search cannot start (its source failed since it was created):
        credentials refused, unknown zone, an answer we cannot read."""
        carbon = search.spec["carbon"]
        src = source(self.engine, carbon["signal"], carbon["region"])
        if src is None or src.state != "failed" or src.last_attempt_at is None or as_utc(src.last_attempt_at) < as_utc(search.created_at):
            return None
        return f"carbon signal {carbon['signal']} for zone {carbon['region']} failed: {src.error}"

    def _observe(self, live: LiveSearch) -> None:
        """Keep a live search's observed signal current (at most once a second)."""
        if live.ctx.live and time.monotonic() - live.signal_read >= 1.0:
            live.ctx = with_observed_signal(self.engine, live.ctx)
            live.signal_read = time.monotonic()

    def finish(self, search_id: str, status: SearchStatus, error: str | None = None) -> None:
        """End a search: its attempts under way stop at the end (their workers see the
        status), those no worker started are withdrawn, and its ledger closes once they
        all stopped (`_settle`)."""
        live = self.live.pop(search_id, None)
        with Session(self.engine) as session:
            search = session.get(Search, search_id)
            if search is None or (search.status.finished and live is None):
                return
            if not search.status.finished:  # the gateway sets `cancelled` itself, at once
                search.status, search.error, search.finished_at = status, error, utcnow()
                session.add(search)
            session.exec(update(Dispatch).where(  # type: ignore[call-overload]
                Dispatch.search_id == search_id, Dispatch.started_at == None, Dispatch.done == False,  # noqa: E711,E712
            ).values(attempt=Dispatch.attempt + 1))
            session.commit()
        if live is not None:
            live.settle_by = time.monotonic() + self.settle_timeout_s
            self.settling[search_id] = live
        self._publish_progress(search_id)
        log.info("search %s %s%s", search_id, status.value, f": {error}" if error else "")

    # --- messages -----------------------------------------------------------------------
    def on_message(self, message: Message) -> None:
        if isinstance(message, SearchCreated):
            self.start_queued()
        elif isinstance(message, SearchCancelled):
            self.finish(message.search_id, SearchStatus.CANCELLED, "cancelled by its owner")
        elif (live := self.live.get(getattr(message, "search_id", ""))) is None:
            if isinstance(message, (EvaluationCompleted, SampleCompleted)) and message.search_id not in self.settling:
                self._recount_finished(message.search_id)
        elif isinstance(message, ScheduleDecision):
            live.dispatcher.set_allocation(message.gpus_evaluation, message.gpus_sampling)
            self.fit_allocation(live)
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
        """Dispatch what the allocation can start now.

        Recorded first, sent second: a worker only runs the attempt its dispatch row names,
        and a row whose message never left (a crash in between) is sent again under a new
        attempt after a restart. Commands the broker refused are withdrawn, planned again."""
        search_id = live.ctx.search_id
        commands = live.dispatcher.plan()
        if not commands:
            return
        attempts = self._prepare(search_id, commands)
        sent = 0
        try:
            for command, attempt in zip(commands, attempts):
                if isinstance(command, EvaluateCommand):
                    self.celery.send_task(EVALUATE, args=[search_id, command.code, attempt], queue=EVALUATION_QUEUE)
                else:
                    assert isinstance(command, SampleCommand)
                    self.celery.send_task(SAMPLE, args=[search_id, command.batch_id, list(command.codes), attempt], queue=SAMPLING_QUEUE)
                sent += 1
        except Exception:
            unsent = commands[sent:]
            for command in unsent:
                live.dispatcher.withdraw(command)
            self._forget_unsent(search_id, unsent)
            raise

    def _prepare(self, search_id: str, commands: list[EvaluateCommand | SampleCommand]) -> list[int]:
        """The dispatch row of each command (new, or the carried-over run's with its next
        attempt); returns the attempts to send."""
        attempts = []
        with Session(self.engine) as session:
            for command in commands:
                kind, key = ("evaluate", command.code) if isinstance(command, EvaluateCommand) else ("sample", command.batch_id)
                row = session.exec(select(Dispatch).where(Dispatch.search_id == search_id, Dispatch.kind == kind, Dispatch.key == key)).first()
                if row is None:
                    row = Dispatch(search_id=search_id, kind=kind, key=key,
                                   codes=list(command.codes) if isinstance(command, SampleCommand) else [])
                else:
                    row.attempt, row.preempt, row.done = row.attempt + 1, False, False
                    row.started_at = row.stopped_at = row.worker = None
                row.dispatched_at = utcnow()
                session.add(row)
                attempts.append(row.attempt)
            session.commit()
        return attempts

    def _forget_unsent(self, search_id: str, commands: list[EvaluateCommand | SampleCommand]) -> None:
        with Session(self.engine) as session:
            for command in commands:
                if isinstance(command, EvaluateCommand) and command.resume:
                    continue  # its row stays: the run is carried over and resumes later
                kind, key = ("evaluate", command.code) if isinstance(command, EvaluateCommand) else ("sample", command.batch_id)
                session.exec(delete(Dispatch).where(Dispatch.search_id == search_id, Dispatch.kind == kind, Dispatch.key == key,  # type: ignore[arg-type]
                                                    Dispatch.started_at == None))  # noqa: E711
            session.commit()

    def fit_allocation(self, live: LiveSearch) -> None:
        """Withdraw the queued evaluations a smaller allocation has no reserve for (they
        resume first when GPUs return). Runs under way are the pool controller's: it pauses
        those on the workers it moves out of evaluation."""
        search_id = live.ctx.search_id
        with Session(self.engine) as session:
            flight = session.exec(select(Dispatch).where(Dispatch.search_id == search_id, Dispatch.kind == "evaluate",
                                                         Dispatch.done == False, Dispatch.stopped_at == None,  # noqa: E711,E712
                                                         Dispatch.preempt == False)).all()  # noqa: E712
            flight = [d for d in flight if d.key in live.dispatcher.evaluating]
            running = sum(1 for d in flight if d.started_at is not None)
            queued = sorted((d for d in flight if d.started_at is None), key=lambda d: as_utc(d.dispatched_at))
            rows = {d.key: d for d in queued}
            withdrawn = []
            for code in surplus_queued(running, [d.key for d in queued], live.dispatcher.evaluation_gpus):
                row = rows[code]
                taken = session.exec(update(Dispatch).where(  # type: ignore[call-overload]
                    Dispatch.id == row.id, Dispatch.attempt == row.attempt, Dispatch.started_at == None,  # noqa: E711
                ).values(attempt=row.attempt + 1)).rowcount
                if taken:  # else a worker just started it: it runs (or the pool pauses it)
                    withdrawn.append(code)
            session.commit()
        for code in withdrawn:
            live.dispatcher.on_preempted(code)
        if withdrawn:
            log.info("search %s: %d evaluation GPU(s): withdrew %d queued evaluation(s)", search_id[:8],
                     live.dispatcher.evaluation_gpus, len(withdrawn))

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
        finished = {ev.code for ev in evaluations}
        for d in pending:  # paused runs whose worker stopped: carried over, resumed first
            if d.kind == "evaluate" and d.preempt and d.stopped_at is not None and d.key not in finished:
                live.dispatcher.on_preempted(d.key)
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
        for group, step in ((self.live, self._tick_one), (self.settling, self._settle)):
            for search_id, live in list(group.items()):
                try:
                    step(live)
                except Exception as exc:
                    if is_transient(exc):  # broker or database away: the search waits, it does not fail
                        log.warning("search %s waits for a dependency: %s", search_id, str(exc).splitlines()[0])
                        continue
                    log.exception("search %s failed", search_id)
                    if group is self.live:
                        self.finish(search_id, SearchStatus.FAILED, f"optimizer error: {exc}")
                    else:
                        self.settling.pop(search_id, None)

    def _tick_one(self, live: LiveSearch) -> None:
        self._observe(live)
        ctx = live.ctx
        assert ctx.clock is not None
        hours = ctx.clock.hours()
        budget = ctx.spec.budget
        grace = LEDGER_GRACE_S / ctx.clock.seconds_per_hour
        live.idle_accounted = account_unused(self.engine, ctx, live.idle_accounted,
                                             intervals_ended(max(0.0, hours - grace), ctx.interval_hours, budget.hours),
                                             budget.hours, hours)
        interval = int(hours // ctx.interval_hours)
        if interval != live.fitted_interval:  # once per interval, as the simulator relearns each hour
            live.dispatcher.refit()
            live.fitted_interval = interval
        over_time = budget.hours is not None and hours >= budget.hours
        if over_time or time.monotonic() >= live.next_progress:
            self.reconcile(live)
            progress = self._update_progress(live, hours)
            live.next_progress = time.monotonic() + PROGRESS_EVERY_S
            if progress.status.finished:
                self.finish(ctx.search_id, progress.status)
                return
            if over_time or (budget.carbon_g is not None and self._spent_g(live, progress, hours) >= budget.carbon_g):
                self.finish(ctx.search_id, SearchStatus.SUCCEEDED)
                return
        self.pump(live)

    def _spent_g(self, live: LiveSearch, progress: Search, hours: float) -> float:
        """Grams spent so far, what the rows hold plus what attempts under way and the
        open intervals will add (a carbon cap must stop the search when it is reached,
        not when the rows catch up)."""
        return progress.carbon_g + unrecorded(self.engine, live.ctx, live.idle_accounted, hours)[1]

    def _settle(self, live: LiveSearch) -> None:
        """Close a finished search's ledger once its attempts stopped (or `settle_timeout_s`
        passed): charge its last intervals' unused GPU time, fold in the results and
        energy recorded since it ended, say what a user should know about the outcome."""
        ctx = live.ctx
        search_id = ctx.search_id
        with Session(self.engine) as session:
            running = session.exec(select(func.count()).select_from(Dispatch).where(
                Dispatch.search_id == search_id, Dispatch.started_at != None, Dispatch.stopped_at == None)).one()  # noqa: E711
            search = session.get(Search, search_id)
        if search is None:
            self.settling.pop(search_id, None)
            return
        if running and time.monotonic() < live.settle_by:
            return
        live.signal_read = -1e9
        self._observe(live)
        ctx = live.ctx
        end = ctx.end_hours(as_utc(search.finished_at) if search.finished_at else None)
        account_unused(self.engine, ctx, live.idle_accounted, math.ceil(end / ctx.interval_hours - 1e-9), end, end)
        with Session(self.engine) as session:
            search = session.get(Search, search_id)
            assert search is not None
            evaluations = session.exec(select(Evaluation).where(Evaluation.search_id == search_id).order_by(Evaluation.id)).all()
            search.samples = sum(len(c) for c in session.exec(select(SampleBatch.codes).where(SampleBatch.search_id == search_id)).all())
            record_results(session, search, ctx, [ev.code for ev in evaluations], [self._maximised(ctx, ev.objectives) for ev in evaluations])
            search.warnings = outcome_warnings(session, search, end)
            search.settled_at = utcnow()
            session.add(search)
            session.commit()
        self.settling.pop(search_id, None)
        self._publish_progress(search_id)
        if running:
            log.warning("search %s: closed its ledger with %d attempt(s) that never stopped (their workers died?)", search_id, running)

    def _update_progress(self, live: LiveSearch, hours: float) -> Search:
        ctx = live.ctx
        with Session(self.engine) as session:
            search = session.get(Search, ctx.search_id)
            assert search is not None
            if search.status.finished:  # cancelled through the gateway while its message is on the way
                return search
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
    """Total kWh and grams of the search's ledger: every work segment and idle interval."""
    kwh = grams = 0.0
    for table in (WorkSegment, IdleEnergy):
        k, g = session.exec(select(func.coalesce(func.sum(table.energy_kwh), 0.0), func.coalesce(func.sum(table.carbon_g), 0.0))
                            .where(table.search_id == search_id)).one()
        kwh, grams = kwh + float(k), grams + float(g)
    return kwh, grams


def outcome_warnings(session: Session, search: Search, end_hours: float) -> list[str]:
    """What a user should know about how a finished search went (empty: nothing)."""
    if search.evaluations > 0 or search.status != SearchStatus.SUCCEEDED:
        return []
    cut = session.exec(select(func.count()).select_from(WorkSegment).where(
        WorkSegment.search_id == search.id, WorkSegment.kind == "evaluate", WorkSegment.outcome == "cut")).one()
    why = (f"{cut} evaluation(s) were still training and were cut off at its end" if cut
           else "none had started (no candidate was screened and dispatched in time)")
    return [f"no evaluation finished within the search's {end_hours:g} hours: {why}; the Pareto front is empty. "
            "Give it a longer budget (budget.hours) or fewer epochs."]


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
