"""Live zones: poll the provider, store every reading, forecast the next hours.

For every (provider, zone) a queued or running live search uses, every poll period (the
`live_poll_s` setting, at most a quarter of the zone's shortest decision interval):

1. read the latest intensity; store it (`carbon_readings`, converted to gCO2eq/kWh, the
   provider's own value, unit, signal type and estimated flag kept beside it) and note
   the poll in `carbon_sources`;
2. forecast: with the provider's own forecast where a search asks for it, else (once per
   wall-clock hour) with the region's shipped model from the last `min_history` hours,
   fetched from the provider's history endpoint and kept as `history` rows, or rebuilt
   from the stored rows when that endpoint is refused (free plans);
3. publish `carbon.forecast.<zone>` and save it, as in replay.

Failure semantics: an outage (timeout, 5xx, 429) only marks the source `stale` (the last
good value stays in force for accounting and decisions); missing or refused credentials,
an unknown zone or an answer we cannot read mark it `failed` with the provider's reason,
which fails the searches waiting to start on it (the optimizer does that) and never a
running one. The loop never dies of a provider.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cenas.carbon.providers.base import CarbonSignalProvider, Reading, hourly
from cenas.clock import utcnow
from cenas.contracts import CarbonForecast, ForecastPoint
from cenas.db.readings import (SIGNAL_TYPES, CarbonReading, LiveZone, hourly_history, live_zones, record_poll, save_history,
                               save_reading)
from cenas.errors import ProviderAuthError, ProviderConfigError, ProviderError, ProviderResponseError
from forecaster_svc.models import Forecaster, HourlySeries

log = logging.getLogger(__name__)
HOUR = timedelta(hours=1)
#: errors that no retry will cure: the search cannot start on this source
FATAL = (ProviderConfigError, ProviderAuthError, ProviderResponseError)


@dataclass
class _Zone:
    next_poll: float = 0.0
    forecast_hour: datetime | None = None  # the hour the model last forecast from


@dataclass
class LiveSignalService:
    engine: object
    provider: Callable[[str], CarbonSignalProvider]  # by name: electricitymaps | watttime
    model: Callable[[str], Forecaster]  # the zone's shipped model (seasonal naive where none)
    deliver: Callable[[CarbonForecast], object]  # publish and save
    poll_s: float = 300.0
    horizon: int = 72
    monotonic: Callable[[], float] = time.monotonic
    now: Callable[[], datetime] = utcnow
    _zones: dict[tuple[str, str], _Zone] = field(default_factory=dict)
    _providers: dict[str, CarbonSignalProvider] = field(default_factory=dict)

    def period_s(self, zone: LiveZone) -> float:
        return min(self.poll_s, zone.interval_s / 4.0)

    def tick(self) -> int:
        """Poll every zone that is due; returns how many were polled."""
        polled = 0
        for zone in live_zones(self.engine):  # type: ignore[arg-type]
            state = self._zones.setdefault((zone.provider, zone.zone), _Zone())
            if self.monotonic() < state.next_poll:
                continue
            state.next_poll = self.monotonic() + self.period_s(zone)
            self.poll(zone, state)
            polled += 1
        return polled

    def run(self, stop, tick_s: float = 0.5) -> None:
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # the database away: next tick
                log.exception("live signal tick failed; retrying")
            stop.wait(tick_s)

    def _provider(self, name: str) -> CarbonSignalProvider:
        if name not in self._providers:
            self._providers[name] = self.provider(name)
        return self._providers[name]

    def poll(self, zone: LiveZone, state: _Zone) -> Reading | None:
        try:
            provider = self._provider(zone.provider)
            reading = provider.latest(zone.zone)
        except FATAL as exc:
            log.error("%s %s: %s", zone.provider, zone.zone, exc)
            record_poll(self.engine, zone.provider, zone.zone, error=str(exc), fatal=True)  # type: ignore[arg-type]
            return None
        except ProviderError as exc:
            log.warning("%s %s: %s; the last good value stays in force (stale)", zone.provider, zone.zone, exc)
            record_poll(self.engine, zone.provider, zone.zone, error=str(exc))  # type: ignore[arg-type]
            return None
        fetched = self.now()
        save_reading(self.engine, CarbonReading(  # type: ignore[arg-type]
            provider=zone.provider, zone=zone.zone, kind="latest", value=reading.intensity,
            raw_value=reading.intensity if reading.raw_value is None else reading.raw_value, raw_unit=reading.raw_unit,
            signal_type=SIGNAL_TYPES[zone.provider], period_start=reading.time, fetched_at=fetched, estimated=reading.estimated))
        record_poll(self.engine, zone.provider, zone.zone)  # type: ignore[arg-type]
        try:
            message = self.forecast(zone, state, provider, reading, fetched)
        except (ProviderError, ValueError) as exc:
            log.warning("%s %s: no forecast this poll (%s)", zone.provider, zone.zone, exc)
            return reading
        except Exception:  # a model failure must not stop the readings: decisions then plan with persistence
            log.exception("%s %s: forecasting failed", zone.provider, zone.zone)
            return reading
        if message is not None:
            self.deliver(message)
        return reading

    def forecast(self, zone: LiveZone, state: _Zone, provider: CarbonSignalProvider, reading: Reading,
                 now: datetime) -> CarbonForecast | None:
        issue = now.replace(minute=0, second=0, microsecond=0)
        if zone.forecast == "provider":
            points = [ForecastPoint(time=t, intensity=max(0.0, v)) for t, v in provider.forecast(zone.zone, self.horizon)]
            model_name = f"{zone.provider}-forecast"
            issue = now  # the provider revises it at every poll: each one is its own issue
        else:
            if state.forecast_hour == issue:
                return None  # the model reads whole hours: nothing new until the next one
            model = self.model(zone.zone)
            series, padded = self.history(zone, provider, issue, model.min_history)
            fc = model.forecast(series, issue, self.horizon)
            low, high = fc.quantiles.get(0.1), fc.quantiles.get(0.9)
            points = [ForecastPoint(time=t, intensity=max(0.0, float(v)),
                                    p10=None if low is None else max(0.0, float(low[i])),
                                    p90=None if high is None else max(0.0, float(high[i])))
                      for i, (t, v) in enumerate(zip(fc.times(), fc.values))]
            model_name = fc.model + ("+padded-history" if padded else "")
            state.forecast_hour = issue
        return CarbonForecast(region=zone.zone, issued_at=issue, published_at=now, actual_intensity=reading.intensity,
                              actual_time=reading.time, model=model_name, signal=zone.provider, points=points)

    def history(self, zone: LiveZone, provider: CarbonSignalProvider, issue: datetime, hours: int) -> tuple[HourlySeries, bool]:
        """The ``hours`` hours before ``issue``: fetched from the provider's history (and
        stored), else rebuilt from the stored rows (what the last-24-hours endpoint and the
        polls left); a short record is padded with its oldest value (the forecast then says
        so in its model name)."""
        start = issue - hours * HOUR
        fetchers = [lambda: provider.history(zone.zone, start, issue)]
        if hasattr(provider, "recent"):  # Electricity Maps' last 24 hours: on every plan
            fetchers.append(lambda: provider.recent(zone.zone))  # type: ignore[attr-defined]
        for fetch in fetchers:
            try:
                trace = fetch()
            except ProviderError as exc:
                log.info("%s %s: history refused (%s)", zone.provider, zone.zone, exc)
                continue
            filled = set(trace.filled_hours)  # interpolated by the client: not the provider's values
            save_history(self.engine, [CarbonReading(  # type: ignore[arg-type]
                provider=zone.provider, zone=zone.zone, kind="history", value=float(v), raw_value=float(v), raw_unit="gCO2eq/kWh",
                signal_type=SIGNAL_TYPES[zone.provider], period_start=trace.start + i * HOUR, fetched_at=self.now())
                for i, v in enumerate(trace.values) if trace.start + i * HOUR not in filled and trace.start + i * HOUR < issue])
            if trace.start <= start and len(trace) >= hours:
                return HourlySeries(start, trace.values[int((start - trace.start) // HOUR):][:hours]), False
            break
        points = hourly_history(self.engine, zone.provider, zone.zone, start, issue)  # type: ignore[arg-type]
        stored = hourly(zone.zone, start, issue, points, "stored readings")  # flat before the first hour, after the last
        return HourlySeries(start, stored.values), bool(stored.filled_hours)
