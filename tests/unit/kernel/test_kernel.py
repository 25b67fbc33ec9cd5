from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from cenas.bus.consumer import decode
from cenas.clock import ManualClock, ReplayClock
from cenas.contracts import CarbonForecast, ForecastPoint, model_for_routing_key
from cenas.db import latest_forecast, make_engine, save_forecast
from cenas.settings import Settings

T0 = datetime(2021, 7, 2, 6, tzinfo=timezone.utc)


def forecast(region="DE", stale=False, issued=T0, published=T0) -> CarbonForecast:
    return CarbonForecast(region=region, issued_at=issued, published_at=published, actual_intensity=300.0,
                          model="naive", signal="replay", stale=stale,
                          points=[ForecastPoint(time=issued + timedelta(hours=i), intensity=300.0 + i) for i in range(72)])


def test_replay_clock_scales_time():
    now = [100.0]
    clock = ReplayClock(T0, seconds_per_hour=2.0, monotonic=lambda: now[0])
    assert clock.now() == T0
    now[0] += 3.0
    assert clock.now() == T0 + timedelta(hours=1.5)
    assert clock.to_real_seconds(timedelta(hours=3)) == 6.0
    with pytest.raises(ValueError, match="seconds_per_hour"):
        ReplayClock(T0, 0)


def test_manual_clock():
    c = ManualClock(T0)
    c.sleep(timedelta(minutes=5))
    assert c.now() == T0 + timedelta(minutes=5)


def test_contract_round_trip_and_routing():
    msg = forecast()
    assert msg.routing_key == "carbon.forecast.DE"
    assert model_for_routing_key("carbon.forecast.DE") is CarbonForecast
    assert model_for_routing_key("search.nonsense") is None
    assert model_for_routing_key("carbon") is None
    assert decode("carbon.forecast.DE", msg.model_dump_json()) == msg


def test_contract_refuses_unknown_major_version_and_extra_fields():
    body = forecast().model_dump(mode="json")
    with pytest.raises(ValidationError, match="unsupported schema_version"):
        CarbonForecast.model_validate({**body, "schema_version": "2.0"})
    with pytest.raises(ValidationError, match="Extra inputs"):
        CarbonForecast.model_validate({**body, "surprise": 1})
    with pytest.raises(ValidationError):
        CarbonForecast.model_validate({**body, "issued_at": "2021-07-02T06:00:00"})  # naive time


def test_decode_unknown_key():
    with pytest.raises(LookupError, match="no message contract"):
        decode("nope.nothing", b"{}")


def test_sqlite_default_database(tmp_path):
    engine = make_engine(Settings(data_dir=tmp_path, database_url=None))
    assert (tmp_path / "cenas.db").exists()
    save_forecast(engine, forecast=forecast())
    save_forecast(engine, forecast=forecast())  # idempotent
    save_forecast(engine, forecast=forecast(stale=True, published=T0 + timedelta(hours=1)))
    latest = latest_forecast(engine, region="DE")
    assert latest is not None and latest.stale
    assert latest.to_message().points == forecast().points
    assert latest_forecast(engine, region="GB") is None


def test_processes_starting_together_migrate_one_sqlite_file_once(tmp_path):
    import os
    import subprocess
    import sys

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CENAS_")}, "CENAS_DATA_DIR": str(tmp_path)}
    code = "from cenas.db import make_engine; from cenas.settings import Settings; make_engine(Settings())"
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    errors = [p.communicate(timeout=60)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 3, errors


def test_forecast_as_of_a_search_instant_never_comes_from_its_future(tmp_path):
    from cenas.db import forecast_as_of

    engine = make_engine(Settings(data_dir=tmp_path, database_url=None))
    for hours in (0, 3, 10):
        save_forecast(engine, forecast=forecast(issued=T0 + timedelta(hours=hours)))
    save_forecast(engine, forecast=forecast(issued=T0 + timedelta(hours=4), stale=True))
    at = lambda h: forecast_as_of(engine, region="DE", instant=T0 + timedelta(hours=h), max_age=timedelta(hours=2))  # noqa: E731
    assert at(4.5).issued_at.replace(tzinfo=None) == (T0 + timedelta(hours=3)).replace(tzinfo=None)  # not the stale one, not hour 10
    assert at(3).issued_at.replace(tzinfo=None) == (T0 + timedelta(hours=3)).replace(tzinfo=None)
    assert at(6) is None  # the newest before it is 3 h old
    assert forecast_as_of(engine, region="GB", instant=T0, max_age=timedelta(hours=2)) is None
