"""Wires settings to the service: provider, clock, models, publisher, database.

Tests call :func:`build_provider` / :func:`load_models` with their own settings and fakes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from cenas.carbon.providers import ReplayProvider, live_provider
from cenas.carbon.providers.base import CarbonSignalProvider
from cenas.clock import Clock, ReplayClock, WallClock
from cenas.settings import Settings
from forecaster_svc.errors import ModelFileError
from forecaster_svc.models import Forecaster, HourlyCovariates
from forecaster_svc.models.naive import SeasonalNaive
from forecaster_svc.models.store import load_model
from forecaster_svc.training import bundled_weather, shipped_dir

log = logging.getLogger(__name__)


def build_clock(settings: Settings) -> Clock:
    if settings.carbon_signal == "replay":
        return ReplayClock(settings.replay_start, settings.replay_seconds_per_hour)
    return WallClock()


def build_provider(settings: Settings, clock: Clock) -> CarbonSignalProvider:
    if settings.carbon_signal == "replay":
        return ReplayProvider(clock)
    return live_provider(settings, settings.carbon_signal)


def build_weather(settings: Settings, *, replay: bool | None = None) -> Callable[[str], HourlyCovariates | None]:
    """Where weather comes from: the bundled files when forecasting a replay (the same
    years as the bundled traces), nowhere live (no weather feed exists yet)."""
    forecasts_replays = settings.carbon_signal == "replay" if replay is None else replay
    return bundled_weather if forecasts_replays else (lambda region: None)


def load_models(regions: list[str], model_dir: Path | None = None) -> dict[str, Forecaster]:
    """The trained model of each region; a seasonal-naive fallback (logged) where none exists."""
    models: dict[str, Forecaster] = {}
    for region in regions:
        directory = (model_dir / region) if model_dir else shipped_dir(region)
        try:
            models[region], manifest = load_model(directory)
            log.info("%s: %s model trained on %s .. %s", region, manifest["model"], manifest["train_start"], manifest["train_end"])
        except ModelFileError as exc:
            log.warning("%s: no trained model (%s); using the seasonal-naive baseline", region, exc)
            models[region] = SeasonalNaive.ready()
    return models


def interval(settings: Settings) -> timedelta:
    return timedelta(hours=settings.forecaster_interval_hours)
