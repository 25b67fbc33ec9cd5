"""A search's carbon signal as a function of search hours: a replayed trace, or the live
readings a search observed, held as a step function.

Both answer the same three questions, so accounting, scheduling and the simulator do
not care where the numbers came from: the intensity at an instant, the time-weighted
mean over a span (what a task's energy is multiplied by: integrated over the signal's
steps, never one number per task), and the trailing values a policy observes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cenas.carbon.traces import CarbonTrace


class CarbonSignal(ABC):
    @abstractmethod
    def at(self, hour: float) -> float:
        """gCO2eq/kWh in force at ``hour`` (search hours since the search started)."""

    @abstractmethod
    def mean(self, start_hour: float, end_hour: float) -> float:
        """Time-weighted mean over ``[start_hour, end_hour)`` (``at(start)`` when empty)."""

    def trailing(self, hour: float, count: int, step_hours: float) -> np.ndarray:
        """``count`` values, one per ``step_hours``, ending with the one in force at ``hour``."""
        return np.array([self.at(hour - k * step_hours) for k in range(count - 1, -1, -1)], dtype=float)


@dataclass(frozen=True)
class TraceSignal(CarbonSignal):
    """Hour ``h`` of the search is trace hour ``first_index + floor(h)`` (clamped to the trace)."""

    trace: CarbonTrace
    first_index: int

    def at(self, hour: float) -> float:
        index = min(max(self.first_index + int(np.floor(hour)), 0), len(self.trace) - 1)
        return float(self.trace.values[index])

    def mean(self, start_hour: float, end_hour: float) -> float:
        if end_hour <= start_hour:
            return self.at(start_hour)
        edges = np.arange(np.floor(start_hour), np.ceil(end_hour) + 1)
        lo = np.clip(edges[:-1], start_hour, end_hour)
        hi = np.clip(edges[1:], start_hour, end_hour)
        values = [self.at(h) for h in edges[:-1]]
        return float(np.dot(hi - lo, values) / (end_hour - start_hour))

    def trailing(self, hour: float, count: int, step_hours: float = 1.0) -> np.ndarray:
        if step_hours != 1.0:
            return super().trailing(hour, count, step_hours)
        first = self.first_index + int(np.floor(hour))
        return np.asarray(self.trace.values[max(0, first - count + 1) : first + 1], dtype=float)


@dataclass(frozen=True)
class StepSignal(CarbonSignal):
    """Observed values: ``values[i]`` holds from ``hours[i]`` until the next step (the last
    one until further notice: a provider outage keeps the last good value in force).
    Before the first step the first value holds. ``hours`` ascend."""

    hours: tuple[float, ...]
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.hours) != len(self.values):
            raise ValueError("a step signal needs one value per step")
        if any(b < a for a, b in zip(self.hours, self.hours[1:])):
            raise ValueError("step times must ascend")

    @classmethod
    def of(cls, steps: Sequence[tuple[float, float]]) -> StepSignal:
        ordered = sorted(steps, key=lambda s: s[0])
        return cls(tuple(float(h) for h, _ in ordered), tuple(float(v) for _, v in ordered))

    def __bool__(self) -> bool:
        return bool(self.values)

    def at(self, hour: float) -> float:
        if not self.values:
            raise LookupError("no carbon reading observed yet")
        return self.values[max(bisect_right(self.hours, hour) - 1, 0)]

    def mean(self, start_hour: float, end_hour: float) -> float:
        if end_hour <= start_hour:
            return self.at(start_hour)
        first = max(bisect_right(self.hours, start_hour) - 1, 0)
        last = bisect_right(self.hours, end_hour)
        cuts = [start_hour, *(h for h in self.hours[first + 1 : last] if start_hour < h < end_hour), end_hour]
        total = sum((b - a) * self.at(a) for a, b in zip(cuts, cuts[1:]))
        return total / (end_hour - start_hour)
