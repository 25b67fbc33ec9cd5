"""Weighted average of member forecasters, weights per forecast day.

With ``learn_weights`` (the default), weights are learned on a validation tail of the
training history: fresh copies of the members are fitted on the history minus the last
``validation_days`` and forecast each day of that tail; each member's weight for forecast
day d is proportional to ``1 / MAPE_d ** 2``. The members used for forecasting are then
fitted on the whole history (so training costs about twice the members' own). With
``learn_weights=False`` it is a plain equal-weight average. The validation forecasts
also give the quantile band.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from forecaster_svc.errors import ModelFileError
from forecaster_svc.models.base import HOUR, Forecaster, HourlySeries
from forecaster_svc.models.residuals import ResidualQuantiles


class EnsembleForecaster(Forecaster):
    name = "ensemble"

    def __init__(self, *, members: dict[str, dict[str, Any]] | None = None, learn_weights: bool = True,
                 validation_days: int = 28, seed: int = 0, threads: int = 2) -> None:
        super().__init__()
        members = members or {"lightgbm": {}, "tst": {}}
        if not members or "ensemble" in members:
            raise ValueError(f"members must name at least one non-ensemble model, got {list(members)!r}")
        if validation_days < 1:
            raise ValueError(f"validation_days must be >= 1, got {validation_days!r}")
        self.params = {"members": members, "learn_weights": learn_weights, "validation_days": validation_days,
                       "seed": seed, "threads": threads}
        self.members = self._new_members()
        self.min_history = max(m.min_history for m in self.members.values())
        self.weights = np.full((len(self.members), self.max_horizon), 1.0 / len(self.members))
        self._residuals = ResidualQuantiles()

    def _new_members(self) -> dict[str, Forecaster]:
        from forecaster_svc.models import make_model

        p = self.params
        return {n: make_model(n, **hp) if n == "naive" else make_model(n, **{"seed": p["seed"], "threads": p["threads"], **hp})
                for n, hp in p["members"].items()}

    @classmethod
    def from_members(cls, fitted: dict[str, Forecaster], weight_history: HourlySeries | None = None,
                     **params: Any) -> EnsembleForecaster:
        """An ensemble of already fitted members. With ``weight_history`` (the members'
        training history) weights are learned exactly as :meth:`fit` would, without
        refitting the members on the full history; otherwise equal weights."""
        members = {n: {k: v for k, v in m.hyperparameters().items() if k not in ("seed", "threads")}
                   for n, m in fitted.items()}
        ensemble = cls(members=members, learn_weights=weight_history is not None, **params)
        if weight_history is not None:
            ensemble._learn_weights(weight_history)
        ensemble.members = dict(fitted)
        ensemble._mark_fitted()
        return ensemble

    def hyperparameters(self) -> dict[str, Any]:
        return json.loads(json.dumps(self.params))

    def _combine(self, preds: list[np.ndarray]) -> np.ndarray:
        h = preds[0].shape[-1]
        return np.sum([w[:h] * p for w, p in zip(self.weights, preds)], axis=0)

    def _learn_weights(self, history: HourlySeries) -> None:
        cut = len(history) - 24 * self.params["validation_days"]
        if cut < self.min_history + self.max_horizon + 24 * 14:
            return  # too little history for a validation tail: equal weights, no band
        head = HourlySeries(history.start, history.values[:cut])
        scouts = self._new_members()
        for m in scouts.values():
            m.fit(head)
        idx = list(range(cut, len(history) - self.max_horizon + 1, 24))
        issues = [history.start + i * HOUR for i in idx]
        per_member = [np.stack([m.forecast(history, t).values for t in issues]) for m in scouts.values()]
        actual = np.stack([history.values[i : i + self.max_horizon] for i in idx])
        if self.params["learn_weights"]:
            err = np.stack([np.mean(np.abs(p - actual) / actual, axis=0) for p in per_member])  # members x H
            days = -(-self.max_horizon // 24)
            day_err = np.stack([err[:, 24 * d : 24 * (d + 1)].mean(axis=1) for d in range(days)], axis=1)
            inv = 1.0 / np.maximum(day_err, 1e-6) ** 2
            w_day = inv / inv.sum(axis=0, keepdims=True)
            self.weights = np.repeat(w_day, 24, axis=1)[:, : self.max_horizon]
        self._residuals.fit(self._combine(per_member), actual)

    def _fit(self, history: HourlySeries) -> None:
        self._learn_weights(history)
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
        payload = json.loads((directory / "ensemble_weights.json").read_text())
        if sorted(payload["members"]) != sorted(self.members):
            raise ModelFileError(f"{directory}: weights are for members {payload['members']}, not {list(self.members)}")
        # weight rows follow the saved member order (manifests may sort their keys)
        self.members = {n: self.members[n] for n in payload["members"]}
        for n, m in self.members.items():
            m.load_state(directory / n)
        self.weights = np.asarray(payload["weights"], dtype=np.float64)
        self._residuals.load(directory / "ensemble_residuals.json")
        self._mark_fitted()
