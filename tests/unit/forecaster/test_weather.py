"""Weather covariates: the kernel loader, the day-ahead rule (features, models, service),
and that nothing after a forecast's issue time (carbon, or weather past the rule's window)
can move it."""

from __future__ import annotations

import gzip
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from cenas.carbon.providers import ReplayProvider
from cenas.carbon.traces import CarbonTrace
from cenas.carbon.weather import (WEATHER_COLUMNS, load_bundled_weather, load_weather_file, parse_weather_time,
                                  weather_region)
from cenas.clock import ManualClock
from cenas.errors import InvalidTraceError
from cenas.settings import Settings
from forecaster_svc.errors import ForecastInputError
from forecaster_svc.models import HourlyCovariates, HourlySeries, make_model
from forecaster_svc.models import features
from forecaster_svc.models.ensemble import EnsembleForecaster
from forecaster_svc.models.store import load_model, save_model
from forecaster_svc.service import ForecastService
from forecaster_svc.training import train

HOUR = timedelta(hours=1)
START = datetime(2021, 1, 4, tzinfo=timezone.utc)
HEADER = "datetime," + ",".join(WEATHER_COLUMNS)
TINY_LGB = {"max_rounds": 15, "num_leaves": 7, "max_rows": 5000, "threads": 1}


# -- the kernel loader -------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("2019-1-1 0:00:00+00:00", datetime(2019, 1, 1, 0, tzinfo=timezone.utc)),
    ("2019-01-01 0:00:00+00:00", datetime(2019, 1, 1, 0, tzinfo=timezone.utc)),
    ("2019-01-01 0:00", datetime(2019, 1, 1, 0, tzinfo=timezone.utc)),
    ("2021-12-31 23:00", datetime(2021, 12, 31, 23, tzinfo=timezone.utc)),
    ("2019-03-05 7:00:00+02:00", datetime(2019, 3, 5, 5, tzinfo=timezone.utc)),
    ("2019-03-05T07:00:00Z", datetime(2019, 3, 5, 7, tzinfo=timezone.utc)),
])
def test_every_timestamp_spelling_parses_as_utc(text, expected):
    assert parse_weather_time(text) == expected


@pytest.mark.parametrize("text", ["2019/01/01 0:00", "01-01-2019 0:00", "2019-01-01", ""])
def test_unknown_spellings_are_refused(text):
    with pytest.raises(ValueError):
        parse_weather_time(text)


def _write(path, lines: list[str], gz: bool = False) -> None:
    text = "\n".join([HEADER, *lines]) + "\n"
    if gz:
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)


def test_all_zero_rows_are_missing_not_weather(tmp_path):
    path = tmp_path / "XX.csv.gz"
    _write(path, ["2019-1-1 0:00:00+00:00,3,280,270,0,0",     # dswrf 0 at night, precip 0: real weather
                  "2019-01-01 1:00:00+00:00,0,0,0,0,0",        # filler
                  "2019-01-01 2:00,4,281,271,10,0.5",
                  "2019-01-01 3:00,0,0,0,0,0",                 # zero-filled tail
                  "2019-01-01 4:00,0,0,0,0,0"], gz=True)
    trace = load_weather_file(path)
    assert trace.name == "XX" and trace.start == datetime(2019, 1, 1, tzinfo=timezone.utc)
    assert len(trace) == 3  # the tail of zeros is not data: the trace ends at its last real hour
    np.testing.assert_array_equal(trace.values[0], [3, 280, 270, 0, 0])
    assert np.all(np.isnan(trace.values[1]))  # a filler row inside the file is a missing hour
    np.testing.assert_array_equal(trace.values[2], [4, 281, 271, 10, 0.5])
    block = trace.aligned(datetime(2018, 12, 31, 23, tzinfo=timezone.utc), 6)  # a carbon series' hours
    assert np.all(np.isnan(block[0])) and block[1, 0] == 3 and np.all(np.isnan(block[2])) and block[3, 0] == 4
    assert np.all(np.isnan(block[4:]))


def test_bad_files_are_refused_with_the_row(tmp_path):
    path = tmp_path / "bad.csv"
    _write(path, ["2019-01-01 1:00,1,2,3,4,5", "2019-01-01 0:00,1,2,3,4,5"])
    with pytest.raises(InvalidTraceError, match="row 3"):
        load_weather_file(path)
    _write(path, ["2019-01-01 0:30,1,2,3,4,5"])
    with pytest.raises(InvalidTraceError, match="not on the hour"):
        load_weather_file(path)
    path.write_text("datetime,wind\n2019-01-01 0:00,1\n")
    with pytest.raises(InvalidTraceError, match="missing column"):
        load_weather_file(path)


