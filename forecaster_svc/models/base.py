"""The forecaster interface and its lifecycle.

Lifecycle (what callers do, in order):

1. ``model = SomeForecaster(**hyperparameters)``: constructors only validate and store
   hyperparameters (``ValueError`` quoting a bad value); no data, no I/O.
2. ``model.fit(history)``: called once with an hourly :class:`HourlySeries` that ends at
   the training cut-off. The model may keep whatever it learned; it must not keep
   ``history`` itself. Calling ``fit`` again retrains from scratch.
3. ``model.forecast(series, issue_time, horizon)``: called any number of times. The base
   class cuts ``series`` to the hours that *start before* ``issue_time`` and hands only
   that past to :meth:`Forecaster._predict`, so no implementation can see data at or after
   the issue time (the no-leakage property is structural, and tested). Point forecasts
   cover the ``horizon`` hours starting at ``issue_time``. A model that reads weather
   (``weather_window`` set) also gets ``weather``, cut by the base class to the hours
   before ``issue_time + weather_window`` hours (the day-ahead rule, also structural):
   weather forecasts further ahead than that were not issued when the forecast was.
4. ``model.save(directory)`` / ``load_forecaster(directory)``: small files plus a JSON
   manifest; I/O lives in :mod:`forecaster_svc.models.store`, not here.

Thread-safety: ``forecast`` does not mutate the model, so concurrent forecasts are safe
after ``fit`` returns; ``fit`` must not run concurrently with anything else.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from cenas.carbon.weather import WEATHER_SHORT, WeatherTrace, hour_block
from forecaster_svc.errors import ForecastInputError, NotFittedError

HOUR = timedelta(hours=1)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: Quantile levels every forecaster reports (when it reports any).
QUANTILES: tuple[float, ...] = (0.1, 0.5, 0.9)


def utc(when: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted."""
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def epoch_hour(when: datetime) -> int:
    """Whole hours since 1970-01-01T00Z of the hour containing ``when``."""
    return int((utc(when) - EPOCH) // HOUR)


@dataclass(frozen=True)
class HourlySeries:
    """An hourly series: ``values[i]`` (length ``n``) is the hour starting ``start + i h``.

    The forecasting core's only input type: plain numbers, no files. Build one from a
    kernel :class:`~cenas.carbon.traces.CarbonTrace` with :meth:`from_trace`.
    """

    start: datetime
    values: np.ndarray

    def __post_init__(self) -> None:
        start = utc(self.start)
        if start != start.replace(minute=0, second=0, microsecond=0):
            raise ForecastInputError(f"series start {start.isoformat()} is not on the hour")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "values", np.asarray(self.values, dtype=np.float64))

    @classmethod
    def from_trace(cls, trace: Any) -> HourlySeries:
        return cls(trace.start, trace.values)

    def __len__(self) -> int:
        return len(self.values)

    @property
    def start_hour(self) -> int:
        """``epoch_hour(start)``: calendar features derive from it."""
        return epoch_hour(self.start)

    def before(self, when: datetime) -> HourlySeries:
        """The hours that start strictly before ``when`` (a copy: later edits can't leak)."""
        n = int(np.clip(np.ceil((utc(when) - self.start) / HOUR), 0, len(self.values)))
        return HourlySeries(self.start, self.values[:n].copy())

    def between(self, first: datetime, end: datetime) -> HourlySeries:
        """Hours starting in ``[first, end)``."""
        i0 = int(np.clip(np.ceil((utc(first) - self.start) / HOUR), 0, len(self.values)))
        i1 = int(np.clip(np.ceil((utc(end) - self.start) / HOUR), 0, len(self.values)))
        return HourlySeries(self.start + i0 * HOUR, self.values[i0:i1].copy())


