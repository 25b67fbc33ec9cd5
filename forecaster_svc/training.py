"""Training and evaluation recipes used by the CLI and the service (no argument parsing).

Data access goes through the kernel's trace loader; everything else is pure.
"""

from __future__ import annotations

import time
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from cenas.carbon.traces import BUNDLED_REGIONS, CarbonTrace, load_region
from cenas.carbon.weather import load_bundled_weather, weather_region
from cenas.settings import Settings
from forecaster_svc import evaluation
from forecaster_svc.errors import ForecastInputError, ModelFileError
from forecaster_svc.models import Forecaster, HourlyCovariates, HourlySeries, make_model
from forecaster_svc.models.base import HOUR, utc
from forecaster_svc.models.store import load_model, read_manifest, save_model, values_digest

#: The model shipped for every bundled region (chosen on the 2021 and 2023 backtests).
DEFAULT_MODEL = "ensemble"
SHIPPED_REGIONS = BUNDLED_REGIONS
#: The day-ahead rule's default (hours after the issue time whose weather may be read):
#: the settings' default, so the CLI, the service and the benchmark agree.
DEFAULT_WEATHER_WINDOW: int = Settings.model_fields["forecaster_weather_window_hours"].default


def bundled_weather(series: str) -> HourlyCovariates | None:
    """The bundled weather covariates for a bundled carbon series' region (None: none)."""
    trace = load_bundled_weather(series)
    return None if trace is None else HourlyCovariates.from_weather(trace)


def weather_members(weather_window: int) -> dict[str, dict[str, Any]]:
    """The ensemble's members where weather exists: the history-only pair plus a weather
    LightGBM; weights (1/MAPE² per day on the held-out tail) decide how much each counts,
    and the history-only pair alone forecasts when weather is missing."""
    return {"lightgbm": {}, "lightgbm_weather": {"weather_window": weather_window}, "tst": {}}


def shipped_dir(region: str) -> Path:
    return Path(str(resources.files("forecaster_svc") / "shipped" / region))


def _iso(when: datetime) -> str:
    return utc(when).strftime("%Y-%m-%dT%H:%M:%SZ")


def train(trace: CarbonTrace, *, model: str = DEFAULT_MODEL, train_start: datetime | None = None,
          train_end: datetime | None = None, seed: int = 0, threads: int = 2,
          hyperparameters: dict[str, Any] | None = None, source: str | None = None,
          weather: HourlyCovariates | None = None,
          weather_window: int = DEFAULT_WEATHER_WINDOW) -> tuple[Forecaster, dict[str, Any]]:
    """Fit ``model`` on the hours of ``trace`` in ``[train_start, train_end)``.

    With ``weather``, ``ensemble`` gets a weather member (:func:`weather_members`) and
    ``lightgbm_weather`` its rule, both ``weather_window``; weather is only ever read for
    the training window's hours. Returns the fitted model and the provenance record.
    """
    series = HourlySeries.from_trace(trace)
    start = utc(train_start) if train_start else series.start
    end = utc(train_end) if train_end else series.start + len(series) * HOUR
    window = series.between(start, end)
    if len(window) == 0:
        raise ForecastInputError(f"no data in the training window {_iso(start)} .. {_iso(end)} of {trace.name}")
    hp = dict(hyperparameters or {})
    if model == "lightgbm_weather":
        hp = {"weather_window": weather_window, **hp}
    if model == "ensemble" and weather is not None and "members" not in hp:
        hp["members"] = weather_members(weather_window)
    if model != "naive":
        hp = {"seed": seed, "threads": threads, **hp}
    forecaster = make_model(model, **hp)
    if forecaster.uses_weather and weather is None:
        raise ForecastInputError(f"{model} reads weather, and {trace.name} has none bundled")
    t0 = time.perf_counter()
    forecaster.fit(window, weather)  # a history-only model ignores it
    seconds = time.perf_counter() - t0
    info = {
        "region": trace.name, "source": source or trace.name, "seed": seed,
        "train_start": _iso(window.start), "train_end": _iso(window.start + len(window) * HOUR),
        "train_hours": len(window), "train_values_sha256": values_digest(window.values),
        "train_seconds": round(seconds, 2), "threads": threads,
        "trained_at": _iso(datetime.now().astimezone()),
        "weather": None if not forecaster.uses_weather or weather is None else {
            "source": f"cenas/data/weather/{weather_region(trace.name)}.csv.gz", "window_hours": forecaster.weather_window,
            "rule": f"a forecast issued at T reads weather for hours h < T + {forecaster.weather_window} h",
            "train_values_sha256": values_digest(weather.block(window.start, len(window)))},
    }
    return forecaster, info


def train_and_save(trace: CarbonTrace, out: Path, **kwargs: Any) -> dict[str, Any]:
    forecaster, info = train(trace, **kwargs)
    save_model(forecaster, out, info)
    return read_manifest(out)


def shipped_model(region: str, model: str, train_end: datetime | None) -> tuple[Forecaster, dict[str, Any]] | None:
    """The shipped model for ``region`` when its name and training end match, else None."""
    directory = shipped_dir(region)
    try:
        manifest = read_manifest(directory)
    except ModelFileError:
        return None
    if manifest["model"] != model or (train_end is not None and manifest["train_end"] != _iso(train_end)):
        return None
    return load_model(directory)


def evaluate(trace: CarbonTrace, *, model: str = DEFAULT_MODEL, train_start: datetime | None = None,
             train_end: datetime, test_start: datetime, test_end: datetime, horizon: int = 72, seed: int = 0,
             threads: int = 2, use_shipped: bool = True, weather: HourlyCovariates | None = None,
             weather_window: int = DEFAULT_WEATHER_WINDOW) -> dict[str, Any]:
    """Backtest per API.md; trains first unless a shipped model has the same training end.
    ``weather`` (when given) is used by weather models under their rule."""
    if utc(train_end) > utc(test_start):
        raise ForecastInputError(f"--train-end {_iso(train_end)} is after --test-start {_iso(test_start)}: the test would see training data")
    found = shipped_model(trace.name, model, train_end) if use_shipped and train_start is None else None
    if found is not None:
        forecaster, info = found
        trained = False
    else:
        forecaster, info = train(trace, model=model, train_start=train_start, train_end=train_end, seed=seed, threads=threads,
                                 weather=weather, weather_window=weather_window)
        trained = True
    series = HourlySeries.from_trace(trace)
    t0 = time.perf_counter()
    result = evaluation.backtest(forecaster, series, test_start, test_end, horizon, weather=weather)
    per_forecast_ms = 1000 * (time.perf_counter() - t0) / max(len(result.issued), 1)
    return {"region": trace.name, "model": model, **result.summary(),
            "train_start": info["train_start"], "train_end": info["train_end"],
            "test_start": _iso(test_start), "test_end": _iso(test_end), "horizon_hours": horizon,
            "trained": trained, "train_seconds": info.get("train_seconds"),
            "weather_rule_hours": forecaster.weather_window if forecaster.uses_weather and weather is not None else None,
            "forecast_ms": round(per_forecast_ms, 2)}


def load_series(region: str | None, trace_file: Path | None, fill_gaps: bool = False) -> CarbonTrace:
    from cenas.carbon.traces import load_trace

    if (region is None) == (trace_file is None):
        raise ForecastInputError("give exactly one of --region or --trace-file")
    if trace_file is not None:
        return load_trace(trace_file, fill_gaps=fill_gaps)
    return load_region(region)  # type: ignore[arg-type]
