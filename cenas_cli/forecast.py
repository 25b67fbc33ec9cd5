"""`cenas forecast train` / `cenas forecast eval` (see API.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from cenas.carbon.traces import parse_utc
from forecaster_svc.errors import ForecastInputError

forecast_app = typer.Typer(help="Train and evaluate carbon-intensity forecasters.", no_args_is_help=True)

MODEL_HELP = "tst, lightgbm, lightgbm_weather, naive or ensemble (default: the shipped default, ensemble)"
WEATHER_HELP = ("use the region's bundled weather (ensemble gets a weather LightGBM member) under the day-ahead "
                "rule CENAS_FORECASTER_WEATHER_WINDOW_HOURS [24]; none for --trace-file or regions without weather")


def _weather(region: str | None, use: bool):
    """(weather covariates or None, the rule's window from the settings)."""
    from cenas.settings import Settings
    from forecaster_svc.training import bundled_weather

    window = Settings().forecaster_weather_window_hours
    return (bundled_weather(region) if use and region else None), window


def _time(text: str | None, option: str):
    if text is None:
        return None
    try:
        return parse_utc(text)
    except ValueError:
        raise ForecastInputError(f"{option}: {text!r} is not an ISO-8601 time (e.g. 2021-07-01T00:00:00Z)") from None


def _check_model(model: str | None) -> str:
    from forecaster_svc.models import MODEL_NAMES
    from forecaster_svc.training import DEFAULT_MODEL

    model = model or DEFAULT_MODEL
    if model not in MODEL_NAMES:
        raise ForecastInputError(f"--model: unknown model {model!r}; choose one of {', '.join(MODEL_NAMES)}")
    return model


@forecast_app.command("train")
def train_cmd(
    region: Optional[str] = typer.Option(None, help="a bundled region, e.g. US-CAL-CISO or carboncast/lifecycle/US-MIDA-PJM"),
    trace_file: Optional[Path] = typer.Option(None, "--trace-file", help="CSV with timestamp,carbon_intensity (hourly UTC)"),
    model: Optional[str] = typer.Option(None, help=MODEL_HELP),
    train_start: Optional[str] = typer.Option(None, help="first training hour [trace start]"),
    train_end: Optional[str] = typer.Option(None, help="training stops before this time [trace end]"),
    seed: int = typer.Option(0, help="random seed"),
    threads: int = typer.Option(2, min=1, help="CPU threads for training"),
    fill_gaps: bool = typer.Option(False, "--fill-gaps", help="interpolate missing hours of --trace-file"),
    out: Optional[Path] = typer.Option(None, help="model directory to write [forecast-models/<region>]"),
    weather: bool = typer.Option(True, "--weather/--no-weather", help=WEATHER_HELP),
) -> None:
    """Train a forecaster and save it with a model.json recording data window, seed,
    hyperparameters and library versions. The shipped models were made with
    `cenas forecast train --region R --out forecaster_svc/shipped/R`."""
    from forecaster_svc.training import load_series, train_and_save

    name = _check_model(model)
    trace = load_series(region, trace_file, fill_gaps)
    target = out or Path("forecast-models") / trace.name.replace("/", "_")
    covariates, window = _weather(region, weather)
    manifest = train_and_save(trace, target, model=name, train_start=_time(train_start, "--train-start"),
                              train_end=_time(train_end, "--train-end"), seed=seed, threads=threads,
                              source=str(trace_file) if trace_file else region, weather=covariates, weather_window=window)
    summary = {k: manifest.get(k) for k in ("region", "model", "train_start", "train_end", "train_seconds", "seed", "weather")}
    typer.echo(json.dumps({**summary, "out": str(target)}))


@forecast_app.command("eval")
def eval_cmd(
    region: Optional[str] = typer.Option(None, help="a bundled region, e.g. US-CAL-CISO or carboncast/lifecycle/US-MIDA-PJM"),
    trace_file: Optional[Path] = typer.Option(None, "--trace-file", help="CSV with timestamp,carbon_intensity (hourly UTC)"),
    model: Optional[str] = typer.Option(None, help=MODEL_HELP),
    train_start: Optional[str] = typer.Option(None, help="first training hour [trace start]"),
    train_end: Optional[str] = typer.Option(None, help="training stops before this time [--test-start]"),
    test_start: str = typer.Option("2021-07-01T00:00:00Z", help="first forecast issue day (00:00 UTC)"),
    test_end: str = typer.Option("2022-01-01T00:00:00Z", help="end of the test window (exclusive)"),
    horizon_hours: int = typer.Option(72, min=1, max=72, help="hours per forecast"),
    seed: int = typer.Option(0, help="random seed when training"),
    threads: int = typer.Option(2, min=1, help="CPU threads for training"),
    fill_gaps: bool = typer.Option(False, "--fill-gaps", help="interpolate missing hours of --trace-file"),
    json_path: Optional[Path] = typer.Option(None, "--json", help="also write the JSON result here"),
    weather: bool = typer.Option(True, "--weather/--no-weather", help=WEATHER_HELP),
) -> None:
    """Backtest: forecasts issued daily at 00:00 UTC over the test window; prints MAPE (%)
    and MAE per forecast day as JSON. Uses the shipped model when its training end matches,
    else trains first."""
    from forecaster_svc.training import evaluate, load_series

    name = _check_model(model)
    trace = load_series(region, trace_file, fill_gaps)
    t_start = _time(test_start, "--test-start")
    covariates, window = _weather(region, weather)
    result = evaluate(trace, model=name, train_start=_time(train_start, "--train-start"),
                      train_end=_time(train_end, "--train-end") or t_start, test_start=t_start,
                      test_end=_time(test_end, "--test-end"), horizon=horizon_hours, seed=seed, threads=threads,
                      weather=covariates, weather_window=window)
    text = json.dumps(result)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(text + "\n")
    typer.echo(text)
