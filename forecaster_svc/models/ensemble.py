"""Weighted average of member forecasters, weights per forecast day.

With ``learn_weights`` (the default) each member's weight for forecast day d is
proportional to ``1 / MAPE_d ** 2``, where MAPE_d is the member's own error on the
held-out tail of the training history (every member keeps one, see
``Forecaster.validation_mape``); no test data and no extra training are involved. With
``learn_weights=False`` (or when a member has no validation error) it is a plain
equal-weight average. The quantile band is the same weighted average of the members'
bands.

With a weather member (``lightgbm_weather``) the ensemble reads weather under that
member's day-ahead rule; when a forecast has no usable weather (live mode, hours past the
weather files' end) it is the weighted average of the history-only members alone, weights
renormalised, and its model name says so (``ensemble`` rather than ``ensemble+weather24h``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from forecaster_svc.errors import ForecastInputError, ModelFileError
from forecaster_svc.models.base import HOUR, Forecaster, HourlyCovariates, HourlySeries


class EnsembleForecaster(Forecaster):
    name = "ensemble"

    def __init__(self, *, members: dict[str, dict[str, Any]] | None = None, learn_weights: bool = True,
                 seed: int = 0, threads: int = 2) -> None:
        super().__init__()
        members = members or {"lightgbm": {}, "tst": {}}
        if not members or "ensemble" in members:
            raise ValueError(f"members must name at least one non-ensemble model, got {list(members)!r}")
        self.params = {"members": members, "learn_weights": learn_weights, "seed": seed, "threads": threads}
        self.members = self._new_members()
        self._sync_members()
        self.weights = np.full((len(self.members), self.max_horizon), 1.0 / len(self.members))

    def _sync_members(self) -> None:
        """History length and weather rule follow the members (one rule for all of them)."""
        self.min_history = max(m.min_history for m in self.members.values())
        windows = {m.weather_window for m in self.members.values() if m.uses_weather}
        if len(windows) > 1:
            raise ValueError(f"weather members must share one weather_window, got {sorted(windows)!r}")
        self.weather_window = windows.pop() if windows else None

    def _new_members(self) -> dict[str, Forecaster]:
        from forecaster_svc.models import make_model

        p = self.params
        return {n: make_model(n, **hp) if n == "naive" else make_model(n, **{"seed": p["seed"], "threads": p["threads"], **hp})
                for n, hp in p["members"].items()}

    @classmethod
    def from_members(cls, fitted: dict[str, Forecaster], **params: Any) -> EnsembleForecaster:
        """An ensemble of already fitted members: the same model :meth:`fit` would build
        from members with these hyperparameters, without training them again."""
        members = {n: {k: v for k, v in m.hyperparameters().items() if k not in ("seed", "threads")}
                   for n, m in fitted.items()}
        ensemble = cls(members=members, **params)
        ensemble.members = dict(fitted)
        ensemble._sync_members()
        ensemble._set_weights()
        ensemble._mark_fitted()
        return ensemble

    def hyperparameters(self) -> dict[str, Any]:
        """Members' hyperparameters resolved to their values (so a saved manifest does not
        depend on the defaults of the code that later reads it)."""
        members = {n: {k: v for k, v in m.hyperparameters().items() if k not in ("seed", "threads")}
                   for n, m in self.members.items()}
        return json.loads(json.dumps({**self.params, "members": members}))

    def _set_weights(self) -> None:
        errors = [m.validation_mape for m in self.members.values()]
        if not self.params["learn_weights"] or any(e is None for e in errors):
            return
        err = np.stack(errors)  # members x H
        days = -(-self.max_horizon // 24)
        day_err = np.stack([err[:, 24 * d : 24 * (d + 1)].mean(axis=1) for d in range(days)], axis=1)
        inv = 1.0 / np.maximum(day_err, 1e-6) ** 2
        self.weights = np.repeat(inv / inv.sum(axis=0, keepdims=True), 24, axis=1)[:, : self.max_horizon]

    def _combine(self, preds: list[np.ndarray], weights: np.ndarray | None = None) -> np.ndarray:
        weights = self.weights if weights is None else weights
        h = preds[0].shape[-1]
        return np.sum([w[:h] * p for w, p in zip(weights, preds)], axis=0)

    def _fit(self, history: HourlySeries, weather: np.ndarray | None = None) -> None:
        covariates = None if weather is None else HourlyCovariates(history.start, weather)
        for m in self.members.values():
            m.fit(history, covariates if m.uses_weather else None)
        self._set_weights()
        errors = [m.validation_mape for m in self.members.values()]
        if all(e is not None for e in errors):
            self.validation_mape = self._combine(errors)  # an upper bound (triangle inequality)

    def _predict(self, past: HourlySeries, horizon: int,
                 weather: np.ndarray | None = None) -> tuple[np.ndarray, dict[float, np.ndarray]]:
        covariates = None if weather is None else HourlyCovariates(past.start, weather)
        return self._average(past, horizon, list(self.members), self.weights, covariates)

    def _predict_history(self, past: HourlySeries, horizon: int) -> tuple[np.ndarray, dict[float, np.ndarray]]:
        names = [n for n, m in self.members.items() if not m.uses_weather]
        if not names:
            return super()._predict_history(past, horizon)
        rows = self.weights[[list(self.members).index(n) for n in names]]
        return self._average(past, horizon, names, rows / rows.sum(axis=0, keepdims=True), None)

    def _average(self, past: HourlySeries, horizon: int, names: list[str], weights: np.ndarray,
                 weather: HourlyCovariates | None) -> tuple[np.ndarray, dict[float, np.ndarray]]:
        issue = past.start + len(past) * HOUR
        fcs = [self.members[n].forecast(past, issue, horizon, weather=weather) for n in names]
        if weather is not None and any(self.members[n].uses_weather and "+weather" not in f.model for n, f in zip(names, fcs)):
            raise ForecastInputError("ensemble: a weather member forecast without weather")  # the rule differs between members
        point = self._combine([f.values for f in fcs], weights)
        bands: dict[float, np.ndarray] = {}
        if all(f.quantiles for f in fcs):
            for level in fcs[0].quantiles:
                bands[level] = self._combine([f.quantiles[level] for f in fcs], weights)
        return point, bands

    def save_state(self, directory: Path) -> list[str]:
        files = []
        for n, m in self.members.items():
            sub = directory / n
            sub.mkdir(parents=True, exist_ok=True)
            files += [f"{n}/{f}" for f in m.save_state(sub)]
        (directory / "ensemble_weights.json").write_text(json.dumps({"members": list(self.members),
                                                                      "weights": self.weights.round(6).tolist()}))
        return files + ["ensemble_weights.json"]

    def load_state(self, directory: Path) -> None:
        payload = json.loads((directory / "ensemble_weights.json").read_text())
        if sorted(payload["members"]) != sorted(self.members):
            raise ModelFileError(f"{directory}: weights are for members {payload['members']}, not {list(self.members)}")
        # weight rows follow the saved member order (manifests may sort their keys)
        self.members = {n: self.members[n] for n in payload["members"]}
        self._sync_members()
        for n, m in self.members.items():
            m.load_state(directory / n)
        self.weights = np.asarray(payload["weights"], dtype=np.float64)
        self._mark_fitted()
