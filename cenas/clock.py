"""Clocks: wall time, or a replay clock where one trace hour lasts N real seconds.

Every service asks a :class:`Clock` for "now" and sleeps through it, so demos and tests
can run a day of trace time in seconds. Clocks are thread-safe (they hold no mutable
state besides what is set at construction, except :class:`ManualClock`).
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from datetime import datetime, timedelta, timezone
from typing import Callable


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Clock(ABC):
    @abstractmethod
    def now(self) -> datetime:
        """Current time (UTC, aware) on this clock."""

    @abstractmethod
    def sleep(self, duration: timedelta) -> None:
        """Block for ``duration`` of this clock's time."""

    def to_real_seconds(self, duration: timedelta) -> float:
        """How many real seconds ``duration`` of this clock's time takes."""
        return duration.total_seconds()

    def wait(self, duration: timedelta, stop: threading.Event) -> bool:
        """Sleep ``duration`` of clock time, waking early when ``stop`` is set; returns
        whether ``stop`` is set."""
        return stop.wait(max(0.0, self.to_real_seconds(duration)))


class WallClock(Clock):
    def now(self) -> datetime:
        return utcnow()

    def sleep(self, duration: timedelta) -> None:
        time.sleep(max(0.0, duration.total_seconds()))


class ReplayClock(Clock):
    """Trace time that starts at ``start`` and runs ``3600 / seconds_per_hour`` times faster.

    ``monotonic`` is injectable for tests.
    """

    def __init__(self, start: datetime, seconds_per_hour: float,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if seconds_per_hour <= 0:
            raise ValueError(f"seconds_per_hour must be > 0, got {seconds_per_hour!r}")
        self.start = start if start.tzinfo else start.replace(tzinfo=timezone.utc)
        self.seconds_per_hour = float(seconds_per_hour)
        self._monotonic = monotonic
        self._t0 = monotonic()

    def now(self) -> datetime:
        elapsed = self._monotonic() - self._t0
        return self.start + timedelta(hours=elapsed / self.seconds_per_hour)

    def to_real_seconds(self, duration: timedelta) -> float:
        return duration.total_seconds() / 3600.0 * self.seconds_per_hour

    def sleep(self, duration: timedelta) -> None:
        time.sleep(max(0.0, self.to_real_seconds(duration)))


class ManualClock(Clock):
    """A clock that moves only when told (tests); ``sleep`` advances it instantly."""

    def __init__(self, start: datetime) -> None:
        self._now = start if start.tzinfo else start.replace(tzinfo=timezone.utc)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, duration: timedelta) -> None:
        with self._lock:
            self._now += duration

    def sleep(self, duration: timedelta) -> None:
        self.advance(duration)

    def to_real_seconds(self, duration: timedelta) -> float:
        return 0.0

    def wait(self, duration: timedelta, stop: threading.Event) -> bool:
        self.advance(duration)
        return stop.is_set()


class SearchClock:
    """A running search's trace time, identical in every process and on every host.

    Anchored at the wall-clock instant the search started (stored in the database), so
    the optimizer, the scheduler and the workers agree on which trace hour it is without
    talking to each other: trace hours elapsed = wall seconds since start / seconds_per_hour.
    """

    def __init__(self, trace_start: datetime, started_at: datetime, seconds_per_hour: float) -> None:
        if seconds_per_hour <= 0:
            raise ValueError(f"seconds_per_hour must be > 0, got {seconds_per_hour!r}")
        self.trace_start = trace_start if trace_start.tzinfo else trace_start.replace(tzinfo=timezone.utc)
        self.started_at = started_at if started_at.tzinfo else started_at.replace(tzinfo=timezone.utc)
        self.seconds_per_hour = float(seconds_per_hour)

    def hours(self, at: datetime | None = None) -> float:
        """Trace hours elapsed since the search started."""
        return max(0.0, ((at or utcnow()) - self.started_at).total_seconds() / self.seconds_per_hour)

    def wall_at(self, hours: float) -> datetime:
        """The wall-clock instant at which `hours` trace hours will have elapsed."""
        return self.started_at + timedelta(seconds=hours * self.seconds_per_hour)

    def real_seconds(self, gpu_seconds: float) -> float:
        """Wall seconds that `gpu_seconds` of trace time take (a replayed task's sleep)."""
        return gpu_seconds / 3600.0 * self.seconds_per_hour
