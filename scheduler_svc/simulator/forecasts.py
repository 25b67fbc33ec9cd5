"""Carbon-intensity forecast sources for the simulator, the RL environment and the planners.

A source issues, at a given hour of a trace, the predicted intensity of the next
`horizon` hours (and, when it knows it, a standard deviation per lead hour). It sees the
whole trace but promises to use only what its name says:

* `true`: the actual future values (the oracle's look-ahead; no uncertainty);
* `noisy`: the actual future with multiplicative log-normal noise whose sigma grows with
  the lead time, from `sigma_day1` at lead 1 h to `sigma_day1 * (1 + growth)` at 72 h.
  The default 0.10 matches the day-1 MAPE of published day-ahead forecasters (CarbonCast:
  3-13 % day-1 on the bundled regions, see docs/PAPER.md); it stands in for the
  forecaster service's models until they are wired in;
* `backtest`: the actual future times the real forecaster's error, a whole 72-hour path
  at once. Each path is a stored backtest forecast's `log(predicted / actual)`, drawn at
  random per (seed, hour) (`benchmarks/forecast_errors.py` measures and stores them:
  errors persist over the hours of a forecast as they do in a real one). The spread is
  the mean times the stored errors' standard deviation per lead, never the truth's.
* `naive`: seasonal naive, from the past only: lead h predicts the value at the same hour
  of the most recent past day (`now + h - 24 * ceil(h / 24)`); its std is the trailing
  week's mean absolute day-over-day change.

The forecaster service's models plug in by implementing `ForecastSource.issue`.
Sources are pure: same arguments (and seed) give the same forecast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple, Protocol

import numpy as np

#: Default look-ahead of a forecast, in hours (the forecaster service's horizon).
FORECAST_HOURS = 72
#: The backtested forecast errors `BacktestForecast` draws from.
BACKTEST_ERRORS_PATH = Path(__file__).parent / "data" / "forecast_errors.npz"


class Forecast(NamedTuple):
    """`mean` and `std`: `h`-vectors, gCO2eq/kWh for lead hours 1..h."""

    mean: np.ndarray
    std: np.ndarray


class ForecastSource(Protocol):
    name: str

    def issue(self, values: np.ndarray, now: int, horizon: int) -> Forecast:
        """The forecast issued at the start of hour `now` of `values` for hours now+1 ..
        now+horizon (fewer when the trace ends first)."""
        ...


def _future(values: np.ndarray, now: int, horizon: int) -> np.ndarray:
    return np.asarray(values[now + 1 : now + 1 + horizon], dtype=np.float64)


@dataclass(frozen=True)
class TrueForecast:
    name: str = "true"

    def issue(self, values: np.ndarray, now: int, horizon: int) -> Forecast:
        mean = _future(values, now, horizon)
        return Forecast(mean, np.zeros_like(mean))


@dataclass(frozen=True)
class NoisyForecast:
    """The true future x exp(N(0, sigma(lead))); the noise is a function of (seed, now).

    Its `std` is what a real forecaster can report: its own band, `mean x sigma`, never
    `truth x sigma` (from which a policy could divide the true future back out)."""

    sigma_day1: float = 0.10
    growth: float = 0.5
    seed: int = 0
    name: str = "noisy"

    def __post_init__(self) -> None:
        if self.sigma_day1 < 0:
            raise ValueError(f"sigma_day1 must be >= 0, got {self.sigma_day1}")

    def sigmas(self, horizon: int) -> np.ndarray:
        lead = np.arange(1, horizon + 1)
        return self.sigma_day1 * (1 + self.growth * (lead - 1) / (FORECAST_HOURS - 1))

    def issue(self, values: np.ndarray, now: int, horizon: int) -> Forecast:
        truth = _future(values, now, horizon)
        sigma = self.sigmas(len(truth))
        rng = np.random.default_rng([self.seed, now])
        mean = truth * np.exp(rng.normal(0.0, 1.0, len(truth)) * sigma - sigma**2 / 2)
        return Forecast(mean, mean * sigma)


@lru_cache(maxsize=2)
def backtest_errors(path: Path = BACKTEST_ERRORS_PATH) -> np.ndarray:
    """Every stored error path, regions pooled (forecasts x 72 lead hours)."""
    with np.load(path) as stored:
        return np.concatenate([stored[name] for name in stored.files if name != "stats"]).astype(np.float64)


@dataclass(frozen=True)
class BacktestForecast:
    """The true future x exp(a stored backtest error path); the path is a function of (seed, now)."""

    seed: int = 0
    name: str = "backtest"

    def issue(self, values: np.ndarray, now: int, horizon: int) -> Forecast:
        truth = _future(values, now, horizon)
        errors = backtest_errors()
        path = errors[np.random.default_rng([self.seed, now]).integers(len(errors))][: len(truth)]
        lead_sigma = errors.std(axis=0)[: len(truth)]
        if len(truth) > errors.shape[1]:  # past the stored horizon: the last lead's error holds
            path = np.concatenate([path, np.full(len(truth) - len(path), path[-1])])
            lead_sigma = np.concatenate([lead_sigma, np.full(len(truth) - len(lead_sigma), lead_sigma[-1])])
        mean = truth * np.exp(path)
        return Forecast(mean, mean * lead_sigma)


@dataclass(frozen=True)
class SeasonalNaiveForecast:
    name: str = "naive"

    def issue(self, values: np.ndarray, now: int, horizon: int) -> Forecast:
        past = np.asarray(values[: now + 1], dtype=np.float64)
        available = max(0, min(horizon, len(values) - now - 1))
        if len(past) < 24:  # less than a day of history: persistence
            mean = np.full(available, past[-1] if len(past) else 0.0)
            return Forecast(mean, np.zeros(available))
        lead = np.arange(1, available + 1)
        mean = past[now + lead - 24 * np.ceil(lead / 24).astype(np.int64)]
        week = past[-24 * 7 :]
        spread = float(np.mean(np.abs(week[24:] - week[:-24]))) if len(week) > 24 else 0.0
        return Forecast(mean, np.full(available, spread))


#: p90 - p10 of a normal distribution, in standard deviations (2 x 1.2816): how the
#: forecaster's quantile band becomes the `std` the simulator's sources give
P10_P90_WIDTH_SIGMAS = 2.5631031310892007


def decision_forecast(points: Sequence[Mapping[str, object]], decision_time: datetime,
                      horizon: int = FORECAST_HOURS, step_hours: float = 1.0) -> Forecast | None:
    """What a decision taken at `decision_time` sees of an issued forecast.

    The one definition for the simulator and the services: one value per decision step
    after the decision (the current one is observed, not forecast), each the prediction
    for the hour containing `decision_time + k * step_hours`, k = 1 .. `horizon`, while
    the forecast reaches; so a replayed decision at hour `h` gets hours `h+1 .. h+horizon`
    whatever hour the forecast was issued at, and a live one with another interval gets
    the forecast at its own steps. `std` comes from the p10/p90 band (zeros where a
    point has none). `points` are the forecaster's (`ForecastPoint` dumps: `time`,
    `intensity`, `p10`, `p90`); None when none is ahead.
    """
    hourly: dict[datetime, Mapping[str, object]] = {}
    for point in points:
        when = point["time"]
        when = datetime.fromisoformat(str(when).replace("Z", "+00:00")) if not isinstance(when, datetime) else when
        when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
        hourly[when.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)] = point
    decision_time = decision_time if decision_time.tzinfo else decision_time.replace(tzinfo=timezone.utc)
    ahead = []
    for k in range(1, horizon + 1):
        hour = (decision_time + timedelta(hours=k * step_hours)).astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
        if hour not in hourly:
            break
        ahead.append(hourly[hour])
    if not ahead:
        return None
    mean = np.array([float(p["intensity"]) for p in ahead])  # type: ignore[arg-type]
    std = np.array([
        (float(p["p90"]) - float(p["p10"])) / P10_P90_WIDTH_SIGMAS  # type: ignore[arg-type]
        if p.get("p10") is not None and p.get("p90") is not None else 0.0
        for p in ahead
    ])
    return Forecast(mean, np.maximum(std, 0.0))


FORECAST_SOURCES: dict[str, Callable[[int], ForecastSource]] = {
    "true": lambda seed: TrueForecast(),
    "noisy": lambda seed: NoisyForecast(seed=seed),
    "naive": lambda seed: SeasonalNaiveForecast(),
    "backtest": lambda seed: BacktestForecast(seed=seed),
}


def make_forecast_source(name: str, seed: int = 0) -> ForecastSource:
    try:
        return FORECAST_SOURCES[name](seed)
    except KeyError:
        raise ValueError(f"unknown forecast source {name!r}; choose one of {', '.join(FORECAST_SOURCES)}") from None


#: What the simulator calls each hour: hour of the episode -> the forecast issued then
#: (a `Forecast`, or just the mean as an array).
ForecastFn = Callable[[int], "Forecast | np.ndarray"]


def episode_forecast(source: ForecastSource, values: np.ndarray, first: int, horizon: int = FORECAST_HOURS) -> ForecastFn:
    """Bind a source to an episode starting at index `first` of the full trace `values`."""

    def at(hour: int) -> Forecast:
        return source.issue(values, first + hour, horizon)

    return at


__all__ = [
    "FORECAST_HOURS",
    "BACKTEST_ERRORS_PATH",
    "FORECAST_SOURCES",
    "BacktestForecast",
    "Forecast",
    "ForecastFn",
    "ForecastSource",
    "NoisyForecast",
    "SeasonalNaiveForecast",
    "TrueForecast",
    "decision_forecast",
    "episode_forecast",
    "make_forecast_source",
]
