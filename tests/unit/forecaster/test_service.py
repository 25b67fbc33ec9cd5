"""The service loop with in-memory fakes: well-formed messages, stale on outage."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from cenas.carbon.providers import ReplayProvider
from cenas.carbon.traces import CarbonTrace
from cenas.clock import ManualClock
from cenas.contracts import CarbonForecast
from forecaster_svc.models import make_model
from forecaster_svc.models.naive import SeasonalNaive
from forecaster_svc.service import ForecastService

START = datetime(2021, 6, 1, tzinfo=timezone.utc)


class FakePublisher:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[CarbonForecast] = []
        self.fail = fail

    def publish(self, message: CarbonForecast) -> None:
        if self.fail:
            raise ConnectionError("broker down")
        self.sent.append(message)


@pytest.fixture
def setup():
    values = 250 + 50 * np.sin(np.arange(24 * 60) * 2 * np.pi / 24)
    trace = CarbonTrace("XX", START, values)
    clock = ManualClock(START + timedelta(days=30, minutes=20))
    outage = {"on": False}
    provider = ReplayProvider(clock, {"XX": trace}, fail=lambda: outage["on"])
    pub, saved = FakePublisher(), []
    svc = ForecastService(regions=["XX"], provider=provider, models={"XX": SeasonalNaive.ready()},
                          publisher=pub, save=saved.append, clock=clock)
    return svc, clock, outage, pub, saved, trace


def test_publishes_a_well_formed_forecast(setup):
    svc, clock, _, pub, saved, trace = setup
    svc.tick()
    (msg,) = pub.sent
    assert msg.routing_key == "carbon.forecast.XX" and not msg.stale and msg.signal == "replay"
    assert msg.issued_at == START + timedelta(days=30)
    assert msg.actual_intensity == pytest.approx(trace.values[24 * 30])
    assert len(msg.points) == 72 and msg.points[0].time == msg.issued_at
    assert [p.time for p in msg.points] == [msg.issued_at + timedelta(hours=i) for i in range(72)]
    assert CarbonForecast.model_validate_json(msg.model_dump_json()) == msg
    assert saved == [msg]


def test_outage_republishes_the_last_good_forecast_as_stale(setup):
    svc, clock, outage, pub, saved, _ = setup
    svc.tick()
    outage["on"] = True
    clock.advance(timedelta(hours=1))
    svc.tick()
    good, stale = pub.sent
    assert stale.stale and not good.stale
    assert stale.points == good.points and stale.issued_at == good.issued_at
    assert stale.published_at > good.published_at
    outage["on"] = False
    clock.advance(timedelta(hours=1))
    svc.tick()
    assert not pub.sent[-1].stale and pub.sent[-1].issued_at == good.issued_at + timedelta(hours=2)


def test_outage_before_any_good_forecast_publishes_nothing_and_does_not_crash(setup):
    svc, _, outage, pub, _, _ = setup
    outage["on"] = True
    assert svc.tick() == [] and pub.sent == []


def test_broker_and_database_failures_do_not_crash_the_loop(setup):
    svc, *_ = setup
    svc.publisher = FakePublisher(fail=True)

    def broken_save(_):
        raise OSError("disk full")

    svc.save = broken_save
    assert svc.tick() == []


def test_a_model_per_region_is_required(setup):
    svc, clock, _, pub, saved, _ = setup
    with pytest.raises(ValueError, match="no model for region"):
        ForecastService(regions=["XX", "YY"], provider=svc.provider, models=svc.models, publisher=pub,
                        save=saved.append, clock=clock)


def test_run_stops_on_event(setup):
    import threading

    svc, *_ = setup
    svc.run(threading.Event(), max_ticks=3)
    assert len(svc.publisher.sent) == 3


def test_bootstrap_falls_back_to_naive_for_unknown_model_dir(tmp_path):
    from forecaster_svc.bootstrap import load_models

    models = load_models(["XX"], tmp_path)
    assert models["XX"].name == "naive"


def test_quantiles_reach_the_message(setup):
    svc, clock, _, pub, _, trace = setup
    from forecaster_svc.models import HourlySeries

    svc.models["XX"] = make_model("naive").fit(HourlySeries(trace.start, trace.values[: 24 * 29]))
    svc.tick()
    p = pub.sent[-1].points[0]
    assert p.p10 is not None and p.p90 is not None and p.p10 <= p.intensity <= p.p90 + 1e-9


def test_regions_of_running_searches_join_and_leave(setup):
    svc, clock, _, pub, _, trace = setup
    svc.provider = ReplayProvider(clock, {"XX": trace, "YY": trace})
    running: list[str] = []
    loaded: list[str] = []
    svc.active_regions = lambda: list(running)
    svc.load_model = lambda region: loaded.append(region) or SeasonalNaive.ready()
    svc.tick()
    assert [m.region for m in pub.sent] == ["XX"]
    running.append("YY")  # a search in YY starts
    svc.tick()
    svc.tick()
    assert [m.region for m in pub.sent[1:]] == ["XX", "YY", "XX", "YY"] and loaded == ["YY"]
    running.clear()  # it finished
    svc.tick()
    assert [m.region for m in pub.sent[5:]] == ["XX"]


def test_a_failing_region_lookup_keeps_the_configured_regions(setup):
    svc, _, _, pub, _, _ = setup
    svc.active_regions = lambda: 1 / 0
    svc.tick()
    assert [m.region for m in pub.sent] == ["XX"]


def test_a_forecast_at_each_running_searchs_trace_hour_once(setup):
    svc, clock, _, pub, saved, trace = setup
    searches: list[tuple[str, datetime]] = []
    svc.search_instants = lambda: list(searches)
    assert svc.tick_searches() == []
    a = START + timedelta(days=10, hours=5, minutes=40)  # a search replaying day 10, long before the clock's day 30
    b = START + timedelta(days=20, hours=1)
    searches[:] = [("XX", a), ("XX", b)]
    first = svc.tick_searches()
    assert [m.issued_at for m in first] == [START + timedelta(days=10, hours=5), b]
    assert first[0].actual_intensity == pytest.approx(trace.values[24 * 10 + 5])  # the search's hour, not the clock's
    assert first[0].actual_time == first[0].issued_at and first[0].points[0].time == first[0].issued_at
    assert svc.tick_searches() == []  # same hours: nothing new
    searches[:] = [("XX", a + timedelta(minutes=30))]  # the search entered its next hour
    (nxt,) = svc.tick_searches()
    assert nxt.issued_at == START + timedelta(days=10, hours=6)
    assert saved == pub.sent == first + [nxt]


def test_a_failed_delivery_is_retried_next_tick(setup):
    svc, _, _, pub, _, _ = setup
    svc.search_instants = lambda: [("XX", START + timedelta(days=10))]
    pub.fail = True
    assert svc.tick_searches() == []
    pub.fail = False
    assert len(svc.tick_searches()) == 1
