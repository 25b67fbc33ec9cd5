"""The scheduler service (`python -m scheduler_svc`): one decision per search per interval.

At the start of each trace hour of each running search it builds the same Observation the
simulator gives policies (progress from the database, the hour's intensity, the trailing
24 hours, the region's newest forecast issued at or before the search's trace hour when
one is fresh), runs the search's policy, persists the decision and publishes
`schedule.decision.<search>`. Decisions are idempotent per interval: the (search,
interval) row is unique and a decision that exists is only re-published. When the policy
cannot be loaded the heuristic decides and the decision says why (`fallback`); without a
fresh forecast the policies plan with persistence (the decision's `forecast` is empty).

Live searches decide every `carbon.interval_s` of wall time on the signal the forecaster
observed and the zone's newest live forecast. A decision taken while the source's last
poll failed, or no good reading came for a whole interval, is marked `stale` (it is made
on the last good value and the forecast); once `live_fallback_intervals` intervals pass
without a good reading, the safe policy decides instead (one GPU evaluates the best
queued candidate, the others sample: progress goes on without betting on a signal
nobody sees), and the decision's `fallback` says so. A good reading ends both.
"""

from __future__ import annotations

import logging
import math
import time
from datetime import timedelta

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from cenas.bus import Publisher
from cenas.clock import utcnow
from cenas.contracts import ScheduleDecision
from cenas.db.forecasts import forecast_as_of
from cenas.db.readings import source, staleness_s, with_observed_signal
from cenas.db.searches import Decision, Dispatch, SampleBatch, Search, SearchStatus
from cenas.errors import CenasError
from cenas.search.context import SearchContext, build_context
from scheduler_svc.simulator.allocation import Allocation, EpisodeContext, Observation
from scheduler_svc.simulator.engine import HISTORY_HOURS, SimulationConfig
from scheduler_svc.simulator.forecasts import Forecast, decision_forecast
import scheduler_svc.rl  # noqa: F401  (registers rl, mpc and oracle)
from scheduler_svc.simulator.policies import AllocationPolicy, HeuristicPolicy, make_policy

log = logging.getLogger(__name__)
#: the optimizer's evaluation queue holds at most this many screened candidates (as the simulator's)
QUEUE_CAPACITY = SimulationConfig().queue_capacity
#: a forecast older than this (trace time) does not count as fresh
FORECAST_MAX_AGE = timedelta(hours=2)


def safe_allocation(gpus: int) -> Allocation:
    """What a live search does while its carbon signal is unknown: one GPU evaluates, the rest sample."""
    evaluation = min(1, gpus)
    return Allocation(evaluation=evaluation, sampling=gpus - evaluation, idle=0)


