"""Replay of hourly traces on a clock (bundled regions or any loaded trace)."""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from cenas.carbon.providers.base import HOUR, CarbonSignalProvider, Reading
from cenas.carbon.traces import CarbonTrace, as_utc, load_region
from cenas.clock import Clock


class ReplayProvider(CarbonSignalProvider):
    """``latest(region)`` is the trace value of the hour containing ``clock.now()``.

    ``traces`` maps region -> trace; regions not in it are loaded with ``loader``
    (default: the bundled traces). ``fail`` is a test hook: while it returns true every
    call raises :class:`~cenas.errors.ProviderUnavailableError` (a simulated outage).
    """

    name = "replay"

    def __init__(self, clock: Clock, traces: dict[str, CarbonTrace] | None = None,
                 loader: Callable[[str], CarbonTrace] = load_region,
                 fail: Callable[[], bool] = lambda: False) -> None:
        self.clock = clock
        self._traces = dict(traces or {})
        self._loader = loader
        self._fail = fail

    def trace(self, region: str) -> CarbonTrace:
        if region not in self._traces:
            self._traces[region] = self._loader(region)
        return self._traces[region]

    def _check(self) -> None:
        if self._fail():
            from cenas.errors import ProviderUnavailableError

            raise ProviderUnavailableError("replay: simulated provider outage")

    def latest(self, region: str) -> Reading:
        self._check()
        trace = self.trace(region)
        now = self.clock.now()
        i = trace.index_of(now)
        return Reading(region, trace.start + i * HOUR, float(trace.values[i]))

    def history(self, region: str, start: datetime, end: datetime) -> CarbonTrace:
        self._check()
        trace = self.trace(region)
        start, end = as_utc(start), as_utc(end)
        hours = int((end - start).total_seconds() // 3600)
        values = trace.window(start, hours)
        return CarbonTrace(region, start, values.copy())
