"""The forecaster's live poller against a local fake of both providers (their real HTTP
formats) and a real SQLite database: what it stores, how it marks outages and refusals,
and the forecasts it issues."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlmodel import Session, select

from cenas.carbon.providers import live_provider
from cenas.carbon.providers.watttime import LBS_PER_MWH_TO_G_PER_KWH
from cenas.db import make_engine
from cenas.db.readings import CarbonReading, live_zones, observed_signal, source
from cenas.db.searches import create_search, utcnow
from cenas.settings import Settings
from forecaster_svc.live import LiveSignalService, _Zone
from forecaster_svc.models.naive import SeasonalNaive
from tests.fakes.carbon_apis import EM_TOKEN, WT_PASS, WT_USER, fake_api  # noqa: F401  (the fixture)


def spec(signal: str, zone: str, **carbon) -> dict:
    return {"name": "live", "task": {"kind": "nb201"}, "gpus": 1, "budget": {"hours": 1},
            "carbon": {"region": zone, "signal": signal, "interval_s": 60.0, **carbon}}


@pytest.fixture
def poller(tmp_path, fake_api):  # noqa: F811
    settings = Settings(_env_file=None, data_dir=tmp_path, broker_url=None, database_url=None,
                        electricitymaps_url=fake_api.url, electricitymaps_token=SecretStr(EM_TOKEN), watttime_url=fake_api.url,
                        watttime_username=WT_USER, watttime_password=SecretStr(WT_PASS))
    engine = make_engine(settings)
    delivered: list = []
    service = LiveSignalService(engine=engine, provider=lambda name: live_provider(settings, name, max_retries=0),
                                model=lambda zone: SeasonalNaive.ready(), deliver=delivered.append, poll_s=300.0)
    yield service, engine, delivered
    engine.dispose()


def test_zones_come_from_queued_and_running_live_searches_with_their_shortest_interval(poller):
    service, engine, _ = poller
    create_search(engine, spec=spec("electricitymaps", "DE"))
    create_search(engine, spec={**spec("electricitymaps", "DE"), "carbon": {"region": "DE", "signal": "electricitymaps", "interval_s": 8}})
    create_search(engine, spec={"name": "replay", "task": {"kind": "nb201"}, "gpus": 1, "budget": {"hours": 1}})
    zones = live_zones(engine)
    assert [(z.provider, z.zone, z.interval_s) for z in zones] == [("electricitymaps", "DE", 8.0)]
    assert service.period_s(zones[0]) == 2.0  # a quarter of the shortest interval, under live_poll_s


def test_a_poll_stores_the_converted_reading_and_issues_a_model_forecast(poller, fake_api):  # noqa: F811
    service, engine, delivered = poller
    fake_api.live["CAISO_NORTH"] = 300.0
    create_search(engine, spec=spec("watttime", "US-CAL-CISO"))
    assert service.tick() == 1
    with Session(engine) as session:
        rows = session.exec(select(CarbonReading).where(CarbonReading.kind == "latest")).all()
        history = session.exec(select(CarbonReading).where(CarbonReading.kind == "history")).all()
    assert len(rows) == 1 and rows[0].signal_type == "marginal" and rows[0].raw_unit == "lbs_co2_per_mwh"
    assert rows[0].value == pytest.approx(300.0) and rows[0].raw_value == pytest.approx(300.0 / LBS_PER_MWH_TO_G_PER_KWH)
    assert len(history) == SeasonalNaive.ready().min_history  # the model's window, fetched from /v3/historical and kept
    assert source(engine, "watttime", "US-CAL-CISO").state == "ok"
    (forecast,) = delivered
    assert forecast.region == "US-CAL-CISO" and forecast.signal == "watttime" and len(forecast.points) == 72
    assert forecast.issued_at == forecast.published_at.replace(minute=0, second=0, microsecond=0)
    assert service.tick() == 0  # not due again before its period


def test_an_outage_marks_the_source_stale_and_keeps_the_last_value_in_force(poller, fake_api):  # noqa: F811
    service, engine, _ = poller
    create_search(engine, spec=spec("electricitymaps", "DE"))
    fake_api.live["DE"] = 111.0
    zone = live_zones(engine)[0]
    started = utcnow() - timedelta(seconds=1)
    service.poll(zone, _Zone())
    fake_api.mode["DE"] = "down"
    assert service.poll(zone, _Zone()) is None
    src = source(engine, "electricitymaps", "DE")
    assert src.state == "stale" and "HTTP 503" in src.error and src.failures == 1
    assert observed_signal(engine, "electricitymaps", "DE", started).at(10.0) == 111.0  # the last good value holds
    fake_api.mode.pop("DE")
    fake_api.live["DE"] = 222.0
    service.poll(zone, _Zone())
    assert source(engine, "electricitymaps", "DE").state == "ok"
    assert observed_signal(engine, "electricitymaps", "DE", started).at(10.0) == 222.0


@pytest.mark.parametrize("breakage, reason", [("garbage", "not JSON"), ("zone", "does not exist")])
def test_refusals_mark_the_source_failed_with_the_providers_reason(poller, fake_api, breakage, reason):  # noqa: F811
    service, engine, _ = poller
    create_search(engine, spec=spec("electricitymaps", "DE"))
    if breakage == "garbage":
        fake_api.mode["DE"] = "garbage"
    else:
        fake_api.zones = {"FR"}
    service.poll(live_zones(engine)[0], _Zone())
    src = source(engine, "electricitymaps", "DE")
    assert src.state == "failed" and reason in src.error


def test_without_the_past_range_endpoint_the_model_reads_the_last_day_and_pads(poller, fake_api):  # noqa: F811
    service, engine, delivered = poller
    service.model = lambda zone: SeasonalNaive.ready(season=48)  # a model that needs two days of history
    fake_api.fail("/v3/carbon-intensity/past-range", [402] * 5)  # a free plan: no past-range
    fake_api.live["DE"] = 180.0
    create_search(engine, spec=spec("electricitymaps", "DE"))
    service.poll(live_zones(engine)[0], _Zone())
    (forecast,) = delivered
    assert forecast.model.endswith("+padded-history")  # one day stored (from /history): the forecast says so
    with Session(engine) as session:
        assert len(session.exec(select(CarbonReading).where(CarbonReading.kind == "history")).all()) == 24


def test_a_spec_may_take_the_providers_own_forecast(poller, fake_api):  # noqa: F811
    service, engine, delivered = poller
    fake_api.live["DE"] = 150.0
    create_search(engine, spec=spec("electricitymaps", "DE", forecast="provider"))
    service.poll(live_zones(engine)[0], _Zone())
    (forecast,) = delivered
    assert forecast.model == "electricitymaps-forecast" and {p.intensity for p in forecast.points} == {150.0}
