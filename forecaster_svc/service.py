"""The forecaster service loop (the adapter): provider -> model -> bus + database.

Each tick, for every configured region and every region a running search uses (a
search's region joins as soon as it starts; its model is loaded then):

1. read the latest actual intensity and the recent hourly history from the provider;
2. forecast the next ``horizon`` hours from the current hour with the region's model
   (a weather model also gets the region's weather where there is any: bundled in
   replay, none live; the forecast's model name says ``+weather<W>h`` when it was used);
3. publish ``carbon.forecast.<region>`` and save the forecast.

Failure semantics (per region, per tick; the loop never dies of them):
- provider error -> the last good forecast for the region is re-published with
  ``stale=True`` (nothing is published if there has never been a good one);
- model error -> logged, same as a provider error;
- publish or database error -> logged; the next tick tries again. Saving is idempotent
  (unique region/issued_at/model/stale), so a retried tick cannot duplicate rows.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Protocol

from cenas.carbon.providers.base import CarbonSignalProvider, Reading
from cenas.clock import Clock
from cenas.contracts import CarbonForecast, ForecastPoint
from cenas.errors import CenasError, ProviderError
from forecaster_svc.models import Forecaster, HourlyCovariates, HourlySeries
from forecaster_svc.training import DEFAULT_WEATHER_WINDOW

log = logging.getLogger(__name__)
HOUR = timedelta(hours=1)


class Publishes(Protocol):
    def publish(self, message: CarbonForecast) -> None: ...


@dataclass
class ForecastService:
    regions: list[str]
    provider: CarbonSignalProvider
    models: dict[str, Forecaster]
    publisher: Publishes
    save: Callable[[CarbonForecast], object]
    clock: Clock
    interval: timedelta = HOUR
    horizon: int = 72
    last_good: dict[str, CarbonForecast] = field(default_factory=dict)
    active_regions: Callable[[], list[str]] = lambda: []  # regions running searches use
    load_model: Callable[[str], Forecaster] | None = None  # for regions that join later
    #: (region, trace now[, trace start]) of running replay searches
    search_instants: Callable[[], list[tuple]] = lambda: []
    #: (region, trace start) -> (a model that never saw the replayed hours, its label); None: the region's model
    replay_model: Callable[[str, datetime], tuple[Forecaster, str]] | None = None
    #: region -> its weather covariates, or None (live: weather comes from nowhere)
    weather: Callable[[str], HourlyCovariates | None] = lambda region: None
    #: the day-ahead rule (settings): a model whose own rule reaches further gets no weather
    weather_window: int = DEFAULT_WEATHER_WINDOW
    _issued_for_searches: set[tuple[str, datetime, str]] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        missing = [r for r in self.regions if r not in self.models]
        if missing:
            raise ValueError(f"no model for region(s) {', '.join(missing)}")

    def forecast_region(self, region: str, at: datetime | None = None, model: Forecaster | None = None,
                        label: str | None = None) -> CarbonForecast:
        """A fresh forecast for ``region`` issued at the hour of ``at`` (default: the
        clock's now), from the history before it (raises on provider or model failure)."""
        now = self.clock.now()
        issue = (at or now).replace(minute=0, second=0, microsecond=0)
        model = model or self._model(region)
        reading = self.provider.latest(region) if at is None else self._reading_at(region, issue)
        history = self.provider.history(region, issue - model.min_history * HOUR, issue)
        fc = model.forecast(HourlySeries.from_trace(history), issue, self.horizon, weather=self._weather_for(region, model))
        low, high = fc.quantiles.get(0.1), fc.quantiles.get(0.9)
        points = [
            ForecastPoint(time=t, intensity=max(0.0, float(v)),
                          p10=None if low is None else max(0.0, float(low[i])),
                          p90=None if high is None else max(0.0, float(high[i])))
            for i, (t, v) in enumerate(zip(fc.times(), fc.values))
        ]
        return CarbonForecast(region=region, issued_at=issue, published_at=now, actual_intensity=reading.intensity,
                              actual_time=reading.time, model=fc.model + (f" ({label})" if label else ""),
                              signal=self.provider.name, points=points)

    def _weather_for(self, region: str, model: Forecaster) -> HourlyCovariates | None:
        """The region's weather for a model that reads it under a rule no longer than the
        settings' (else None: the model then forecasts from history alone)."""
        if not model.uses_weather or int(model.weather_window or 0) > self.weather_window:
            return None
        try:
            return self.weather(region)
        except Exception:  # weather is an extra: a broken source costs accuracy, not the forecast
            log.exception("weather for %s unavailable; forecasting from history alone", region)
            return None

    def _reading_at(self, region: str, hour: datetime) -> Reading:
        history = self.provider.history(region, hour, hour + HOUR)
        return Reading(region, hour, float(history.values[0]))

    def _model(self, region: str) -> Forecaster:
        if region not in self.models and self.load_model is not None:
            self.models[region] = self.load_model(region)
        return self.models[region]

    def tick_searches(self) -> list[CarbonForecast]:
        """A forecast at the current trace hour of every running replay search, once per
        (region, hour): a replayed search lives at its own trace time, not the clock's, and
        the scheduler uses the forecast issued at the search's hour."""
        sent = []
        try:
            instants = self.search_instants()
        except Exception:
            log.exception("could not read the trace hours of running searches")
            return sent
        for item in instants:
            region, instant = item[0], item[1]
            trace_start = item[2] if len(item) > 2 else None
            issue = instant.replace(minute=0, second=0, microsecond=0)
            try:
                model, label = (self.replay_model(region, trace_start) if self.replay_model is not None and trace_start is not None
                                else (None, ""))
                if (region, issue, label) in self._issued_for_searches:
                    continue
                message = self.forecast_region(region, at=issue, model=model, label=label or None)
            except (ProviderError, CenasError, ValueError, KeyError) as exc:
                log.warning("forecast for %s at %s failed: %s", region, issue.isoformat(), exc)
                continue
            if self._deliver(message):
                self._issued_for_searches.add((region, issue, label))
                sent.append(message)
        return sent

    def _deliver(self, message: CarbonForecast) -> bool:
        """Publish and save; True when both went through (else the next tick tries again)."""
        try:
            self.publisher.publish(message)
            self.save(message)
        except Exception:
            log.exception("delivering %s issued %s failed; will retry", message.routing_key, message.issued_at.isoformat())
            return False
        return True

    def run_searches(self, stop: threading.Event, poll_s: float = 0.5) -> None:
        """`tick_searches` every ``poll_s`` real seconds until ``stop`` is set."""
        while not stop.is_set():
            self.tick_searches()
            stop.wait(poll_s)

    def tick(self) -> list[CarbonForecast]:
        """One round over every region; returns what was published."""
        sent = []
        for region in self.current_regions():
            try:
                message = self.forecast_region(region)
                self.last_good[region] = message
            except (ProviderError, CenasError, ValueError) as exc:
                kind = "provider" if isinstance(exc, ProviderError) else "forecast"
                previous = self.last_good.get(region)
                if previous is None:
                    log.warning("%s failed for %s and there is no earlier forecast to repeat: %s", kind, region, exc)
                    continue
                log.warning("%s failed for %s (%s); re-publishing the forecast of %s as stale",
                            kind, region, exc, previous.issued_at.isoformat())
                message = previous.model_copy(update={"stale": True, "published_at": self.clock.now()})
            try:
                self.publisher.publish(message)
                sent.append(message)
                log.info("published %s issued %s%s", message.routing_key, message.issued_at.isoformat(),
                         " (stale)" if message.stale else "")
            except Exception:
                log.exception("publishing %s failed; will retry next tick", message.routing_key)
            try:
                self.save(message)
            except Exception:
                log.exception("saving the forecast for %s failed", region)
        return sent

    def current_regions(self) -> list[str]:
        """The configured regions, then those running searches use (a lookup failure only
        skips the latter for this tick)."""
        try:
            active = [r for r in self.active_regions() if r not in self.regions]
        except Exception:
            log.exception("could not read the regions of running searches")
            active = []
        for region in active:
            if self.load_model is not None:
                self._model(region)
        return self.regions + [r for r in active if r in self.models]

    def run(self, stop: threading.Event, max_ticks: int | None = None) -> None:
        """Tick every ``interval`` of clock time until ``stop`` is set."""
        ticks = 0
        while not stop.is_set() and (max_ticks is None or ticks < max_ticks):
            self.tick()
            ticks += 1
            self.clock.wait(self.interval, stop)