def test_the_bundled_files_load_and_lose_their_zero_tail():
    pjm = load_bundled_weather("carboncast/lifecycle/US-MIDA-PJM")
    assert weather_region("carboncast/lifecycle/US-MIDA-PJM") == "US-MIDA-PJM"
    assert pjm.start == datetime(2019, 1, 1, tzinfo=timezone.utc)
    assert pjm.start + (len(pjm) - 1) * HOUR == datetime(2023, 1, 2, 23, tzinfo=timezone.utc)  # 2023-01-03 is zeros
    assert not np.any(np.all(pjm.values == 0, axis=1)) and np.all(np.isfinite(pjm.values))
    assert 250 < np.nanmean(pjm.values[:, 1]) < 300  # temperature in kelvin
    assert load_bundled_weather("GB") is None and load_bundled_weather("direct/GB") is None


# -- the rule in the features ----------------------------------------------------------------
@pytest.mark.parametrize("window", [0, 24, 48])
def test_features_never_read_weather_at_or_after_issue_plus_window(window):
    rng = np.random.default_rng(0)
    weather = rng.normal(size=(600, 5))
    issues, leads = np.array([400, 430]), np.arange(72)
    assert features.weather_hours(issues, leads, window).max() < issues.max() + window
    base = features.weather_features(weather, issues, leads, window)
    for i, issue in enumerate(issues):
        tampered = weather.copy()
        tampered[issue + window :] = rng.normal(100, 50, size=tampered[issue + window :].shape)
        np.testing.assert_array_equal(features.weather_features(tampered, issues[i : i + 1], leads, window), base[i : i + 1])
        if window:  # and the window itself is read: the rule is not vacuous
            inside = weather.copy()
            inside[issue + window - 1] += 10
            assert not np.array_equal(features.weather_features(inside, issues[i : i + 1], leads, window), base[i : i + 1])


def test_day_two_and_three_read_day_one_weather():
    hours = features.weather_hours(np.array([100]), np.arange(72), 24)[0]
    np.testing.assert_array_equal(hours[:24], 100 + np.arange(24))
    np.testing.assert_array_equal(hours[24:48], 100 + np.arange(24))  # same hour of day, in the window
    np.testing.assert_array_equal(hours[48:], 100 + np.arange(24))


# -- models ----------------------------------------------------------------------------------
def synthetic_with_weather(hours: int = 1100, seed: int = 0) -> tuple[HourlySeries, HourlyCovariates]:
    """Carbon that depends on a (persistent, random) wind: weather is worth reading."""
    rng = np.random.default_rng(seed)
    t = np.arange(hours)
    wind = np.zeros(hours)
    for i in range(1, hours):
        wind[i] = 0.97 * wind[i - 1] + rng.normal(0, 0.5)
    wx = np.column_stack([5 + wind, 285 + 5 * np.sin(2 * np.pi * t / 24), 275 + rng.normal(0, 1, hours),
                          np.maximum(0, 400 * np.sin(2 * np.pi * t / 24)), np.abs(rng.normal(0, 0.2, hours))])
    carbon = 300 + 60 * np.sin(2 * np.pi * t / 24) - 25 * wind + rng.normal(0, 5, hours)
    return HourlySeries(START, carbon), HourlyCovariates(START, wx)


@pytest.fixture(scope="module")
def data():
    return synthetic_with_weather()


@pytest.fixture(scope="module")
def weather_models(data):
    series, weather = data
    head = HourlySeries(series.start, series.values[:900])
    gbm = make_model("lightgbm_weather", **TINY_LGB).fit(head, weather)
    ens = make_model("ensemble", members={"lightgbm": dict(TINY_LGB), "lightgbm_weather": dict(TINY_LGB)},
                     threads=1).fit(head, weather)
    return {"lightgbm_weather": gbm, "ensemble": ens}


ISSUE = START + 950 * HOUR


@pytest.mark.parametrize("name", ["lightgbm_weather", "ensemble"])
def test_a_forecast_is_unchanged_when_everything_after_its_issue_time_is_noise(weather_models, data, name):
    """Carbon at and after T, and weather at and after T + 24 h, replaced by noise: the
    forecast issued at T does not move by a bit."""
    model = weather_models[name]
    series, weather = data
    i = int((ISSUE - series.start) / HOUR)
    rng = np.random.default_rng(7)
    carbon = series.values.copy()
    carbon[i:] = rng.uniform(1, 5000, len(carbon) - i)
    wx = weather.values.copy()
    wx[i + 24 :] = rng.uniform(-1000, 1000, wx[i + 24 :].shape)
    a = model.forecast(series, ISSUE, 72, weather=weather)
    b = model.forecast(HourlySeries(series.start, carbon), ISSUE, 72, weather=HourlyCovariates(START, wx))
    assert a.model == f"{name}+weather24h" == b.model
    np.testing.assert_array_equal(a.values, b.values)
    for level in a.quantiles:
        np.testing.assert_array_equal(a.quantiles[level], b.quantiles[level])


