"""Weighted average of member forecasters, weights per forecast day.

Weights are learned on a validation tail: members are first fitted on the history minus
the last ``validation_days``, their day-ahead errors there set inverse-MAPE weights per
forecast day (1..3), then every member is refit on the whole history. With
``learn_weights=False`` it is a plain equal-weight average (half the training time).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from forecaster_svc.models.base import HOUR, Forecaster, HourlySeries
from forecaster_svc.models.residuals import ResidualQuantiles


class EnsembleForecaster(Forecaster):
    name = "ensemble"

    def __init__(self, *, members: dict[str, dict[str, Any]] | None = None, learn_weights: bool = False,
                 validation_days: int = 28, seed: int = 0, threads: int = 2) -> None:
        super().__init__()
        from forecaster_svc.models import make_model

        members = members or {"lightgbm": {}, "tst": {}}
        if not members or "ensemble" in members:
            raise ValueError(f"members must name at least one non-ensemble model, got {list(members)!r}")
        self.params = {"members": members, "learn_weights": learn_weights, "validation_days": validation_days,
                       "seed": seed, "threads": threads}
        self.members = {n: make_model(n, **{"seed": seed, "threads": threads, **hp}) if n != "naive" else make_model(n, **hp)
                        for n, hp in members.items()}
        self.min_history = max(m.min_history for m in self.members.values())
        self.weights = np.full((len(self.members), self.max_horizon), 1.0 / len(self.members))
        self._residuals = ResidualQuantiles()

    def hyperparameters(self) -> dict[str, Any]:
        return json.loads(json.dumps(self.params))

    def _combine(self, preds: list[np.ndarray]) -> np.ndarray:
        h = len(preds[0])
        return np.sum([w[:h] * p for w, p in zip(self.weights, preds)], axis=0)

    def _fit(self, history: HourlySeries) -> None:
        cut = len(history) - 24 * self.params["validation_days"]
        if cut >= self.min_history + self.max_horizon + 24 * 14:
            head = HourlySeries(history.start, history.values[:cut])
            for m in self.members.values():
                m.fit(head)
            issues = [history.start + i * HOUR for i in range(cut, len(history) - self.max_horizon + 1, 24)]
            per_member = [np.stack([m.forecast(history, t).values for t in issues]) for m in self.members.values()]
            idx = [int((t - history.start) // HOUR) for t in issues]
            actual = np.stack([history.values[i : i + self.max_horizon] for i in idx])
            if self.params["learn_weights"]:
                err = np.stack([np.mean(np.abs(p - actual) / actual, axis=0) for p in per_member])  # members x H
                day_err = np.stack([err[:, 24 * d : 24 * (d + 1)].mean(axis=1) for d in range(3)], axis=1)
                inv = 1.0 / np.maximum(day_err, 1e-6)
                w_day = inv / inv.sum(axis=0, keepdims=True)
                self.weights = np.repeat(w_day, 24, axis=1)[:, : self.max_horizon]
            self._residuals.fit(self._combine(per_member), actual)
        for m in self.members.values():
            m.fit(history)

    def _predict(self, past: HourlySeries, horizon: int) -> tuple[np.ndarray, dict[float, np.ndarray]]:
        issue = past.start + len(past) * HOUR
        preds = [m.forecast(past, issue, horizon).values for m in self.members.values()]
        point = self._combine(preds)
        return point, self._residuals.apply(point)

    def save_state(self, directory: Path) -> list[str]:
        files = []
        for n, m in self.members.items():
            sub = directory / n
            sub.mkdir(parents=True, exist_ok=True)
            files += [f"{n}/{f}" for f in m.save_state(sub)]
        (directory / "ensemble_weights.json").write_text(json.dumps({"members": list(self.members),
                                                                      "weights": self.weights.round(6).tolist()}))
        return files + ["ensemble_weights.json", *self._residuals.save(directory / "ensemble_residuals.json")]

    def load_state(self, directory: Path) -> None:
        for n, m in self.members.items():
            m.load_state(directory / n)
        payload = json.loads((directory / "ensemble_weights.json").read_text())
        self.weights = np.asarray(payload["weights"], dtype=np.float64)
        self._residuals.load(directory / "ensemble_residuals.json")
        self._mark_fitted()
