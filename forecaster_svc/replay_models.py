"""Forecast models for replayed searches that never saw the hours being replayed.

The shipped models are trained through the end of the bundled traces, so a replay of
those years would be forecast by a model that learned them: in-sample forecasts flatter
every forecast-reading policy. A replay starting at trace time T instead gets a model
trained only on the hours before T's month (the cut-off): the shipped one when its
training ended by then, else a LightGBM trained on the fly on the bundled trace before the
cut-off (a few seconds: fewer rows and rounds than the shipped recipe), cached in memory
and under `<data_dir>/forecaster/replay/<region>/<cut-off>/`; with too little history
before the cut-off, the seasonal-naive baseline. The forecast's model name carries the
cut-off, so each decision says which model it used. Where the region has bundled weather
(replays are of the bundled years), the on-the-fly model is an ensemble of that LightGBM
and a weather LightGBM on the same recipe (the day-ahead rule of the settings); its
forecasts fall back to the history-only member where the weather files end.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from cenas.carbon.traces import as_utc, load_region
from forecaster_svc.errors import ModelFileError
from forecaster_svc.models import Forecaster
from forecaster_svc.models.naive import SeasonalNaive
from forecaster_svc.models.store import load_model, read_manifest, save_model
from forecaster_svc.training import DEFAULT_WEATHER_WINDOW, bundled_weather, shipped_dir, train

log = logging.getLogger(__name__)
#: the on-the-fly recipe: the shipped LightGBM's, on fewer rows and rounds (seconds, not minutes)
ON_THE_FLY = {"max_rounds": 200, "max_rows": 50_000}
#: hours of history a trained model needs at least (lookback + horizon + validation)
MIN_TRAIN_HOURS = 24 * 21
HOUR = timedelta(hours=1)


def cutoff_of(trace_start: datetime) -> datetime:
    """The first instant of the month of ``trace_start``: nothing at or after it is learned."""
    start = as_utc(trace_start)
    return datetime(start.year, start.month, 1, tzinfo=timezone.utc)


class ReplayModels:
    def __init__(self, cache_dir: Path | None = None, *, shipped: Callable[[str], Path] = shipped_dir, threads: int = 1,
                 weather_window: int | None = DEFAULT_WEATHER_WINDOW) -> None:
        self.cache_dir = cache_dir
        self.shipped = shipped
        self.threads = threads
        self.weather_window = weather_window  # None: history-only models
        self._models: dict[tuple[str, datetime], Forecaster] = {}

    def for_replay(self, region: str, trace_start: datetime) -> tuple[Forecaster, str]:
        """(model, label) for a replay of ``region`` from ``trace_start``."""
        cutoff = cutoff_of(trace_start)
        label = f"cutoff {cutoff:%Y-%m-%d}"
        key = (region, cutoff)
        if key not in self._models:
            self._models[key] = self._build(region, cutoff)
        return self._models[key], label

    def _build(self, region: str, cutoff: datetime) -> Forecaster:
        try:
            manifest = read_manifest(self.shipped(region))
            if as_utc(datetime.fromisoformat(manifest["train_end"].replace("Z", "+00:00"))) <= cutoff:
                return load_model(self.shipped(region))[0]
        except (ModelFileError, KeyError, ValueError):
            pass
        cached = self.cache_dir / region / f"{cutoff:%Y-%m-%d}" if self.cache_dir else None
        if cached is not None:
            try:
                return load_model(cached)[0]
            except ModelFileError:
                pass
        trace = load_region(region)
        hours = int((cutoff - trace.start).total_seconds() // 3600)
        if hours < MIN_TRAIN_HOURS:
            log.info("%s: %d hours before %s; the seasonal-naive baseline forecasts this replay", region, max(hours, 0), f"{cutoff:%Y-%m-%d}")
            return SeasonalNaive.ready()
        weather = bundled_weather(region) if self.weather_window is not None else None
        if weather is not None and not np.all(np.isfinite(weather.block(cutoff - MIN_TRAIN_HOURS * HOUR, MIN_TRAIN_HOURS))):
            weather = None  # no weather for the hours before the cut-off (past the files' end): history only
        log.info("%s: training a LightGBM%s on %d hours before %s for replays (the shipped model saw them)", region,
                 " and a weather LightGBM" if weather is not None else "", hours, f"{cutoff:%Y-%m-%d}")
        if weather is None:
            model, info = train(trace, model="lightgbm", train_end=cutoff, threads=self.threads, hyperparameters=ON_THE_FLY)
        else:
            members = {"lightgbm": ON_THE_FLY, "lightgbm_weather": {**ON_THE_FLY, "weather_window": self.weather_window}}
            model, info = train(trace, model="ensemble", train_end=cutoff, threads=self.threads, weather=weather,
                                weather_window=int(self.weather_window), hyperparameters={"members": members})
        if cached is not None:
            try:
                save_model(model, cached, info)
            except OSError as exc:  # a read-only data dir costs a retrain next start, nothing else
                log.warning("could not cache the replay model in %s: %s", cached, exc)
        return model
