"""What a GPU worker does for each task, and how it records the result exactly once.

Tasks of kind `nb201` are replayed: the worker sleeps the table's GPU-seconds scaled by
the search's replay clock, and charges the power model for those GPU-seconds (a sleeping
CPU's measured energy would say nothing about the GPU it stands in for). The `torch` task
will measure with the worker's energy meter instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timezone

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from cenas.bus import Publisher
from cenas.carbon.accounting import JOULES_PER_KWH
from cenas.contracts import EvaluationCompleted, SampleCompleted
from cenas.db.searches import Evaluation, SampleBatch, Search
from cenas.search.context import SearchContext, build_context

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class WorkerRuntime:
    """State one worker process keeps: its name, the database, the bus, search contexts."""

    def __init__(self, name: str, engine: Engine, publisher: Publisher, sleep: Callable[[float], None] = time.sleep) -> None:
        self.name = name
        self.engine = engine
        self.publisher = publisher
        self.sleep = sleep
        self._contexts: dict[str, SearchContext] = {}

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
        assert ctx.clock is not None
        cost = float(ctx.problem.evaluation_cost_s(np.array([code]))[0])
        started_at = utcnow()
        start_hour = ctx.clock.hours(started_at)
        self.sleep(ctx.clock.real_seconds(cost))
        energy_kwh = ctx.power.evaluation_w * cost / JOULES_PER_KWH
        raw = ctx.problem.raw_values(np.array([code]))[0]
        record = Evaluation(
            search_id=ctx.search_id, code=code, architecture=ctx.problem.space.arch_str(code),
            objectives={o.name: float(v) for o, v in zip(ctx.problem.objectives, raw)},
            gpu_seconds=cost, energy_kwh=energy_kwh, energy_source="model",
            carbon_g=ctx.carbon_g(energy_kwh, start_hour, start_hour + cost / 3600.0),
            worker=self.name, started_at=started_at, finished_at=utcnow(),
        )
        return self._insert_once(record, lambda: self._find_evaluation(ctx.search_id, code))

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
        assert ctx.clock is not None
        cost = ctx.problem.sampling_cost_s * len(codes)
        start_hour = ctx.clock.hours()
        self.sleep(ctx.clock.real_seconds(cost))
        energy_kwh = ctx.power.sampling_w * cost / JOULES_PER_KWH
        predicted = ctx.problem.estimated_values(np.array(codes, dtype=np.int64)).tolist()
        record = SampleBatch(
            search_id=ctx.search_id, batch_id=batch_id, codes=codes, predicted=predicted, gpu_seconds=cost,
            energy_kwh=energy_kwh, energy_source="model",
            carbon_g=ctx.carbon_g(energy_kwh, start_hour, start_hour + cost / 3600.0), worker=self.name,
        )
        return self._insert_once(record, lambda: self._find_batch(ctx.search_id, batch_id))

    def _find_batch(self, search_id: str, batch_id: int) -> SampleBatch | None:
        with Session(self.engine) as session:
            return session.exec(select(SampleBatch).where(SampleBatch.search_id == search_id, SampleBatch.batch_id == batch_id)).first()

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

