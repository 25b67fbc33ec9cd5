"""Everything a process needs to act on one live search, derived from its stored spec.

The optimizer, the scheduler and the workers each build the same context from the same
database row, so they agree on the problem, the accounting, the carbon trace and the
trace clock without exchanging them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from cenas.carbon.accounting import PowerModel, accounting_preset
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
    trace: CarbonTrace
    first_index: int  # trace index of the search's first hour
    clock: SearchClock | None  # None until the search has started

    @property
    def total_hours(self) -> float | None:
        return self.spec.budget.hours

    def intensity(self, hour: float) -> float:
        """Intensity during trace hour `hour` (hours since the search started)."""
        index = min(self.first_index + int(np.floor(max(hour, 0.0))), len(self.trace) - 1)
        return float(self.trace.values[index])

    def mean_intensity(self, start_hour: float, end_hour: float) -> float:
        """Time-weighted mean intensity over [start_hour, end_hour) of the search's trace."""
        if end_hour <= start_hour:
            return self.intensity(start_hour)
        edges = np.arange(np.floor(start_hour), np.ceil(end_hour) + 1)
        lo = np.clip(edges[:-1], start_hour, end_hour)
        hi = np.clip(edges[1:], start_hour, end_hour)
        values = [self.intensity(h) for h in edges[:-1]]
        return float(np.dot(hi - lo, values) / (end_hour - start_hour))

    def carbon_g(self, energy_kwh: float, start_hour: float, end_hour: float) -> float:
        return self.power.carbon_g(energy_kwh, self.mean_intensity(start_hour, end_hour))


def build_context(search_id: str, spec: SearchSpec | dict, started_at: datetime | None) -> SearchContext:
    spec = spec if isinstance(spec, SearchSpec) else SearchSpec.model_validate(spec)
    if spec.carbon.signal != "replay":  # refused, not silently replayed from the bundled trace
        raise ValueError(f"carbon.signal {spec.carbon.signal!r}: live signals are not run by the runtime yet "
                         "(the forecaster publishes them); use signal 'replay'")
    task = spec.task
    if task.kind == "torch":
        problem: NB201Problem | TorchProblem = TorchProblem(task.dataset, task.space, tuple(o.name for o in task.objectives), task.epochs)
    else:
        problem = NB201Problem(dataset=task.dataset, metric=task.objectives[1].name)
    if spec.carbon.trace is not None:
        points = spec.carbon.trace
        trace = CarbonTrace(spec.carbon.region, points[0].timestamp, np.array([p.carbon_intensity for p in points]))
    else:
        trace = load_region(spec.carbon.region)
    start = spec.carbon.start or trace.start
    first = trace.index_of(start)
    clock = SearchClock(start, started_at, spec.carbon.seconds_per_hour) if started_at else None
    return SearchContext(search_id, spec, problem, accounting_preset(spec.accounting), trace, first, clock)