@dataclass(frozen=True)
class HourlyCovariates:
    """Hourly covariates (weather): ``values[i]`` (one row of ``len(names)``) is the hour
    ``start + i h``; NaN = missing. Build one from a kernel weather trace with
    :meth:`from_weather`."""

    start: datetime
    values: np.ndarray  # hours x columns
    names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        start = utc(self.start)
        if start != start.replace(minute=0, second=0, microsecond=0):
            raise ForecastInputError(f"covariates start {start.isoformat()} is not on the hour")
        values = np.asarray(self.values, dtype=np.float64)
        if values.ndim != 2:
            raise ForecastInputError(f"covariates must be hours x columns, got shape {values.shape}")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "values", values)

    @classmethod
    def from_weather(cls, trace: WeatherTrace) -> HourlyCovariates:
        return cls(trace.start, trace.values, WEATHER_SHORT)

    def __len__(self) -> int:
        return len(self.values)

    def before(self, when: datetime) -> HourlyCovariates:
        """The hours that start strictly before ``when`` (a copy: later edits can't leak)."""
        n = int(np.clip(np.ceil((utc(when) - self.start) / HOUR), 0, len(self.values)))
        return HourlyCovariates(self.start, self.values[:n].copy(), self.names)

    def block(self, first: datetime, hours: int) -> np.ndarray:
        """``hours x columns`` from the hour ``first`` on, NaN where there is no value."""
        try:
            return hour_block(self.values, self.start, utc(first), hours)
        except ValueError as exc:
            raise ForecastInputError(f"covariates: {exc}") from None


#: Hours before the issue time whose weather a weather model reads (same hour, days back).
WEATHER_PAST = 24


@dataclass(frozen=True)
class Forecast:
    """Hourly point forecasts for ``len(values)`` hours starting at ``issued_at``.

    ``quantiles`` maps a level in (0, 1) to a ``horizon``-vector; empty when the model
    gives no uncertainty.
    """

    issued_at: datetime
    model: str
    values: np.ndarray
    quantiles: dict[float, np.ndarray] = field(default_factory=dict)

    @property
    def horizon(self) -> int:
        return len(self.values)

    def times(self) -> list[datetime]:
        return [self.issued_at + i * HOUR for i in range(len(self.values))]


