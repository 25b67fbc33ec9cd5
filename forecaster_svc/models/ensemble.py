"""Weighted average of member forecasters, weights per forecast day.

With ``learn_weights`` (the default) each member's weight for forecast day d is
proportional to ``1 / MAPE_d ** 2``, where MAPE_d is the member's own error on the
held-out tail of the training history (every member keeps one, see
``Forecaster.validation_mape``); no test data and no extra training are involved. With
``learn_weights=False`` (or when a member has no validation error) it is a plain
equal-weight average. The quantile band is the same weighted average of the members'
bands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from forecaster_svc.errors import ModelFileError
from forecaster_svc.models.base import HOUR, Forecaster, HourlySeries


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
        self.min_history = max(m.min_history for m in self.members.values())
        self.weights = np.full((len(self.members), self.max_horizon), 1.0 / len(self.members))

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

    def _combine(self, preds: list[np.ndarray]) -> np.ndarray:
        h = preds[0].shape[-1]
        return np.sum([w[:h] * p for w, p in zip(self.weights, preds)], axis=0)

    def _fit(self, history: HourlySeries) -> None:
        for m in self.members.values():
            m.fit(history)
        self._set_weights()
        errors = [m.validation_mape for m in self.members.values()]
        if all(e is not None for e in errors):
            self.validation_mape = self._combine(errors)  # an upper bound (triangle inequality)

    def _predict(self, past: HourlySeries, horizon: int) -> tuple[np.ndarray, dict[float, np.ndarray]]:
        issue = past.start + len(past) * HOUR
        fcs = [m.forecast(past, issue, horizon) for m in self.members.values()]
        point = self._combine([f.values for f in fcs])
        bands: dict[float, np.ndarray] = {}
        if all(f.quantiles for f in fcs):
            for level in fcs[0].quantiles:
                bands[level] = self._combine([f.quantiles[level] for f in fcs])
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
        for n, m in self.members.items():
            m.load_state(directory / n)
        self.weights = np.asarray(payload["weights"], dtype=np.float64)
        self._mark_fitted()
