"""The provider interface: the latest reading and an hourly history window."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from cenas.carbon.traces import CarbonTrace, as_utc
from cenas.errors import ProviderResponseError

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Reading:
    """The intensity (gCO2eq/kWh) of ``region`` for the period starting at ``time``, and
    what the provider sent before conversion."""

    region: str
    time: datetime
    intensity: float
    estimated: bool = False
    raw_value: float | None = None  # None: the same as `intensity`
    raw_unit: str = "gCO2eq/kWh"


class CarbonSignalProvider(ABC):
    """Lifecycle: build once (validating its settings), call ``latest`` / ``history`` as often
    as needed, ``close`` at shut-down. Implementations need not be thread-safe."""

    name: str

    @abstractmethod
    def latest(self, region: str) -> Reading:
        """The most recent reading for ``region``."""

    @abstractmethod
    def history(self, region: str, start: datetime, end: datetime) -> CarbonTrace:
        """Hourly values for the hours starting in ``[start, end)`` (``start`` on the hour).

        Hours the provider does not have are filled by linear interpolation; a window with
        no data at all raises :class:`~cenas.errors.ProviderResponseError`.
        """

    def forecast(self, region: str, hours: int) -> list[tuple[datetime, float]]:
        """The provider's own forecast, (time, gCO2eq/kWh) from now on, where it offers one."""
        raise ProviderResponseError(f"{self.name}: this provider publishes no forecast")

    def close(self) -> None:  # noqa: B027 (optional hook)
        """Release connections."""


def hourly(region: str, start: datetime, end: datetime, points: list[tuple[datetime, float]], source: str) -> CarbonTrace:
    """Average ``points`` into the hours of ``[start, end)``; interpolate empty hours."""
    start, end = as_utc(start), as_utc(end)
    n = int((end - start) // HOUR)
    if n < 1:
        raise ValueError(f"empty history window {start:%Y-%m-%dT%H:%MZ} .. {end:%Y-%m-%dT%H:%MZ}")
    sums, counts = np.zeros(n), np.zeros(n)
    for when, value in points:
        i = int((as_utc(when) - start) // HOUR)
        if 0 <= i < n:
            sums[i] += value
            counts[i] += 1
    have = counts > 0
    if not have.any():
        raise ProviderResponseError(
            f"{source}: no data for {region} between {start:%Y-%m-%dT%H:%MZ} and {end:%Y-%m-%dT%H:%MZ}"
        )
    idx = np.flatnonzero(have)
    values = np.interp(np.arange(n), idx, sums[have] / counts[have])
    filled = tuple(start + int(i) * HOUR for i in np.flatnonzero(~have))
    return CarbonTrace(region, start, values, filled)
