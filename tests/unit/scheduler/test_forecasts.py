"""Forecast sources: what each may see, determinism, and the simulator's hourly issue."""

from __future__ import annotations

import numpy as np
import pytest

from scheduler_svc.simulator.allocation import Allocation
from scheduler_svc.simulator.engine import SimulationConfig, Simulator
from scheduler_svc.simulator.forecasts import (
    NoisyForecast,
    SeasonalNaiveForecast,
    TrueForecast,
    episode_forecast,
    make_forecast_source,
)

VALUES = np.arange(200, dtype=float) + 100.0


def test_true_is_the_future_and_stops_at_the_trace_end():
    f = TrueForecast().issue(VALUES, 10, 5)
    assert np.array_equal(f.mean, VALUES[11:16]) and not f.std.any()
    assert len(TrueForecast().issue(VALUES, 197, 72).mean) == 2


def test_seasonal_naive_uses_only_the_past():
    future_changed = VALUES.copy()
    future_changed[51:] = -1.0
    a = SeasonalNaiveForecast().issue(VALUES, 50, 48)
    b = SeasonalNaiveForecast().issue(future_changed, 50, 48)
    assert np.array_equal(a.mean, b.mean)
    assert a.mean[0] == VALUES[50 + 1 - 24] and a.mean[23] == VALUES[50] and a.mean[24] == VALUES[50 + 25 - 48]


def test_noisy_is_deterministic_per_seed_and_issue_hour():
    source = NoisyForecast(sigma_day1=0.1, seed=3)
    assert np.array_equal(source.issue(VALUES, 20, 72).mean, source.issue(VALUES, 20, 72).mean)
    assert not np.array_equal(source.issue(VALUES, 20, 72).mean, NoisyForecast(sigma_day1=0.1, seed=4).issue(VALUES, 20, 72).mean)
    relative = source.issue(VALUES, 20, 72).mean / VALUES[21:93]
    assert 0.5 < relative.min() and relative.max() < 2.0
    with pytest.raises(ValueError, match="sigma_day1 must be >= 0, got -1"):
        NoisyForecast(sigma_day1=-1)


def test_unknown_source_is_named():
    with pytest.raises(ValueError, match="unknown forecast source 'crystal'"):
        make_forecast_source("crystal")


def test_simulator_issues_a_fresh_forecast_each_hour(nb201):
    first = 48
    sim = Simulator(nb201, VALUES[first : first + 3], SimulationConfig(gpus=2, hours=3), forecast=episode_forecast(TrueForecast(), VALUES, first, 4))
    seen = []
    while not sim.done:
        obs = sim.observe()
        seen.append(obs.forecast)
        assert obs.forecast_std is not None and len(obs.forecast_std) == len(obs.forecast)
        sim.step(Allocation(1, 1))
    assert [f[0] for f in seen] == [VALUES[49], VALUES[50], VALUES[51]]


def test_the_noisy_spread_does_not_reveal_the_truth():
    source = NoisyForecast(sigma_day1=0.1, seed=3)
    issued = source.issue(VALUES, 20, 72)
    truth = VALUES[21:93]
    sigma = source.sigmas(len(issued.mean))
    assert np.allclose(issued.std / sigma, issued.mean)  # its own band
    assert not np.allclose(issued.std / sigma, truth[: len(issued.mean)])
