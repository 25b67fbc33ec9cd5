"""Forecasting models (pure: numbers in, numbers out) and their registry.

``make_model(name, **hyperparameters)`` builds an untrained model; see
:mod:`forecaster_svc.models.base` for the lifecycle every model follows.
"""

from __future__ import annotations

from typing import Any

from forecaster_svc.errors import UnknownModelError
from forecaster_svc.models.base import QUANTILES, Forecast, Forecaster, HourlyCovariates, HourlySeries


def _registry() -> dict[str, type[Forecaster]]:
    from forecaster_svc.models.ensemble import EnsembleForecaster
    from forecaster_svc.models.gbm import LightGBMForecaster, WeatherLightGBM
    from forecaster_svc.models.naive import SeasonalNaive
    from forecaster_svc.models.tst import PatchTSTForecaster

    return {"naive": SeasonalNaive, "lightgbm": LightGBMForecaster, "lightgbm_weather": WeatherLightGBM,
            "tst": PatchTSTForecaster,
            "ensemble": EnsembleForecaster}


MODEL_NAMES = ("tst", "lightgbm", "lightgbm_weather", "naive", "ensemble")


def make_model(name: str, **hyperparameters: Any) -> Forecaster:
    registry = _registry()
    if name not in registry:
        raise UnknownModelError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    return registry[name](**hyperparameters)


__all__ = ["QUANTILES", "Forecast", "Forecaster", "HourlyCovariates", "HourlySeries", "MODEL_NAMES", "make_model"]