@pytest.mark.parametrize("name", ["lightgbm_weather", "ensemble"])
def test_weather_inside_the_window_does_move_the_forecast(weather_models, data, name):
    series, weather = data
    i = int((ISSUE - series.start) / HOUR)
    wx = weather.values.copy()
    wx[i : i + 24, 0] += 8  # a windy day ahead
    a = weather_models[name].forecast(series, ISSUE, 72, weather=weather).values
    b = weather_models[name].forecast(series, ISSUE, 72, weather=HourlyCovariates(START, wx)).values
    assert np.mean(b[:24]) < np.mean(a[:24]) - 1  # wind lowers carbon here: the model learned to read it


def test_the_base_class_cuts_weather_at_the_models_window(weather_models, data):
    series, weather = data
    past = series.before(ISSUE).between(ISSUE - 336 * HOUR, ISSUE)
    block = weather_models["lightgbm_weather"].known_weather(weather, past)
    assert block.shape == (336 + 24, 5)
    np.testing.assert_array_equal(block, weather.block(past.start, 360))
    longer = HourlyCovariates(START, weather.values)  # more weather than the rule allows is simply not handed over
    assert np.array_equal(weather_models["lightgbm_weather"].known_weather(longer, past), block)


def test_without_weather_the_ensemble_forecasts_from_history_and_says_so(weather_models, data):
    series, weather = data
    ens = weather_models["ensemble"]
    history_only = ens.forecast(series, ISSUE, 72)
    assert history_only.model == "ensemble"
    np.testing.assert_allclose(history_only.values, ens.members["lightgbm"].forecast(series, ISSUE, 72).values)
    gap = weather.values.copy()
    gap[int((ISSUE - START) / HOUR) + 3] = np.nan  # one missing hour in the window: no weather
    assert ens.forecast(series, ISSUE, 72, weather=HourlyCovariates(START, gap)).model == "ensemble"
    with pytest.raises(ForecastInputError, match="needs weather"):
        weather_models["lightgbm_weather"].forecast(series, ISSUE, 72)


def test_weather_models_refuse_to_train_without_weather(data):
    with pytest.raises(ForecastInputError, match="needs weather"):
        make_model("lightgbm_weather", **TINY_LGB).fit(data[0])
    with pytest.raises(ValueError, match="weather_window"):
        make_model("lightgbm_weather", weather_window=100)
    ens = EnsembleForecaster(members={"lightgbm": {}, "lightgbm_weather": {"weather_window": 24}}, threads=1)
    ens.members["lightgbm"] = make_model("lightgbm_weather", weather_window=12)  # two rules in one ensemble
    with pytest.raises(ValueError, match="one weather_window"):
        ens._sync_members()


def test_a_weather_model_learns_only_where_weather_exists(data):
    """Weather missing from hour 600 on (like the files' end): the model trains and
    validates on the covered issue times, so its validation error is a weather error."""
    series, weather = data
    wx = weather.values.copy()
    wx[600:] = np.nan
    head = HourlySeries(series.start, series.values[:900])
    model = make_model("lightgbm_weather", **TINY_LGB).fit(head, HourlyCovariates(START, wx))
    plain = make_model("lightgbm_weather", **TINY_LGB).fit(head, weather)
    assert np.all(np.isfinite(model.validation_mape))
    assert not np.allclose(model.validation_mape, plain.validation_mape)  # another (earlier) held-out tail
    early = START + 500 * HOUR
    assert model.forecast(series, early, 72, weather=HourlyCovariates(START, wx)).model == "lightgbm_weather+weather24h"
    wx[:] = np.nan
    with pytest.raises(ForecastInputError, match="have weather"):
        make_model("lightgbm_weather", **TINY_LGB).fit(head, HourlyCovariates(START, wx))


def test_training_reads_no_weather_after_the_training_window(data):
    """Weather after the cut-off is replaced by noise: the trained model is the same."""
    series, weather = data
    trace = CarbonTrace("XX", series.start, series.values)
    cut = START + 900 * HOUR
    wx = weather.values.copy()
    wx[900:] = np.random.default_rng(3).uniform(-500, 500, wx[900:].shape)
    a, info = train(trace, model="lightgbm_weather", train_end=cut, threads=1, hyperparameters=TINY_LGB, weather=weather)
    b, _ = train(trace, model="lightgbm_weather", train_end=cut, threads=1, hyperparameters=TINY_LGB,
                 weather=HourlyCovariates(START, wx))
    assert info["weather"]["window_hours"] == 24 and "h < T + 24 h" in info["weather"]["rule"]
    np.testing.assert_array_equal(a.forecast(series, ISSUE, 72, weather=weather).values,
                                  b.forecast(series, ISSUE, 72, weather=weather).values)


