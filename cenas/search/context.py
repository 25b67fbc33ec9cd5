"""Everything a process needs to act on one live search, derived from its stored spec.

The optimizer, the scheduler and the workers each build the same context from the same
database row, so they agree on the problem, the accounting, the carbon signal and the
search clock without exchanging them.

Replay: search hours are trace hours on an accelerated clock, the signal is the trace.
Live (`electricitymaps`, `watttime`): search hours are wall-clock hours since the search
started, decisions come every `carbon.interval_s`, and the signal is what the forecaster
observed from the provider (`cenas.db.readings.with_observed_signal` fills it in; a
context built here holds none yet).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np

from cenas.carbon.accounting import PowerModel, accounting_preset
from cenas.carbon.signal import CarbonSignal, StepSignal, TraceSignal
from cenas.carbon.traces import CarbonTrace, load_region
from cenas.clock import SearchClock
from cenas.spec import SearchSpec
from cenas.tasks.nb201 import NB201Problem
from cenas.tasks.torch import TorchProblem


@dataclass(frozen=True)
class SearchContext:
    search_id: str
    spec: SearchSpec
    problem: NB201Problem | TorchProblem
    power: PowerModel
    trace: CarbonTrace | None  # replay only
    first_index: int  # trace index of the search's first hour (replay)
    clock: SearchClock | None  # None until the search has started
    signal: CarbonSignal

    @property
    def live(self) -> bool:
        return self.spec.carbon.signal != "replay"

    @property
    def total_hours(self) -> float | None:
        return self.spec.budget.hours

    def intensity(self, hour: float) -> float:
        """Intensity in force at search hour `hour`."""
        return self.signal.at(max(hour, 0.0))

    def mean_intensity(self, start_hour: float, end_hour: float) -> float:
        """Time-weighted mean intensity over [start_hour, end_hour), over the signal's steps."""
        return self.signal.mean(start_hour, end_hour)

    def carbon_g(self, energy_kwh: float, start_hour: float, end_hour: float) -> float:
        return self.power.carbon_g(energy_kwh, self.mean_intensity(start_hour, end_hour))

    @property
    def interval_hours(self) -> float:
        """Search hours per scheduling interval: a trace hour in replay, `carbon.interval_s` live."""
        if self.live and self.spec.carbon.interval_s is not None:
            return self.spec.carbon.interval_s / 3600.0
        return 1.0

    def with_signal(self, signal: CarbonSignal) -> SearchContext:
        return replace(self, signal=signal)

    def end_hours(self, finished_at: datetime | None) -> float:
        """Where a search that finished at ``finished_at`` ended, in search hours: its time
        budget, or earlier when a carbon cap or its owner stopped it (inf: not ended)."""
        end = self.spec.budget.hours if self.spec.budget.hours is not None else float("inf")
        if finished_at is not None and self.clock is not None:
            end = min(end, self.clock.hours(finished_at))
        return end


def build_context(search_id: str, spec: SearchSpec | dict, started_at: datetime | None) -> SearchContext:
    spec = spec if isinstance(spec, SearchSpec) else SearchSpec.model_validate(spec)
    task = spec.task
    if task.kind == "torch":
        problem: NB201Problem | TorchProblem = TorchProblem(task.dataset, task.space, tuple(o.name for o in task.objectives), task.epochs)
    else:
        problem = NB201Problem(dataset=task.dataset, metric=task.objectives[1].name)
    power = accounting_preset(spec.accounting)
    if spec.carbon.signal != "replay":  # wall-clock hours from the start; the observed signal comes later
        clock = SearchClock(started_at, started_at, 3600.0) if started_at else None
        return SearchContext(search_id, spec, problem, power, None, 0, clock, StepSignal((), ()))
    if spec.carbon.trace is not None:
        points = spec.carbon.trace
        trace = CarbonTrace(spec.carbon.region, points[0].timestamp, np.array([p.carbon_intensity for p in points]))
    else:
        trace = load_region(spec.carbon.region)
    start = spec.carbon.start or trace.start
    first = trace.index_of(start)
    clock = SearchClock(start, started_at, spec.carbon.seconds_per_hour) if started_at else None
    return SearchContext(search_id, spec, problem, power, trace, first, clock, TraceSignal(trace, first))
