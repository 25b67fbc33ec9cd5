"""LightGBM direct multi-horizon model with calendar and lag features.

One booster predicts every lead hour (the lead is a feature). Training rows are issue
times spread over the history (every ``issue_stride`` hours) times the 72 leads; the last
``validation_fraction`` of issue times is held out for early stopping and for the
quantile band, then the booster is refit on everything with the chosen number of trees.

:class:`WeatherLightGBM` (``lightgbm_weather``) is the same model with weather features
under the day-ahead rule (see :mod:`forecaster_svc.models.features`). It trains and
validates only on issue times whose weather is all there (a history running past the
weather files' end keeps the covered part); where the weather covers the whole history its
held-out tail is the same issue times as the plain model's, so their validation errors
compare directly.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np

from forecaster_svc.errors import ForecastInputError, ModelFileError
from forecaster_svc.models import features
from forecaster_svc.models.base import WEATHER_PAST, Forecaster, HourlySeries
from forecaster_svc.models.residuals import ResidualQuantiles


class LightGBMForecaster(Forecaster):
    name = "lightgbm"
    min_history = features.LOOKBACK

    def __init__(
        self,
        *,
        num_leaves: int = 31,
        learning_rate: float = 0.05,
        max_rounds: int = 600,
        min_child_samples: int = 50,
        feature_fraction: float = 0.8,
        issue_stride: int = 1,
        max_rows: int = 400_000,
        validation_fraction: float = 0.15,
        objective: str = "l1",
        early_stopping: bool = True,
        seed: int = 0,
        threads: int = 2,
    ) -> None:
        super().__init__()
        if num_leaves < 2:
            raise ValueError(f"num_leaves must be >= 2, got {num_leaves!r}")
        if not 0 < learning_rate <= 1:
            raise ValueError(f"learning_rate must be in (0, 1], got {learning_rate!r}")
        if not 0 < validation_fraction < 0.5:
            raise ValueError(f"validation_fraction must be in (0, 0.5), got {validation_fraction!r}")
        if issue_stride < 1 or max_rounds < 1 or max_rows < 1000:
            raise ValueError(f"bad sizes: issue_stride={issue_stride!r}, max_rounds={max_rounds!r}, max_rows={max_rows!r}")
        self.params = dict(
            num_leaves=num_leaves, learning_rate=learning_rate, max_rounds=max_rounds,
            min_child_samples=min_child_samples, feature_fraction=feature_fraction,
            issue_stride=issue_stride, max_rows=max_rows, validation_fraction=validation_fraction,
            objective=objective, early_stopping=early_stopping, seed=seed, threads=threads,
        )
        self._booster: Any = None
        self.rounds_used: int | None = None
        self._residuals = ResidualQuantiles()

    def hyperparameters(self) -> dict[str, Any]:
        return dict(self.params)

    def _lgb_params(self) -> dict[str, Any]:
        p = self.params
        return {
            "objective": p["objective"], "learning_rate": p["learning_rate"], "num_leaves": p["num_leaves"],
            "min_child_samples": p["min_child_samples"], "feature_fraction": p["feature_fraction"],
            "bagging_fraction": 0.8, "bagging_freq": 1, "seed": p["seed"], "deterministic": True,
            "num_threads": p["threads"], "verbosity": -1, "force_row_wise": True,
        }

    def _features(self, v: np.ndarray, start_hour: int, issues: np.ndarray, leads: np.ndarray,
                  weather: np.ndarray | None) -> np.ndarray:
        return features.build(v, start_hour, issues, leads, weather=weather, window=int(self.weather_window or 0))

    def _weather_complete(self, weather: np.ndarray, issues: np.ndarray) -> np.ndarray:
        """Per issue index: is every weather hour a forecast from it reads (the
        ``WEATHER_PAST`` hours before it and the window after) present?"""
        ok = np.concatenate([[0], np.cumsum(np.all(np.isfinite(weather), axis=1))])
        lo = np.maximum(issues - WEATHER_PAST, 0)
        hi = np.minimum(issues + int(self.weather_window or 0), len(weather))
        return (ok[hi] - ok[lo]) == (hi - lo)

    def _feature_names(self, weather: np.ndarray | None) -> list[str]:
        return list(features.FEATURE_NAMES) + (list(features.WEATHER_FEATURE_NAMES) if weather is not None else [])

    def _fit(self, history: HourlySeries, weather: np.ndarray | None = None) -> None:
        import lightgbm as lgb

        v, h = history.values, self.max_horizon
        leads = np.arange(h)
        all_issues = np.arange(features.LOOKBACK, len(v) - h + 1)
        if weather is not None:  # train and validate only where the weather it would read exists
            all_issues = all_issues[self._weather_complete(weather, all_issues)]
            if len(all_issues) < 2 * h:
                raise ForecastInputError(f"{self.name}: only {len(all_issues)} issue hours of the history have weather")
        stride = max(self.params["issue_stride"], int(np.ceil(len(all_issues) * h / self.params["max_rows"])))
        issues = all_issues[::stride]
        n_val = max(1, int(len(issues) * self.params["validation_fraction"]))
        # gap of h hours between train and validation issue times: no target overlap
        tr = issues[: -n_val][issues[: -n_val] <= issues[-n_val] - h]
        va = issues[-n_val:]
        x_tr, y_tr = self._features(v, history.start_hour, tr, leads, weather), features.targets(v, tr, leads)
        x_va, y_va = self._features(v, history.start_hour, va, leads, weather), features.targets(v, va, leads)
        names = self._feature_names(weather)
        params = self._lgb_params()
        d_tr = lgb.Dataset(x_tr, y_tr, feature_name=names, free_raw_data=True)
        d_va = lgb.Dataset(x_va, y_va, reference=d_tr)
        first = lgb.train(params, d_tr, num_boost_round=self.params["max_rounds"], valid_sets=[d_va],
                          callbacks=[lgb.early_stopping(50, verbose=False)] if self.params["early_stopping"] else [])
        best = max(first.best_iteration or self.params["max_rounds"], 20) if self.params["early_stopping"] else self.params["max_rounds"]
        level = features.level_of(v, va)[:, None]
        pred_va = first.predict(x_va, num_iteration=best).reshape(len(va), h) * level
        self._residuals.fit(pred_va, y_va.reshape(len(va), h) * level)
        self.validation_mape = self._residuals.mape
        x_all = np.concatenate([x_tr, x_va])
        y_all = np.concatenate([y_tr, y_va])
        self._booster = lgb.train(params, lgb.Dataset(x_all, y_all, feature_name=names), num_boost_round=best)
        self.rounds_used = best

    def _predict(self, past: HourlySeries, horizon: int,
                 weather: np.ndarray | None = None) -> tuple[np.ndarray, dict[float, np.ndarray]]:
        v = past.values
        x = self._features(v, past.start_hour, np.array([len(v)]), np.arange(horizon), weather)
        level = features.level_of(v, np.array([len(v)]))[0]
        point = self._booster.predict(x, num_threads=1) * level
        return point, self._residuals.apply(point)

    def save_state(self, directory: Path) -> list[str]:
        text = self._booster.model_to_string(num_iteration=-1)
        with gzip.open(directory / "lightgbm.txt.gz", "wt", encoding="utf-8", compresslevel=9) as fh:
            fh.write(text)
        return ["lightgbm.txt.gz", *self._residuals.save(directory / "lightgbm_residuals.json")]

    def load_state(self, directory: Path) -> None:
        import lightgbm as lgb

        try:
            with gzip.open(directory / "lightgbm.txt.gz", "rt", encoding="utf-8") as fh:
                self._booster = lgb.Booster(model_str=fh.read())
        except (OSError, lgb.basic.LightGBMError) as exc:
            raise ModelFileError(f"{directory}: cannot load the LightGBM model: {exc}") from None
        self._residuals.load(directory / "lightgbm_residuals.json")
        self._mark_fitted()


class WeatherLightGBM(LightGBMForecaster):
    """LightGBM with weather covariates read under the day-ahead rule: a forecast issued
    at T reads weather only for hours before T + ``weather_window`` hours (a training-time
    setting, ``CENAS_FORECASTER_WEATHER_WINDOW_HOURS``, recorded in the model)."""

    name = "lightgbm_weather"

    def __init__(self, *, weather_window: int = 24, **params: Any) -> None:
        super().__init__(**params)
        if not isinstance(weather_window, int) or not 0 <= weather_window <= self.max_horizon:
            raise ValueError(f"weather_window must be an integer in 0..{self.max_horizon} hours, got {weather_window!r}")
        self.weather_window = weather_window
        self.params["weather_window"] = weather_window
