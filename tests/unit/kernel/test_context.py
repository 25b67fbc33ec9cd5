from datetime import datetime, timedelta, timezone

import pytest

from cenas.carbon.signal import StepSignal
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


LIVE_CARBON = {"region": "DE", "signal": "electricitymaps", "interval_s": 900}


def test_a_live_context_runs_on_the_wall_clock_with_the_observed_signal():
    started = datetime(2026, 12, 3, 12, 7, tzinfo=timezone.utc)
    ctx = build_context("s", {**EXAMPLE, "carbon": LIVE_CARBON}, started)
    assert ctx.live and ctx.trace is None and ctx.interval_hours == pytest.approx(0.25)
    assert ctx.clock.hours(started + timedelta(minutes=30)) == pytest.approx(0.5)  # real hours, not trace hours
    with pytest.raises(LookupError):  # nothing observed yet: never a silent replay
        ctx.intensity(0.0)
    observed = ctx.with_signal(StepSignal.of([(-0.1, 100.0), (0.5, 300.0)]))
    assert observed.intensity(0.2) == 100.0 and observed.intensity(0.5) == 300.0 and observed.intensity(9.0) == 300.0
    # integrated over the steps: a quarter hour at 100, a quarter at 300
    assert observed.carbon_g(1.0, 0.25, 0.75) == pytest.approx(1.58 * 200.0)


@pytest.mark.parametrize("field", [{"start": "2021-07-02T06:00:00Z"}, {"seconds_per_hour": 2}])
def test_live_specs_refuse_replay_only_fields(field):
    with pytest.raises(ValueError, match="apply to replay only"):
        build_context("s", {**EXAMPLE, "carbon": {"region": "DE", "signal": "watttime", **field}}, None)


def test_replay_specs_refuse_live_only_fields():
    with pytest.raises(ValueError, match="apply to live signals"):
        build_context("s", {**EXAMPLE, "carbon": {**EXAMPLE["carbon"], "interval_s": 60}}, None)


def test_step_signal_mean_integrates_every_step():
    signal = StepSignal.of([(0.0, 10.0), (1.0, 20.0), (1.5, 40.0)])
    assert signal.mean(0.5, 2.0) == pytest.approx((0.5 * 10 + 0.5 * 20 + 0.5 * 40) / 1.5)
    assert signal.mean(1.2, 1.2) == 20.0
    assert signal.mean(-1.0, 0.0) == 10.0  # before the first step the first value holds
    assert list(signal.trailing(1.5, 3, 0.5)) == [10.0, 20.0, 40.0]
