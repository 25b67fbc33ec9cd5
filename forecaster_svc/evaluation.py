"""Backtests and error metrics (pure: series in, numbers out).

Protocol (API.md): forecasts issued every 24 hours at 00:00 UTC over the test window
``[test_start, test_end)``, each for ``horizon`` hours, only when the whole horizon lies
inside the window; dayK = hours 24(K-1)+1 .. 24K of each forecast (1-based).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from forecaster_svc.errors import ForecastInputError
from forecaster_svc.models.base import HOUR, Forecaster, HourlyCovariates, HourlySeries, utc


def mape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Mean absolute percentage error in %, ``100 * mean(|a - p| / |a|)``."""
    actual, predicted = np.asarray(actual, float), np.asarray(predicted, float)
    if actual.shape != predicted.shape or actual.size == 0:
        raise ValueError(f"mape needs two equal, non-empty shapes, got {actual.shape} and {predicted.shape}")
    if np.any(actual == 0):
        raise ValueError("mape is undefined when an actual value is 0")
    return float(100.0 * np.mean(np.abs(actual - predicted) / np.abs(actual)))


def mae(actual: np.ndarray, predicted: np.ndarray) -> float:
    actual, predicted = np.asarray(actual, float), np.asarray(predicted, float)
    if actual.shape != predicted.shape or actual.size == 0:
        raise ValueError(f"mae needs two equal, non-empty shapes, got {actual.shape} and {predicted.shape}")
    return float(np.mean(np.abs(actual - predicted)))


def per_day(actual: np.ndarray, predicted: np.ndarray) -> tuple[dict[str, float], dict[str, float]]:
    """MAPE and MAE per forecast day, from ``n x horizon`` arrays (horizon a multiple of 24)."""
    horizon = actual.shape[1]
    days = -(-horizon // 24)
    m = {f"day{k + 1}": mape(actual[:, 24 * k : 24 * (k + 1)], predicted[:, 24 * k : 24 * (k + 1)]) for k in range(days)}
    a = {f"day{k + 1}": mae(actual[:, 24 * k : 24 * (k + 1)], predicted[:, 24 * k : 24 * (k + 1)]) for k in range(days)}
    return m, a


def issue_times(test_start: datetime, test_end: datetime, horizon: int) -> list[datetime]:
    """00:00 UTC issue times from the first midnight >= test_start whose horizon ends by test_end."""
    start, end = utc(test_start), utc(test_end)
    first = start.replace(hour=0, minute=0, second=0, microsecond=0)
    if first < start:
        first += timedelta(days=1)
    out = []
    t = first
    while t + horizon * HOUR <= end:
        out.append(t)
        t += timedelta(days=1)
    return out


@dataclass(frozen=True)
class Backtest:
    issued: list[datetime]
    actual: np.ndarray  # n x horizon
    predicted: np.ndarray  # n x horizon

    def summary(self) -> dict[str, object]:
        m, a = per_day(self.actual, self.predicted)
        return {"mape": {k: round(v, 4) for k, v in m.items()}, "mae": {k: round(v, 4) for k, v in a.items()},
                "forecasts": len(self.issued)}


def backtest(model: Forecaster, series: HourlySeries, test_start: datetime, test_end: datetime,
             horizon: int = 72, weather: HourlyCovariates | None = None) -> Backtest:
    """Issue a forecast each midnight of the test window through the public ``forecast``
    (which cuts the carbon series at the issue time and ``weather`` at the model's rule)."""
    issued = issue_times(test_start, test_end, horizon)
    if not issued:
        raise ForecastInputError(
            f"test window {utc(test_start):%Y-%m-%dT%H:%MZ} .. {utc(test_end):%Y-%m-%dT%H:%MZ} "
            f"holds no {horizon}-hour forecast issued at 00:00 UTC"
        )
    last_needed = issued[-1] + (horizon - 1) * HOUR
    if series.start + (len(series) - 1) * HOUR < last_needed:
        raise ForecastInputError(f"the series ends before {last_needed:%Y-%m-%dT%H:%MZ}, the end of the test window")
    preds, actual = [], []
    for t in issued:
        preds.append(model.forecast(series, t, horizon, weather=weather).values)
        i = int((t - series.start) // HOUR)
        actual.append(series.values[i : i + horizon])
    return Backtest(issued, np.asarray(actual), np.asarray(preds))