class SchedulerService:
    def __init__(self, engine: Engine, publisher: Publisher, *, fallback_after_intervals: int = 3) -> None:
        self.engine = engine
        self.publisher = publisher
        self.fallback_after_intervals = fallback_after_intervals
        self._policies: dict[str, tuple[AllocationPolicy, str | None]] = {}
        self._contexts: dict[str, SearchContext] = {}

    def _policy(self, ctx: SearchContext) -> tuple[AllocationPolicy, str | None]:
        if ctx.search_id not in self._policies:
            episode = EpisodeContext(ctx.spec.gpus, self._budget_intervals(ctx) or math.ceil(24 * 365 / ctx.interval_hours),
                                     ctx.spec.budget.carbon_g,
                                     ctx.problem.max_hypervolume, ctx.spec.optimizer.seed, ctx.power)
            fallback = None
            try:
                policy = make_policy(ctx.spec.policy)
                policy.reset(episode)
            except CenasError as exc:
                fallback = f"policy {ctx.spec.policy} unavailable ({exc}); heuristic used"
                policy = HeuristicPolicy()
                policy.reset(episode)
            self._policies[ctx.search_id] = (policy, fallback)
        return self._policies[ctx.search_id]

    def tick(self) -> int:
        """Decide, for every running search, the interval under way when the tick began, unless
        it has its decision; returns decisions made. (Taking the hour at the tick's start
        matters for a new search: building its context takes seconds, and measured after that
        its hour 0 could already be over, leaving it without a first decision.)"""
        began = utcnow()
        made = 0
        with Session(self.engine) as session:
            running = session.exec(select(Search).where(Search.status == SearchStatus.RUNNING)).all()
        live = {s.id for s in running}
        for key in [k for k in self._policies if k not in live]:
            self._policies.pop(key, None)
            self._contexts.pop(key, None)
        for search in running:
            ctx = self._contexts.get(search.id)
            if ctx is None:
                ctx = self._contexts[search.id] = build_context(search.id, search.spec, search.started_at)
            assert ctx.clock is not None
            interval = int(ctx.clock.hours(began) / ctx.interval_hours + 1e-9)
            if ctx.spec.budget.hours is not None and interval * ctx.interval_hours >= ctx.spec.budget.hours - 1e-9:
                continue
            if self._decided(search.id, interval):
                continue
            try:
                self._decide(ctx, search, interval)
                made += 1
            except Exception:  # one search's failure must not stop the others' decisions
                log.exception("search %s: no decision for interval %d this tick", search.id, interval)
        return made

    def _decided(self, search_id: str, interval: int) -> bool:
        with Session(self.engine) as session:
            return session.exec(select(Decision.id).where(Decision.search_id == search_id, Decision.interval == interval)).first() is not None

    @staticmethod
    def _budget_intervals(ctx: SearchContext) -> int | None:
        """The time budget in decision intervals (the policies' episode length); None: no time budget."""
        if ctx.spec.budget.hours is None:
            return None
        return math.ceil(ctx.spec.budget.hours / ctx.interval_hours - 1e-9)

    def observe(self, ctx: SearchContext, search: Search, interval: int) -> Observation:
        hour = interval * ctx.interval_hours
        history = ctx.signal.trailing(hour, HISTORY_HOURS, ctx.interval_hours)
        max_hv = ctx.problem.max_hypervolume
        queued, carried = self._queue_state(search.id)
        forecast = self._forecast(ctx, interval)
        return Observation(
            hour=interval, hours_total=self._budget_intervals(ctx) or interval + 1,
            gpus=ctx.spec.gpus, intensity=ctx.intensity(hour), intensity_history=np.asarray(history),
            forecast=None if forecast is None else forecast.mean, forecast_std=None if forecast is None else forecast.std,
            hypervolume_fraction=search.hypervolume / max_hv,
            hypervolume_gain=(search.hypervolume / max_hv) - self._previous_fraction(search.id, interval),
            evaluations=search.evaluations, queued=queued, carried=carried, carbon_g=search.carbon_g, energy_kwh=search.energy_kwh,
            carbon_cap_g=ctx.spec.budget.carbon_g,
        )

    def _previous_fraction(self, search_id: str, interval: int) -> float:
        """The hypervolume fraction the previous interval's decision saw (0 before the first):
        the simulator's `hypervolume_gain` is the gain over the last interval, and reading it
        from the stored decision keeps it right across a restart of this service."""
        with Session(self.engine) as session:
            previous = session.exec(select(Decision.inputs).where(Decision.search_id == search_id, Decision.interval == interval - 1)).first()
        return float((previous or {}).get("hypervolume_fraction") or 0.0)

    def _queue_state(self, search_id: str) -> tuple[int, int]:
        """(queued, carried) as the simulator's observation has them, from the database: the
        screened candidates not yet sent to evaluation (the optimizer keeps at most
        `QUEUE_CAPACITY` of them), and the evaluations in flight (they carry on into the hour)."""
        with Session(self.engine) as session:
            batches = session.exec(select(SampleBatch.codes).where(SampleBatch.search_id == search_id)).all()
            sent = session.exec(select(Dispatch.key, Dispatch.done).where(Dispatch.search_id == search_id,
                                                                           Dispatch.kind == "evaluate")).all()
        screened = {int(code) for codes in batches for code in codes}
        waiting = screened - {int(key) for key, _ in sent}
        return min(len(waiting), QUEUE_CAPACITY), sum(1 for _, done in sent if not done)

    def _forecast(self, ctx: SearchContext, interval: int) -> Forecast | None:
        """The region's forecast as of the search's trace hour (the forecaster issues one at
        every running replay search's hour) for the hours after it, as the simulator's
        sources give it (`decision_forecast`), or None when there is no fresh one."""
        if ctx.live:
            assert ctx.clock is not None
            now = ctx.clock.wall_at(interval * ctx.interval_hours)
            record = forecast_as_of(self.engine, region=ctx.spec.carbon.region, instant=now, max_age=FORECAST_MAX_AGE,
                                    signal=ctx.spec.carbon.signal)
            if record is None or not record.points:
                return None
            return decision_forecast(record.points, now, step_hours=ctx.interval_hours)
        assert ctx.trace is not None
        now = ctx.trace.start + timedelta(hours=ctx.first_index + interval)
        record = forecast_as_of(self.engine, region=ctx.spec.carbon.region, instant=now, max_age=FORECAST_MAX_AGE)
        if record is None or not record.points:
            return None
        return decision_forecast(record.points, now)

    def signal_state(self, ctx: SearchContext) -> tuple[bool, float | None, str | None]:
        """(stale, seconds since the last good reading, fallback reason) of a live search's signal."""
        if not ctx.live:
            return False, None, None
        src = source(self.engine, ctx.spec.carbon.signal, ctx.spec.carbon.region)
        age = staleness_s(src)
        interval_s = ctx.interval_hours * 3600.0
        stale = src is None or src.state != "ok" or age is None or age > interval_s
        if age is not None and age > self.fallback_after_intervals * interval_s:
            return True, age, (f"carbon signal {ctx.spec.carbon.signal} {ctx.spec.carbon.region} stale for {age:.0f} s "
                               f"({src.error if src and src.error else 'no new reading'}); safe policy used")
        return stale, age, None

    def _decide(self, ctx: SearchContext, search: Search, interval: int) -> None:
        if ctx.live:
            ctx = self._contexts[search.id] = with_observed_signal(self.engine, ctx)
        policy, fallback = self._policy(ctx)
        stale, age, unsafe = self.signal_state(ctx)
        observation = self.observe(ctx, search, interval)
        allocation = policy.decide(observation)
        if unsafe is not None:
            allocation, fallback = safe_allocation(ctx.spec.gpus), unsafe
        assert ctx.clock is not None
        inputs = {"hypervolume_fraction": observation.hypervolume_fraction, "evaluations": observation.evaluations,
                  "carbon_g": observation.carbon_g, "hour": interval * ctx.interval_hours}
        if ctx.live:
            inputs["signal_age_s"] = age
        if unsafe is None:
            inputs |= policy.explain()
        row = Decision(
            search_id=search.id, interval=interval, valid_from=ctx.clock.wall_at(interval * ctx.interval_hours),
            gpus_evaluation=allocation.evaluation, gpus_sampling=allocation.sampling, gpus_idle=allocation.idle,
            policy=policy.name, fallback=fallback, intensity=observation.intensity, stale=stale,
            forecast=[] if observation.forecast is None else [float(v) for v in observation.forecast],
            inputs=inputs,
        )
        with Session(self.engine) as session:
            session.add(row)
            try:
                session.commit()
            except IntegrityError:  # another scheduler instance decided first: publish theirs
                session.rollback()
                row = session.exec(select(Decision).where(Decision.search_id == search.id, Decision.interval == interval)).one()
            session.refresh(row)
        self.publisher.publish(ScheduleDecision(
            # the clock's instant, not the row's: SQLite hands datetimes back without a zone
            search_id=row.search_id, interval=row.interval, valid_from=ctx.clock.wall_at(row.interval * ctx.interval_hours),
            gpus_evaluation=row.gpus_evaluation, gpus_sampling=row.gpus_sampling, gpus_idle=row.gpus_idle, policy=row.policy,
            fallback=row.fallback, intensity=row.intensity, forecast=row.forecast, inputs=row.inputs, stale=row.stale,
        ))
        log.info("search %s interval %d: %d eval / %d sample / %d idle (%s%s)", search.id[:8], interval, row.gpus_evaluation,
                 row.gpus_sampling, row.gpus_idle, row.policy, ", fallback" if row.fallback else "")


