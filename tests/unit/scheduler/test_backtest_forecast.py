"""The `backtest` forecast: the real forecaster's error paths, persistent over the hours
of a forecast, with a spread that says nothing about the truth."""

from __future__ import annotations

import numpy as np

from cenas.carbon.traces import load_region
from scheduler_svc.simulator.forecasts import (
    BACKTEST_ERRORS_PATH, BacktestForecast, NoisyForecast, backtest_errors, make_forecast_source,
)


def lag1(errors: np.ndarray) -> float:
    return float(np.corrcoef(errors[:, :-1].ravel(), errors[:, 1:].ravel())[0, 1])


def test_the_bundled_errors_are_the_forecasters_and_persist_over_hours():
    assert BACKTEST_ERRORS_PATH.is_file()
    errors = backtest_errors()
    assert errors.shape[1] == 72 and len(errors) >= 5 * 180  # five regions, half a year of midnights each
    assert lag1(errors) > 0.9  # a real forecaster's error one hour later is nearly the same


def test_backtest_forecasts_carry_those_errors_where_noisy_ones_do_not():
    values = load_region("DE").values
    def issued_errors(source) -> np.ndarray:
        rows = []
        for now in range(1000, 1400, 7):
            f = source.issue(values, now, 72)
            rows.append(np.log(f.mean / values[now + 1 : now + 73]))
        return np.asarray(rows)

    assert lag1(issued_errors(BacktestForecast(seed=3))) > 0.9
    assert abs(lag1(issued_errors(NoisyForecast(seed=3)))) < 0.2


def test_backtest_forecasts_are_reproducible_and_their_spread_hides_the_truth():
    values = load_region("US-CAL-CISO").values.copy()
    source = make_forecast_source("backtest", 5)
    a, b = source.issue(values, 2000, 72), source.issue(values, 2000, 72)
    assert np.array_equal(a.mean, b.mean) and np.array_equal(a.std, b.std)
    assert not np.array_equal(a.mean, source.issue(values, 2001, 72).mean[:-1])
    ratio = a.std / a.mean  # the same whatever the true future holds
    other = values.copy()
    other[2001:2073] *= np.linspace(0.5, 2.0, 72)
    c = source.issue(other, 2000, 72)
    np.testing.assert_allclose(c.std / c.mean, ratio)
    assert (a.std > 0).all() and len(a.mean) == 72