class Forecaster(ABC):
    """Base of every carbon-intensity forecaster; see the module docstring for the lifecycle."""

    #: Short registry name (``naive``, ``lightgbm``, ``tst``, ``ensemble``).
    name: ClassVar[str]
    #: Hours of past the model needs at forecast time.
    min_history: int = 168
    #: Longest horizon the model was built for.
    max_horizon: int = 72
    #: Hours after the issue time whose weather the model may read (the day-ahead rule);
    #: None: the model reads no weather.
    weather_window: int | None = None

    def __init__(self) -> None:
        self._fitted = False
        #: After ``fit``: MAPE (fraction) per lead hour on a held-out tail of the training
        #: history (a ``max_horizon``-vector), or None. The ensemble weighs members by it.
        self.validation_mape: np.ndarray | None = None

    @property
    def uses_weather(self) -> bool:
        return self.weather_window is not None

    # -- lifecycle -----------------------------------------------------------------
    def fit(self, history: HourlySeries, weather: HourlyCovariates | None = None) -> Forecaster:
        """Learn from ``history`` (every value is training data); returns ``self``.

        A weather model needs ``weather``; it gets only the hours of ``history`` (nothing
        after the training window), as an ``len(history) x columns`` block."""
        if len(history) < self.min_history + self.max_horizon:
            raise ForecastInputError(
                f"{self.name}: need at least {self.min_history + self.max_horizon} hours of "
                f"history to train, got {len(history)}"
            )
        if not np.all(np.isfinite(history.values)):
            raise ForecastInputError(f"{self.name}: training history contains NaN or inf values")
        if self.uses_weather:
            if weather is None:
                raise ForecastInputError(f"{self.name}: reads weather; fit() needs weather covariates")
            self._fit(history, weather=weather.block(history.start, len(history)))  # type: ignore[call-arg]
        else:
            self._fit(history)
        self._fitted = True
        return self

    def known_weather(self, weather: HourlyCovariates | None, past: HourlySeries) -> np.ndarray | None:
        """The weather this model may read for a forecast issued right after ``past``:
        a ``(len(past) + weather_window) x columns`` block aligned with ``past``, cut to
        the hours before issue + ``weather_window`` (the rule); None when the model reads
        no weather or a needed hour (the last :data:`WEATHER_PAST` hours and the window)
        is missing."""
        if not self.uses_weather or weather is None:
            return None
        window = int(self.weather_window)  # type: ignore[arg-type]
        issue = past.start + len(past) * HOUR
        block = weather.before(issue + window * HOUR).block(past.start, len(past) + window)
        needed = block[max(len(past) - WEATHER_PAST, 0) :]
        return block if needed.size and np.all(np.isfinite(needed)) else None

    def forecast(self, series: HourlySeries, issue_time: datetime, horizon: int = 72,
                 weather: HourlyCovariates | None = None) -> Forecast:
        """Forecast the ``horizon`` hours from ``issue_time`` using only hours before it
        (and, for a weather model, weather before ``issue_time + weather_window``). A
        weather model whose weather is missing falls back to :meth:`_predict_history`;
        the forecast's model name says ``+weather<W>h`` only when weather was used."""
        if not self._fitted:
            raise NotFittedError(f"{self.name}: call fit() or load a trained model before forecast()")
        if not 1 <= horizon <= self.max_horizon:
            raise ForecastInputError(f"{self.name}: horizon must be in 1..{self.max_horizon}, got {horizon}")
        issue_time = utc(issue_time)
        if issue_time != issue_time.replace(minute=0, second=0, microsecond=0):
            raise ForecastInputError(f"issue time {issue_time.isoformat()} is not on the hour")
        past = series.before(issue_time)
        if len(past) < self.min_history or past.start + len(past) * HOUR != issue_time:
            raise ForecastInputError(
                f"{self.name}: need the {self.min_history} hours right before "
                f"{issue_time:%Y-%m-%dT%H:%MZ}; the series has {len(past)} hours before it"
            )
        past = HourlySeries(past.start + (len(past) - self.min_history) * HOUR, past.values[-self.min_history :])
        name = self.name
        if self.uses_weather:
            known = self.known_weather(weather, past)
            if known is None:
                values, quantiles = self._predict_history(past, horizon)
            else:
                values, quantiles = self._predict(past, horizon, weather=known)  # type: ignore[call-arg]
                name = f"{self.name}+weather{self.weather_window}h"
        else:
            values, quantiles = self._predict(past, horizon)
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (horizon,):
            raise AssertionError(f"{self.name}._predict returned shape {values.shape}, expected ({horizon},)")
        return Forecast(issue_time, name, values, quantiles)

    def _predict_history(self, past: HourlySeries, horizon: int) -> tuple[np.ndarray, dict[float, np.ndarray]]:
        """A weather model's forecast when its weather is missing (live mode, past the
        files' end); the default refuses, the ensemble uses its history-only members."""
        raise ForecastInputError(f"{self.name}: needs weather for the {WEATHER_PAST} h before the issue time and "
                                 f"the {self.weather_window} h after it; none was given")

    # -- for implementations -------------------------------------------------------
    @abstractmethod
    def _fit(self, history: HourlySeries) -> None:
        """Train on ``history`` (finite, at least ``min_history + max_horizon`` hours)."""

    @abstractmethod
    def _predict(self, past: HourlySeries, horizon: int) -> tuple[np.ndarray, dict[float, np.ndarray]]:
        """``past`` holds exactly ``min_history`` hours ending right before the issue time.
        A weather model also gets ``weather=`` the block of :meth:`known_weather`.

        Returns a ``horizon``-vector of point forecasts and a (possibly empty) quantile map.
        """

    @abstractmethod
    def hyperparameters(self) -> dict[str, Any]:
        """Constructor keyword arguments that rebuild an untrained copy."""

    @abstractmethod
    def save_state(self, directory: Path) -> list[str]:
        """Write learned state into ``directory``; returns the file names written."""

    @abstractmethod
    def load_state(self, directory: Path) -> None:
        """Read what :meth:`save_state` wrote and mark the model fitted."""

    def _mark_fitted(self) -> None:
        self._fitted = True
