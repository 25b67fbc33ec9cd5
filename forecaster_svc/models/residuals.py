"""Quantiles from held-out relative errors, per lead hour (a split-conformal flavour).

Used by every point model to give the scheduler an uncertainty band: for each lead hour
``k`` we keep the empirical quantiles of ``actual / predicted`` seen on data the model
was not fitted to, and scale the point forecast by them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from forecaster_svc.errors import ModelFileError
from forecaster_svc.models.base import QUANTILES


class ResidualQuantiles:
    def __init__(self, levels: tuple[float, ...] = QUANTILES) -> None:
        self.levels = levels
        self.ratios: np.ndarray | None = None  # len(levels) x horizon
        self.mape: np.ndarray | None = None  # horizon; set by fit(), not saved

    def fit(self, predicted: np.ndarray, actual: np.ndarray) -> None:
        """``predicted``, ``actual``: ``n x horizon`` arrays of held-out forecasts."""
        ratio = actual / np.maximum(predicted, 1e-6)
        self.ratios = np.quantile(ratio, self.levels, axis=0)
        self.mape = np.mean(np.abs(predicted - actual) / np.abs(actual), axis=0)

    def apply(self, point: np.ndarray) -> dict[float, np.ndarray]:
        if self.ratios is None:
            return {}
        h = len(point)
        return {q: point * self.ratios[j, :h] for j, q in enumerate(self.levels)}

    def save(self, path: Path) -> list[str]:
        payload = {"levels": list(self.levels), "ratios": None if self.ratios is None else self.ratios.round(6).tolist()}
        path.write_text(json.dumps(payload))
        return [path.name]

    def load(self, path: Path) -> None:
        try:
            payload = json.loads(path.read_text())
            self.levels = tuple(payload["levels"])
            self.ratios = None if payload["ratios"] is None else np.asarray(payload["ratios"], dtype=np.float64)
        except (OSError, KeyError, ValueError) as exc:
            raise ModelFileError(f"{path}: cannot read residual quantiles: {exc}") from None