def test_a_saved_weather_ensemble_loads_with_its_rule(weather_models, data, tmp_path):
    series, weather = data
    save_model(weather_models["ensemble"], tmp_path / "m", {"region": "XX"})
    loaded, manifest = load_model(tmp_path / "m")
    assert loaded.weather_window == 24 and manifest["hyperparameters"]["members"]["lightgbm_weather"]["weather_window"] == 24
    again = loaded.forecast(series, ISSUE, 72, weather=weather)
    assert again.model == "ensemble+weather24h"
    np.testing.assert_allclose(again.values, weather_models["ensemble"].forecast(series, ISSUE, 72, weather=weather).values,
                               rtol=1e-6)  # the weights are saved to 6 decimals


def test_the_rule_is_a_setting(monkeypatch):
    assert Settings().forecaster_weather_window_hours == 24
    monkeypatch.setenv("CENAS_FORECASTER_WEATHER_WINDOW_HOURS", "12")
    assert Settings().forecaster_weather_window_hours == 12
    monkeypatch.setenv("CENAS_FORECASTER_WEATHER_WINDOW_HOURS", "96")
    with pytest.raises(ValueError):
        Settings()


# -- the service -----------------------------------------------------------------------------
class _Publisher:
    def __init__(self) -> None:
        self.sent: list = []

    def publish(self, message) -> None:
        self.sent.append(message)


def _service(model, data, weather, window: int = 24) -> ForecastService:
    series, _ = data
    clock = ManualClock(ISSUE + timedelta(minutes=10))
    provider = ReplayProvider(clock, {"XX": CarbonTrace("XX", series.start, series.values)})
    return ForecastService(regions=["XX"], provider=provider, models={"XX": model}, publisher=_Publisher(),
                           save=lambda m: None, clock=clock, weather=weather, weather_window=window)


def test_the_service_uses_weather_where_the_region_has_it_and_says_so(weather_models, data):
    model = weather_models["ensemble"]
    with_wx = _service(model, data, lambda region: data[1]).forecast_region("XX")
    assert with_wx.model == "ensemble+weather24h" and with_wx.issued_at == ISSUE
    expected = model.forecast(data[0], ISSUE, 72, weather=data[1]).values
    np.testing.assert_allclose([p.intensity for p in with_wx.points], np.maximum(expected, 0))
    live = _service(model, data, lambda region: None).forecast_region("XX")  # live: weather from nowhere
    assert live.model == "ensemble" and len(live.points) == 72
    stricter = _service(model, data, lambda region: data[1], window=12).forecast_region("XX")
    assert stricter.model == "ensemble"  # the settings' rule is shorter than the model's: no weather

    def broken(region):
        raise OSError("weather store away")
    assert _service(model, data, broken).forecast_region("XX").model == "ensemble"


# -- shipped models --------------------------------------------------------------------------
def test_the_shipped_weather_models_read_weather_in_replay_and_none_live():
    from cenas.carbon.traces import load_region
    from forecaster_svc.training import bundled_weather, shipped_dir

    model, manifest = load_model(shipped_dir("DE"))
    assert manifest["weather"]["window_hours"] == 24 and model.weather_window == 24
    series = HourlySeries.from_trace(load_region("DE"))
    issue = datetime(2021, 10, 1, tzinfo=timezone.utc)
    with_wx = model.forecast(series, issue, 72, weather=bundled_weather("DE"))
    live = model.forecast(series, issue, 72)
    assert with_wx.model == "ensemble+weather24h" and live.model == "ensemble"
    assert not np.allclose(with_wx.values, live.values)
    # past the weather files' end (DE: 2021) the same model forecasts from history alone
    assert model.forecast(series, datetime(2023, 6, 1, tzinfo=timezone.utc), 72, weather=bundled_weather("DE")).model == "ensemble"
    gb, _ = load_model(shipped_dir("GB"))
    assert not gb.uses_weather and gb.forecast(HourlySeries.from_trace(load_region("GB")), issue, 72).model == "ensemble"


def test_an_old_history_only_model_still_loads_and_ignores_weather(data, tmp_path):
    """A model saved before weather existed (its manifest names no weather member)."""
    series, weather = data
    old = make_model("ensemble", members={"naive": {}, "lightgbm": dict(TINY_LGB)}, threads=1)
    old.fit(HourlySeries(series.start, series.values[:900]))
    save_model(old, tmp_path / "old", {"region": "XX"})
    loaded, manifest = load_model(tmp_path / "old")
    assert "weather" not in manifest and not loaded.uses_weather
    fc = loaded.forecast(series, ISSUE, 72, weather=weather)
    assert fc.model == "ensemble"
    np.testing.assert_allclose(fc.values, loaded.forecast(series, ISSUE, 72).values)
