"""Seasonal-naive baseline: tomorrow (and the day after) repeats the last 24 hours."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from forecaster_svc.models.base import Forecaster, HourlySeries
from forecaster_svc.models.residuals import ResidualQuantiles


class SeasonalNaive(Forecaster):
    """``y[t + k] = y[t + k - 24 * ceil((k + 1) / 24)]``; quantiles from training errors."""

    name = "naive"

    def __init__(self, season: int = 24) -> None:
        super().__init__()
        if season < 1:
            raise ValueError(f"season must be >= 1, got {season!r}")
        self.season = season
        self.min_history = max(season, 24)
        self._residuals = ResidualQuantiles()

    @classmethod
    def ready(cls, season: int = 24) -> SeasonalNaive:
        """A usable model without training (no quantile band): the service's fallback."""
        model = cls(season)
        model._mark_fitted()
        return model

    def _point(self, past: np.ndarray, horizon: int) -> np.ndarray:
        last = past[-self.season :]
        reps = -(-horizon // self.season)
        return np.tile(last, reps)[:horizon]

    def _fit(self, history: HourlySeries) -> None:
        v = history.values
        issues = np.arange(self.min_history, len(v) - self.max_horizon + 1, 24)
        preds = np.stack([self._point(v[:i], self.max_horizon) for i in issues])
        actual = np.stack([v[i : i + self.max_horizon] for i in issues])
        self._residuals.fit(preds, actual)
        self.validation_mape = self._residuals.mape

    def _predict(self, past: HourlySeries, horizon: int) -> tuple[np.ndarray, dict[float, np.ndarray]]:
        point = self._point(past.values, horizon)
        return point, self._residuals.apply(point)

    def hyperparameters(self) -> dict[str, Any]:
        return {"season": self.season}

    def save_state(self, directory: Path) -> list[str]:
        return self._residuals.save(directory / "naive_residuals.json")

    def load_state(self, directory: Path) -> None:
        self._residuals.load(directory / "naive_residuals.json")
        self._mark_fitted()