def warm_up() -> None:
    """Load what a search's first decision needs (the NB201 table and its default problem's
    maximum hypervolume, the shipped PPO models) before the service says it is ready, so
    that first decision is not late by the seconds they take. Failures only cost speed."""
    from cenas.tasks.nb201 import NB201Problem
    from scheduler_svc.rl.policy import SHIPPED_POLICY_PATHS, load_model

    try:
        NB201Problem().max_hypervolume
        for path in SHIPPED_POLICY_PATHS:
            load_model(path)
    except Exception:  # the first decision will pay for it, or fall back to the heuristic
        log.exception("warm-up failed; continuing")


def run(settings=None, should_stop=lambda: False) -> None:
    from cenas.bus import connect_from
    from cenas.db import SERVICE_START_WAIT_S, make_engine
    from cenas.readiness import mark_ready
    from cenas.settings import Settings

    settings = settings or Settings()
    service = SchedulerService(make_engine(settings, wait_s=SERVICE_START_WAIT_S), Publisher(connection=connect_from(settings)),
                               fallback_after_intervals=settings.live_fallback_intervals)
    warm_up()
    mark_ready(settings, "scheduler_svc")
    while not should_stop():
        try:
            service.tick()
        except Exception:  # e.g. the database briefly unreachable: retry next tick
            log.exception("scheduler tick failed; retrying")
        time.sleep(settings.tick_seconds)
