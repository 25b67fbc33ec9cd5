"""Replays are forecast by models that never saw the replayed hours (issue 22.5)."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

from cenas.carbon.traces import load_region
from forecaster_svc.models import HourlySeries
from forecaster_svc.models.naive import SeasonalNaive
from forecaster_svc.models.store import read_manifest
from forecaster_svc.replay_models import ReplayModels, cutoff_of
from forecaster_svc.training import bundled_weather

START = datetime(2021, 7, 2, 6, tzinfo=timezone.utc)


def test_a_replay_gets_a_model_trained_only_before_its_month(tmp_path):
    models = ReplayModels(tmp_path)
    model, label = models.for_replay("US-CAL-CISO", START)
    assert label == "cutoff 2021-07-01" and cutoff_of(START) == datetime(2021, 7, 1, tzinfo=timezone.utc)
    manifest = read_manifest(tmp_path / "US-CAL-CISO" / "2021-07-01")  # cached, with its provenance
    assert manifest["model"] == "ensemble" and manifest["train_end"] == "2021-07-01T00:00:00Z"  # not the shipped 2024 one
    assert sorted(manifest["hyperparameters"]["members"]) == ["lightgbm", "lightgbm_weather"]  # CISO has weather
    assert manifest["weather"]["window_hours"] == 24
    # the cache serves a restarted forecaster the same model
    again, _ = ReplayModels(tmp_path).for_replay("US-CAL-CISO", START)
    trace = load_region("US-CAL-CISO")
    series = HourlySeries.from_trace(trace)
    issue = datetime(2021, 7, 3, tzinfo=timezone.utc)
    weather = bundled_weather("US-CAL-CISO")
    first = model.forecast(series, issue, 24, weather=weather)
    assert first.model == "ensemble+weather24h"
    assert np.allclose(first.values, again.forecast(series, issue, 24, weather=weather).values)


def test_where_a_region_has_no_weather_its_replay_model_is_the_history_only_lightgbm(tmp_path):
    model, _ = ReplayModels(tmp_path).for_replay("GB", START)  # GB: no bundled weather
    assert model.name == "lightgbm" and not model.uses_weather


def test_a_replay_with_too_little_history_gets_the_naive_baseline(tmp_path):
    model, label = ReplayModels(tmp_path).for_replay("US-CAL-CISO", datetime(2021, 1, 5, tzinfo=timezone.utc))
    assert isinstance(model, SeasonalNaive) and label == "cutoff 2021-01-01"
