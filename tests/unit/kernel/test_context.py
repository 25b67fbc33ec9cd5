from datetime import datetime, timedelta, timezone

import pytest

from cenas.clock import SearchClock
from cenas.search.context import build_context
from tests.unit.kernel.test_spec import EXAMPLE

T0 = datetime(2021, 7, 2, 6, tzinfo=timezone.utc)


def test_search_clock_is_anchored_at_the_start():
    started = datetime(2026, 1, 1, tzinfo=timezone.utc)
    clock = SearchClock(T0, started, seconds_per_hour=2.0)
    assert clock.hours(started + timedelta(seconds=5)) == pytest.approx(2.5)
    assert clock.hours(started - timedelta(seconds=5)) == 0.0
    assert clock.wall_at(3.0) == started + timedelta(seconds=6)
    assert clock.real_seconds(3600) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="seconds_per_hour must be > 0"):
        SearchClock(T0, started, 0)


def test_context_intensity_and_carbon_over_a_window():
    ctx = build_context("s", EXAMPLE, datetime(2026, 1, 1, tzinfo=timezone.utc))
    first, second = ctx.intensity(0), ctx.intensity(1)
    assert first == ctx.trace.values[ctx.trace.index_of(T0)]
    assert ctx.mean_intensity(0.5, 1.5) == pytest.approx((first + second) / 2)
    assert ctx.mean_intensity(0.25, 0.75) == pytest.approx(first)
    # full accounting: kWh x PUE 1.58 x mean intensity
    assert ctx.carbon_g(1.0, 0.0, 1.0) == pytest.approx(1.58 * first)


def test_live_signals_are_refused_not_silently_replayed():
    live = {**EXAMPLE, "carbon": {**EXAMPLE["carbon"], "signal": "electricitymaps"}}
    with pytest.raises(ValueError, match="carbon.signal 'electricitymaps'"):
        build_context("s", live, None)
