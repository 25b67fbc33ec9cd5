from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from forecaster_svc import evaluation
from forecaster_svc.models import HourlySeries, make_model


def test_mape_by_hand():
    assert evaluation.mape(np.array([100.0, 200.0]), np.array([110.0, 150.0])) == pytest.approx(100 * (0.1 + 0.25) / 2)


def test_mape_refuses_zero_actual_and_shape_mismatch():
    with pytest.raises(ValueError, match="undefined"):
        evaluation.mape(np.array([0.0, 1.0]), np.array([1.0, 1.0]))
    with pytest.raises(ValueError, match="equal"):
        evaluation.mape(np.ones(3), np.ones(4))


def test_per_day_slices_hours_1_to_24_25_to_48_49_to_72():
    actual = np.full((2, 72), 100.0)
    predicted = actual.copy()
    predicted[:, :24] = 101.0  # day1: 1 %
    predicted[:, 24:48] = 95.0  # day2: 5 %
    predicted[0, 48:] = 120.0  # day3: 20 % on one forecast, 0 on the other -> 10 %
    m, a = evaluation.per_day(actual, predicted)
    assert m == pytest.approx({"day1": 1.0, "day2": 5.0, "day3": 10.0})
    assert a == pytest.approx({"day1": 1.0, "day2": 5.0, "day3": 10.0})


def test_issue_times_are_midnights_whose_horizon_fits():
    t = evaluation.issue_times(datetime(2021, 7, 1, 5, tzinfo=timezone.utc), datetime(2021, 7, 6, tzinfo=timezone.utc), 72)
    assert [x.day for x in t] == [2, 3]  # 2nd..5th, 3rd..6th; the 4th would end after the window
    assert all(x.hour == 0 for x in t)


def test_backtest_counts_and_matches_manual_mape():
    start = datetime(2021, 1, 1, tzinfo=timezone.utc)
    rng = np.random.default_rng(0)
    s = HourlySeries(start, 200 + rng.uniform(0, 50, 24 * 30))
    model = make_model("naive").fit(HourlySeries(start, s.values[: 24 * 20]))
    bt = evaluation.backtest(model, s, datetime(2021, 1, 21, tzinfo=timezone.utc), datetime(2021, 1, 31, tzinfo=timezone.utc))
    assert len(bt.issued) == 8
    d = 20
    manual = np.mean(np.abs(s.values[24 * d : 24 * d + 24] - s.values[24 * d - 24 : 24 * d]) / s.values[24 * d : 24 * d + 24])
    first_day1 = evaluation.mape(bt.actual[:1, :24], bt.predicted[:1, :24])
    assert first_day1 == pytest.approx(100 * manual)
    summary = bt.summary()
    assert set(summary) == {"mape", "mae", "forecasts"} and summary["forecasts"] == 8
