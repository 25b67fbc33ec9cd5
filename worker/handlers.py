"""What a GPU worker does for each task, and how it records the result exactly once.

Tasks of kind `nb201` are replayed: the worker sleeps the table's GPU-seconds scaled by
the search's replay clock (minus what earlier segments of a preempted run already did).
Tasks of kind `torch` run for real (`cenas.tasks.torch.TorchRunner`): evaluation trains
the architecture from scratch on the worker's device (resuming its per-epoch checkpoint
after a preemption or a redelivery), sampling scores candidates with the search's cached
supernet.

Each attempt is one work segment of the GPU-time ledger (`cenas.search.ledger`): it runs
until it finishes, until a decision preempts it (`TaskControl`: a replayed sleep wakes at
once, a torch run pauses after its next epoch checkpoint), or until its search ends (cut:
charged up to the search's end, no result). Energy in replay is the search's power model
over the segment's trace time, which is what the replayed GPU stands for; carbon is that
energy at the intensity integrated over the trace hours it spanned. A live search's
segment is charged what the worker's meter measured (NVML, RAPL; the model x wall time
where no counter exists) at the observed signal integrated over its own wall-clock
span, readings step by step (`cenas.db.readings`). The segment, the
dispatch's `stopped_at` and, for a finished task, its result are written in one
transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from enum import Enum

import numpy as np
from sqlalchemy import Engine, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from cenas.bus import Publisher
from cenas.carbon.accounting import JOULES_PER_KWH, GpuState
from cenas.contracts import EvaluationCompleted, SampleCompleted
from cenas.db.readings import with_observed_signal
from cenas.db.searches import Dispatch, Evaluation, SampleBatch, Search, WorkSegment
from cenas.retry import retry_transient
from cenas.search.context import SearchContext, build_context
from cenas.search.ledger import SECONDS_PER_HOUR
from cenas.settings import Settings
from cenas.tasks.torch import TorchRunner
from worker.control import StopReason, TaskControl
from worker.energy import EnergyMeter

log = logging.getLogger(__name__)

#: how long recording a finished segment waits out a database outage (the work is done)
RECORD_WAIT_S = 120.0


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Claim(Enum):
    MANAGED = "managed"  # this attempt is the dispatch's current one: run it
    UNMANAGED = "unmanaged"  # no dispatch row (a task sent by hand or by an older version): run it
    SKIP = "skip"  # a stale attempt, or one withdrawn before it started: drop it


@dataclass(frozen=True)
class Segment:
    """What one attempt did: its outcome, its search-time span and its energy."""

    outcome: str  # "finished", "preempted" or "cut"
    started_at: datetime
    ended_at: datetime
    start_hours: float
    end_hours: float
    energy_kwh: float
    energy_source: str

    @property
    def gpu_seconds(self) -> float:
        return (self.end_hours - self.start_hours) * SECONDS_PER_HOUR


class WorkerRuntime:
    """State one worker process keeps: its name, the database, the bus, search contexts."""

    def __init__(self, name: str, engine: Engine, publisher: Publisher, sleep: Callable[[float], None] | None = None, *,
                 settings: Settings | None = None, meter: EnergyMeter | None = None, control_poll_s: float = 1.0) -> None:
        self.name = name
        self.engine = engine
        self.publisher = publisher
        self.sleep = sleep  # replaces a replayed task's sleep (tests); None: a real, interruptible wait
        self.settings = settings  # needed by torch tasks (checkpoint and dataset directories)
        self.meter = meter  # the worker's hardware meter (live searches); replay charges the power model
        self.control_poll_s = control_poll_s
        self._contexts: dict[str, SearchContext] = {}
        self._runners: dict[str, TorchRunner] = {}

    def context(self, search_id: str) -> SearchContext | None:
        """The search's context, or None if it is gone or already finished."""
        with Session(self.engine) as session:
            search = session.get(Search, search_id)
            if search is None or search.status.finished or search.started_at is None:
                return None
            cached = self._contexts.get(search_id)
            if cached is None:
                cached = self._contexts[search_id] = build_context(search_id, search.spec, search.started_at)
            return cached

    # --- evaluate -------------------------------------------------------------------
    def evaluate(self, search_id: str, code: int, attempt: int = 0) -> None:
        existing = self._find_evaluation(search_id, code)
        if existing is None:
            existing = self._attempt(search_id, "evaluate", code, attempt, lambda ctx, control: self._run_evaluation(ctx, code, control))
        if existing is None:
            return
        self.publisher.publish(EvaluationCompleted(
            search_id=search_id, code=code, objectives=existing.objectives,
            gpu_seconds=existing.gpu_seconds, energy_kwh=existing.energy_kwh, carbon_g=existing.carbon_g, worker=existing.worker,
        ))

    def _run_evaluation(self, ctx: SearchContext, code: int, control: TaskControl) -> tuple[Segment, object]:
        if ctx.spec.task.kind == "torch":
            runner = self._runner(ctx)

            def pause_after_checkpoint(_epochs: int) -> None:
                from cenas.tasks.torch.train import Interrupted

                if control.reason is StopReason.PREEMPTED:
                    raise Interrupted("preempted after a checkpoint")

            return self._work(ctx, GpuState.EVALUATION, control, lambda: runner.evaluate(
                code, on_epoch_end=pause_after_checkpoint, should_stop=lambda: control.reason is StopReason.CUT)[0])
        raw = ctx.problem.raw_values(np.array([code]))[0]
        objectives = {o.name: float(v) for o, v in zip(ctx.problem.objectives, raw)}
        remaining = float(ctx.problem.evaluation_cost_s(np.array([code]))[0]) - self._done_seconds(ctx.search_id, "evaluate", code)
        return self._replay(ctx, max(0.0, remaining), GpuState.EVALUATION, control, objectives)

    def _find_evaluation(self, search_id: str, code: int) -> Evaluation | None:
        with Session(self.engine) as session:
            return session.exec(select(Evaluation).where(Evaluation.search_id == search_id, Evaluation.code == code)).first()

    # --- sample ---------------------------------------------------------------------
    def sample(self, search_id: str, batch_id: int, codes: list[int], attempt: int = 0) -> None:
        existing = self._find_batch(search_id, batch_id)
        if existing is None:
            existing = self._attempt(search_id, "sample", batch_id, attempt,
                                     lambda ctx, control: self._run_sample(ctx, codes, control), codes=codes)
        if existing is None:
            return
        self.publisher.publish(SampleCompleted(
            search_id=search_id, batch_id=batch_id, codes=existing.codes, predicted=existing.predicted,
            gpu_seconds=existing.gpu_seconds, energy_kwh=existing.energy_kwh, worker=existing.worker,
        ))

    def _run_sample(self, ctx: SearchContext, codes: list[int], control: TaskControl) -> tuple[Segment, object]:
        if ctx.spec.task.kind == "torch":
            runner = self._runner(ctx)
            return self._work(ctx, GpuState.SAMPLING, control, lambda: [
                ctx.problem.maximised(m) for m in runner.sample(codes, should_stop=lambda: control.stopped.is_set())])
        predicted = ctx.problem.estimated_values(np.array(codes, dtype=np.int64)).tolist()
        return self._replay(ctx, ctx.problem.sampling_cost_s * len(codes), GpuState.SAMPLING, control, predicted)

    def _find_batch(self, search_id: str, batch_id: int) -> SampleBatch | None:
        with Session(self.engine) as session:
            return session.exec(select(SampleBatch).where(SampleBatch.search_id == search_id, SampleBatch.batch_id == batch_id)).first()

    # --- one attempt: claim, run under control, record --------------------------------
    def _attempt(self, search_id: str, kind: str, key: int, attempt: int,
                 run: Callable[[SearchContext, TaskControl], tuple[Segment, object]], codes: list[int] | None = None):
        """Run one attempt of a task and record it; the stored result, or None (dropped,
        preempted or cut: no result)."""
        ctx = self.context(search_id)
        if ctx is None:
            log.info("dropping a task of search %s: it is not running", search_id)
            return None
        claimed_at = utcnow()  # the dispatch's started_at: the ledger counts the GPU busy from here
        claim = self._claim(search_id, kind, key, attempt, claimed_at)
        if claim is Claim.SKIP:
            return None
        assert ctx.clock is not None
        # a fast replay needs a fast look: one trace minute of reaction time at most
        poll_s = min(self.control_poll_s, max(0.25, ctx.clock.seconds_per_hour / 60.0))
        with TaskControl(self.engine, search_id, kind, key, attempt, managed=claim is Claim.MANAGED, poll_s=poll_s,
                         began_at=claimed_at) as control:
            segment, values = run(ctx, control)
            if segment.outcome != "cut":  # finished or paused, but perhaps after its search ended
                control.poll()
                segment = self._cut_at_end(ctx, control, segment)
        return retry_transient(lambda: self._record(ctx, kind, key, attempt, segment, values, codes, managed=claim is Claim.MANAGED),
                               f"recording {kind} {key} of {search_id}", wait_s=RECORD_WAIT_S)

    def _claim(self, search_id: str, kind: str, key: int, attempt: int, claimed_at: datetime) -> Claim:
        """Mark this attempt started, if it is the dispatch's current one and not preempted.

        A redelivery of the current attempt (its worker died) claims it again. An attempt
        preempted before any worker recorded it stopped is confirmed stopped here, so the
        optimizer can resume the run."""
        with Session(self.engine) as session:
            claimed = session.exec(update(Dispatch).where(  # type: ignore[call-overload]
                Dispatch.search_id == search_id, Dispatch.kind == kind, Dispatch.key == key, Dispatch.attempt == attempt,
                Dispatch.preempt == False,  # noqa: E712
            ).values(started_at=claimed_at, worker=self.name, stopped_at=None)).rowcount
            if claimed:
                session.commit()
                return Claim.MANAGED
            row = session.exec(select(Dispatch).where(Dispatch.search_id == search_id, Dispatch.kind == kind, Dispatch.key == key)).first()
            if row is None:
                return Claim.UNMANAGED
            if row.attempt == attempt and row.preempt and row.stopped_at is None:
                row.stopped_at = utcnow()
                session.add(row)
                session.commit()
            log.info("skipping %s %s of %s attempt %d: the current attempt is %d%s", kind, key, search_id, attempt, row.attempt,
                     " (preempted)" if row.preempt else "")
            return Claim.SKIP

    def _done_seconds(self, search_id: str, kind: str, key: int) -> float:
        """Search-time GPU-seconds earlier (preempted) segments of this task already did."""
        with Session(self.engine) as session:
            done = session.exec(select(func.coalesce(func.sum(WorkSegment.gpu_seconds), 0.0)).where(
                WorkSegment.search_id == search_id, WorkSegment.kind == kind, WorkSegment.key == key,
                WorkSegment.outcome == "preempted")).one()
        return float(done)

    # --- how a task runs: replayed (nb201) or for real (torch) ------------------------
    def _replay(self, ctx: SearchContext, cost: float, state: GpuState, control: TaskControl, values: object) -> tuple[Segment, object]:
        """Sleep `cost` search-time GPU-seconds on the replay clock, waking when told to stop."""
        assert ctx.clock is not None
        started_at = control.began_at  # from the claim: no GPU-second between claim and sleep goes uncharged
        start = ctx.clock.hours(started_at)
        real = ctx.clock.real_seconds(cost)
        if self.sleep is not None:
            self.sleep(real)
            woke = control.stopped.is_set()
        else:
            woke = control.wait(real)
        if woke:
            ended_at = utcnow()
            end, outcome = min(ctx.clock.hours(ended_at), start + cost / SECONDS_PER_HOUR), control.reason.value  # type: ignore[union-attr]
        else:
            end, outcome = start + cost / SECONDS_PER_HOUR, "finished"
            ended_at = ctx.clock.wall_at(end)
        segment = self._segment(ctx, state, outcome, started_at, ended_at, start, end)
        if outcome == StopReason.CUT.value:
            segment = self._cut_at_end(ctx, control, segment)
        return segment, values

    def _work(self, ctx: SearchContext, state: GpuState, control: TaskControl, work: Callable[[], object]) -> tuple[Segment, object]:
        """Run `work` now; an `Interrupted` run is a preempted or cut segment without values.

        A live search's segment is charged what the worker's meter measured over it (NVML
        on a GPU, RAPL on a CPU host), the power model x wall time where there is no
        counter; replay charges the model over the segment's search time."""
        from cenas.tasks.torch.train import Interrupted

        assert ctx.clock is not None
        measure = ctx.live and self.meter is not None and self.meter.source != "model"
        joules0 = self.meter.read_joules() if measure else 0.0  # type: ignore[union-attr]
        started_at = control.began_at  # the GPU is held from the claim on: preparing the run counts
        values: object = None
        try:
            values = work()
            outcome = "finished"
        except Interrupted:
            outcome = (control.reason or StopReason.CUT).value
        ended_at = utcnow()
        segment = self._segment(ctx, state, outcome, started_at, ended_at, ctx.clock.hours(started_at), ctx.clock.hours(ended_at))
        if measure:
            measured = (self.meter.read_joules() - joules0) / JOULES_PER_KWH  # type: ignore[union-attr]
            segment = replace(segment, energy_kwh=max(measured, 0.0), energy_source=self.meter.source)  # type: ignore[union-attr]
        if outcome == StopReason.CUT.value:
            segment = self._cut_at_end(ctx, control, segment)
        return segment, values

    def _segment(self, ctx: SearchContext, state: GpuState, outcome: str, started_at: datetime, ended_at: datetime,
                 start: float, end: float) -> Segment:
        end = max(end, start)
        return Segment(outcome, started_at, ended_at, start, end, ctx.power.energy_kwh(state, (end - start) * SECONDS_PER_HOUR), "model")

    @staticmethod
    def _cut_at_end(ctx: SearchContext, control: TaskControl, segment: Segment) -> Segment:
        """A segment that ran past its search's end: charged up to that end, without result.

        The end is the time budget even before anyone marked the search finished (an
        optimizer restarting across the budget's end marks it late): work past the budget
        never counts, whoever noticed first."""
        end = ctx.end_hours(control.search_ended_at if control.reason is StopReason.CUT else None)
        if segment.end_hours <= end:
            return segment  # it ended (or finished) before its search did
        kept = max(0.0, end - segment.start_hours)
        share = kept / (segment.end_hours - segment.start_hours)
        return Segment("cut", segment.started_at, segment.ended_at, segment.start_hours, segment.start_hours + kept,
                       segment.energy_kwh * share, segment.energy_source)

    def _runner(self, ctx: SearchContext) -> TorchRunner:
        runner = self._runners.get(ctx.search_id)
        if runner is None:
            if self.settings is None:
                raise RuntimeError(f"worker {self.name}: torch tasks need the worker's settings (checkpoint and dataset directories)")
            runner = self._runners[ctx.search_id] = TorchRunner(
                ctx.problem, self.settings.torch_checkpoint_dir(), ctx.search_id, cifar10_dir=self.settings.cifar10_dir,  # type: ignore[arg-type]
                cpu_threads=self.settings.torch_threads)
        return runner

    # --- recording --------------------------------------------------------------------
    def _record(self, ctx: SearchContext, kind: str, key: int, attempt: int, segment: Segment, values: object,
                codes: list[int] | None, *, managed: bool):
        """Write the segment, the dispatch's stop and (finished) the result in one
        transaction; the stored result, or None when there is none."""
        ctx = with_observed_signal(self.engine, ctx)  # live: every reading up to the segment's end
        carbon = ctx.carbon_g(segment.energy_kwh, segment.start_hours, segment.end_hours)
        with Session(self.engine) as session:
            session.add(WorkSegment(
                search_id=ctx.search_id, kind=kind, key=key, attempt=attempt, worker=self.name, outcome=segment.outcome,
                started_at=segment.started_at, ended_at=segment.ended_at, start_hours=segment.start_hours, end_hours=segment.end_hours,
                gpu_seconds=segment.gpu_seconds, energy_kwh=segment.energy_kwh, energy_source=segment.energy_source, carbon_g=carbon))
            if managed:
                session.exec(update(Dispatch).where(  # type: ignore[call-overload]
                    Dispatch.search_id == ctx.search_id, Dispatch.kind == kind, Dispatch.key == key, Dispatch.attempt == attempt,
                ).values(stopped_at=utcnow()))
            result = None
            if segment.outcome == "finished":
                result = self._result(session, ctx, kind, key, segment, carbon, values, codes)
                session.add(result)
            try:
                session.commit()
            except IntegrityError:  # a concurrent delivery of this attempt recorded it first
                session.rollback()
                return self._find_evaluation(ctx.search_id, key) if kind == "evaluate" else self._find_batch(ctx.search_id, key)
            if result is not None:
                session.refresh(result)
        if kind == "evaluate" and segment.outcome == "finished" and ctx.search_id in self._runners:
            self._runners[ctx.search_id].forget(key)  # the result is stored: its checkpoint is done with
        return result

    def _result(self, session: Session, ctx: SearchContext, kind: str, key: int, segment: Segment, carbon: float,
                values: object, codes: list[int] | None) -> Evaluation | SampleBatch:
        """The result row, charged with every segment of the task (this one included)."""
        earlier = session.exec(select(WorkSegment).where(WorkSegment.search_id == ctx.search_id, WorkSegment.kind == kind,
                                                         WorkSegment.key == key, WorkSegment.outcome == "preempted")).all()
        energy = segment.energy_kwh + sum(s.energy_kwh for s in earlier)
        grams = carbon + sum(s.carbon_g for s in earlier)
        seconds = segment.gpu_seconds + sum(s.gpu_seconds for s in earlier)
        first = min([segment.started_at, *(s.started_at for s in earlier)])
        if kind == "evaluate":
            return Evaluation(search_id=ctx.search_id, code=key, architecture=ctx.problem.space.arch_str(key), objectives=values,
                              gpu_seconds=seconds, energy_kwh=energy, energy_source=segment.energy_source, carbon_g=grams,
                              worker=self.name, started_at=first, finished_at=segment.ended_at)
        return SampleBatch(search_id=ctx.search_id, batch_id=key, codes=codes or [], predicted=values, gpu_seconds=seconds,
                           energy_kwh=energy, energy_source=segment.energy_source, carbon_g=grams, worker=self.name,
                           started_at=first, finished_at=segment.ended_at)

