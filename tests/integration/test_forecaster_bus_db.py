"""The forecaster over a real RabbitMQ connection and a real PostgreSQL database."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from kombu import Connection, Producer

from cenas.bus import DEAD_LETTER_QUEUE, EXCHANGE, Consumer, Publisher
from cenas.carbon.providers import ReplayProvider
from cenas.carbon.traces import CarbonTrace
from cenas.clock import ManualClock
from cenas.contracts import CarbonForecast
from cenas.db import latest_forecast, save_forecast
from forecaster_svc.models.naive import SeasonalNaive
from forecaster_svc.service import ForecastService

pytestmark = pytest.mark.integration
START = datetime(2021, 6, 1, tzinfo=timezone.utc)


@pytest.fixture
def service(broker_url, pg_engine, region):
    trace = CarbonTrace(region, START, 250 + 50 * np.sin(np.arange(24 * 40) * 2 * np.pi / 24))
    clock = ManualClock(START + timedelta(days=20))
    outage = {"on": False}
    provider = ReplayProvider(clock, {region: trace}, fail=lambda: outage["on"])
    publisher = Publisher(broker_url, max_retries=2)
    svc = ForecastService(regions=[region], provider=provider, models={region: SeasonalNaive.ready()},
                          publisher=publisher, save=lambda m: save_forecast(pg_engine, forecast=m), clock=clock)
    yield svc, clock, outage
    publisher.close()


@pytest.fixture
def consumer(broker_url, region):
    received: list[CarbonForecast] = []
    name = f"test.{region}"
    c = Consumer(broker_url, name, [f"carbon.forecast.{region}"], received.append)
    c.declare()
    yield c, received
    with Connection(broker_url) as conn:
        conn.default_channel.queue_delete(name)
    c.close()


def test_service_publishes_a_well_formed_message_and_persists_it(service, consumer, pg_engine, region):
    svc, clock, _ = service
    c, received = consumer
    (sent,) = svc.tick()
    assert c.drain(timeout=5, max_messages=1) == 1
    (got,) = received
    assert isinstance(got, CarbonForecast) and got == sent
    assert got.region == region and len(got.points) == 72 and not got.stale
    assert got.issued_at == START + timedelta(days=20) and got.actual_intensity is not None
    row = latest_forecast(pg_engine, region=region)
    assert row is not None and row.to_message() == sent


def test_outage_publishes_the_last_good_forecast_marked_stale(service, consumer, pg_engine, region):
    svc, clock, outage = service
    c, received = consumer
    svc.tick()
    outage["on"] = True
    clock.advance(timedelta(hours=1))
    svc.tick()
    c.drain(timeout=5, max_messages=2)
    good, stale = received
    assert stale.stale and not good.stale and stale.points == good.points
    assert latest_forecast(pg_engine, region=region).stale


def test_malformed_and_unknown_messages_are_dead_lettered(broker_url, consumer, region):
    c, received = consumer
    with Connection(broker_url) as conn:
        channel = conn.default_channel
        DEAD_LETTER_QUEUE(channel).declare()
        channel.queue_purge(DEAD_LETTER_QUEUE.name)
        producer = Producer(channel, exchange=EXCHANGE)
        producer.publish(b"{not json", routing_key=f"carbon.forecast.{region}", content_type="application/json")
        producer.publish(json.dumps({"schema_version": "1.0", "region": region}),
                         routing_key=f"carbon.forecast.{region}", content_type="application/json")
    assert c.drain(timeout=5, max_messages=2) == 2
    assert received == [] and c.dead_lettered == 2
    dead = []
    with Connection(broker_url) as conn:
        bound = DEAD_LETTER_QUEUE(conn.default_channel)
        deadline = time.monotonic() + 5
        while len(dead) < 2 and time.monotonic() < deadline:
            m = bound.get(no_ack=True)
            if m is None:
                time.sleep(0.1)
            else:
                dead.append(m)
    assert len(dead) == 2
    assert {m.delivery_info["routing_key"] for m in dead} == {f"carbon.forecast.{region}"}
    assert {m.body for m in dead} >= {b"{not json"}


def test_publisher_gives_a_clear_error_when_the_broker_is_down(region):
    from cenas.bus import PublishError
    from cenas.contracts import ForecastPoint

    msg = CarbonForecast(region=region, issued_at=START, published_at=START, model="naive", signal="replay",
                         points=[ForecastPoint(time=START, intensity=1.0)])
    with pytest.raises(PublishError, match="could not publish"):
        Publisher("amqp://guest:guest@127.0.0.1:1//", max_retries=1, interval_start=0.01).publish(msg)
