"""What a GPU worker does for each task, and how it records the result exactly once.

Tasks of kind `nb201` are replayed: the worker sleeps the table's GPU-seconds scaled by
the search's replay clock, and charges the power model for those GPU-seconds (a sleeping
CPU's measured energy would say nothing about the GPU it stands in for).

Tasks of kind `torch` run for real (`cenas.tasks.torch.TorchRunner`): evaluation trains
the architecture from scratch on the worker's device (resuming its per-epoch checkpoint
after a redelivery), sampling scores candidates with the search's cached supernet. Their
energy is what the worker's meter (NVML, else RAPL) read over the task's wall time, with
that source recorded; without a hardware meter, the search's power model x wall time
(`model`). Carbon: that energy at the trace hours the task spanned.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from cenas.bus import Publisher
from cenas.carbon.accounting import JOULES_PER_KWH, GpuState
from cenas.contracts import EvaluationCompleted, SampleCompleted
from cenas.db.searches import Evaluation, SampleBatch, Search
from cenas.search.context import SearchContext, build_context
from cenas.settings import Settings
from cenas.tasks.torch import TorchRunner
from worker.energy import EnergyMeter, ModelMeter, Stopwatch

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Measured:
    """What a task produced and what it cost."""

    values: object  # objectives by name (evaluation) or predicted rows (sample)
    gpu_seconds: float
    energy_kwh: float
    energy_source: str
    hours: tuple[float, float]  # trace hours the task spanned


class WorkerRuntime:
    """State one worker process keeps: its name, the database, the bus, search contexts."""

    def __init__(self, name: str, engine: Engine, publisher: Publisher, sleep: Callable[[float], None] = time.sleep, *,
                 settings: Settings | None = None, meter: EnergyMeter | None = None) -> None:
        self.name = name
        self.engine = engine
        self.publisher = publisher
        self.sleep = sleep
        self.settings = settings  # needed by torch tasks (checkpoint and dataset directories)
        self.meter = meter  # the worker's hardware meter; None or `model`: the search's power model
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
    def evaluate(self, search_id: str, code: int) -> None:
        existing = self._once(search_id, lambda: self._find_evaluation(search_id, code), lambda ctx: self._run_evaluation(ctx, code))
        if existing is None:
            return
        self.publisher.publish(EvaluationCompleted(
            search_id=search_id, code=code, objectives=existing.objectives,
            gpu_seconds=existing.gpu_seconds, energy_kwh=existing.energy_kwh, carbon_g=existing.carbon_g, worker=existing.worker,
        ))

    def _run_evaluation(self, ctx: SearchContext, code: int) -> Evaluation:
        started_at = utcnow()
        if ctx.spec.task.kind == "torch":
            runner = self._runner(ctx)
            done = self._metered(ctx, GpuState.EVALUATION, lambda: runner.evaluate(code)[0])
        else:
            raw = ctx.problem.raw_values(np.array([code]))[0]
            objectives = {o.name: float(v) for o, v in zip(ctx.problem.objectives, raw)}
            done = self._replay(ctx, float(ctx.problem.evaluation_cost_s(np.array([code]))[0]), ctx.power.evaluation_w, objectives)
        record = Evaluation(
            search_id=ctx.search_id, code=code, architecture=ctx.problem.space.arch_str(code), objectives=done.values,
            gpu_seconds=done.gpu_seconds, energy_kwh=done.energy_kwh, energy_source=done.energy_source,
            carbon_g=ctx.carbon_g(done.energy_kwh, *done.hours), worker=self.name, started_at=started_at, finished_at=utcnow(),
        )
        stored = self._insert_once(record, lambda: self._find_evaluation(ctx.search_id, code))
        if ctx.search_id in self._runners:
            self._runners[ctx.search_id].forget(code)  # the result is stored: its checkpoint is done with
        return stored

    def _find_evaluation(self, search_id: str, code: int) -> Evaluation | None:
        with Session(self.engine) as session:
            return session.exec(select(Evaluation).where(Evaluation.search_id == search_id, Evaluation.code == code)).first()

    # --- sample ---------------------------------------------------------------------
    def sample(self, search_id: str, batch_id: int, codes: list[int]) -> None:
        existing = self._once(search_id, lambda: self._find_batch(search_id, batch_id), lambda ctx: self._run_sample(ctx, batch_id, codes))
        if existing is None:
            return
        self.publisher.publish(SampleCompleted(
            search_id=search_id, batch_id=batch_id, codes=existing.codes, predicted=existing.predicted,
            gpu_seconds=existing.gpu_seconds, energy_kwh=existing.energy_kwh, worker=existing.worker,
        ))

    def _run_sample(self, ctx: SearchContext, batch_id: int, codes: list[int]) -> SampleBatch:
        if ctx.spec.task.kind == "torch":
            runner = self._runner(ctx)
            done = self._metered(ctx, GpuState.SAMPLING, lambda: [ctx.problem.maximised(m) for m in runner.sample(codes)])
        else:
            predicted = ctx.problem.estimated_values(np.array(codes, dtype=np.int64)).tolist()
            done = self._replay(ctx, ctx.problem.sampling_cost_s * len(codes), ctx.power.sampling_w, predicted)
        record = SampleBatch(
            search_id=ctx.search_id, batch_id=batch_id, codes=codes, predicted=done.values, gpu_seconds=done.gpu_seconds,
            energy_kwh=done.energy_kwh, energy_source=done.energy_source,
            carbon_g=ctx.carbon_g(done.energy_kwh, *done.hours), worker=self.name,
        )
        return self._insert_once(record, lambda: self._find_batch(ctx.search_id, batch_id))

    def _find_batch(self, search_id: str, batch_id: int) -> SampleBatch | None:
        with Session(self.engine) as session:
            return session.exec(select(SampleBatch).where(SampleBatch.search_id == search_id, SampleBatch.batch_id == batch_id)).first()

    # --- how a task runs: replayed (nb201) or for real (torch) ------------------------
    def _replay(self, ctx: SearchContext, cost: float, watts: float, values: object) -> Measured:
        """Sleep `cost` table GPU-seconds on the replay clock; charge `watts` for them."""
        assert ctx.clock is not None
        start = ctx.clock.hours()
        self.sleep(ctx.clock.real_seconds(cost))
        return Measured(values, cost, watts * cost / JOULES_PER_KWH, "model", (start, start + cost / 3600.0))

    def _metered(self, ctx: SearchContext, state: GpuState, work: Callable[[], object]) -> Measured:
        """Run `work` now, metering its wall time and energy."""
        assert ctx.clock is not None
        meter = self.meter if self.meter is not None and self.meter.source != "model" else ModelMeter(ctx.power, state)
        start = ctx.clock.hours()
        with Stopwatch(meter) as watch:
            values = work()
        assert watch.reading is not None
        reading = watch.reading
        return Measured(values, reading.seconds, reading.joules / JOULES_PER_KWH, reading.source, (start, ctx.clock.hours()))

    def _runner(self, ctx: SearchContext) -> TorchRunner:
        runner = self._runners.get(ctx.search_id)
        if runner is None:
            if self.settings is None:
                raise RuntimeError(f"worker {self.name}: torch tasks need the worker's settings (checkpoint and dataset directories)")
            runner = self._runners[ctx.search_id] = TorchRunner(
                ctx.problem, self.settings.torch_checkpoint_dir(), ctx.search_id, cifar10_dir=self.settings.cifar10_dir,  # type: ignore[arg-type]
                cpu_threads=self.settings.torch_threads)
        return runner

    # --- shared ---------------------------------------------------------------------
    def _once(self, search_id: str, find, run):
        """The stored result, else run the task and store it; None if the search is not running."""
        existing = find()
        if existing is not None:
            return existing
        ctx = self.context(search_id)
        if ctx is None:
            log.info("dropping a task of search %s: it is not running", search_id)
            return None
        return run(ctx)

    def _insert_once(self, record, find):
        """Insert `record`; if a concurrent run already did, return the stored row instead."""
        with Session(self.engine) as session:
            session.add(record)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                stored = find()
                if stored is None:
                    raise
                return stored
            session.refresh(record)
            return record

