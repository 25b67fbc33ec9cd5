from datetime import datetime, timedelta, timezone

from fastapi.testclient import TestClient
from sqlmodel import create_engine

from cenas.contracts import CarbonForecast, ForecastPoint
from cenas.db import save_forecast
from gateway import create_app
from tests.unit.kernel.test_spec import EXAMPLE


def test_health_ready_and_metrics_need_no_key(client, alice):
    assert client.get("/healthz").json() == {"status": "ok", "checks": {}}
    assert client.get("/readyz").json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
    client.post("/v1/searches", json=EXAMPLE, headers=alice)
    text = client.get("/metrics").text
    assert 'cenas_searches{status="queued"} 1.0' in text and "cenas_evaluations 0.0" in text
    assert "cenas_carbon_grams" in text and "cenas_energy_kwh" in text and "cenas_decisions" in text


def test_outages_are_503_naming_the_dependency(settings, tmp_path):
    down = settings.model_copy(update={"broker_url": "amqp://guest:guest@127.0.0.1:1//"})
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", pool_pre_ping=True)
    with TestClient(create_app(down, engine)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
        assert ready.json()["checks"]["database"] != "ok" and ready.json()["checks"]["broker"] != "ok"
        response = client.get("/v1/searches", headers={"Authorization": "Bearer cenas_x"})
        assert response.status_code == 503 and "database" in response.json()["detail"]
    engine.dispose()


def test_latest_forecast_per_region(client, alice, engine):
    assert client.get("/v1/forecasts/DE", headers=alice).status_code == 404
    issued = datetime(2021, 7, 2, 6, tzinfo=timezone.utc)
    for hours, model in ((0, "naive"), (1, "lightgbm")):
        when = issued + timedelta(hours=hours)
        save_forecast(engine, forecast=CarbonForecast(
            region="DE", issued_at=when, published_at=when, model=model, signal="replay",
            points=[ForecastPoint(time=when + timedelta(hours=1), intensity=300.0)]))
    body = client.get("/v1/forecasts/DE", headers=alice).json()
    assert body["model"] == "lightgbm" and body["points"][0]["intensity"] == 300.0 and body["region"] == "DE"


def test_openapi_documents_every_endpoint(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/searches", "/v1/searches/{search_id}", "/v1/searches/{search_id}/pareto", "/v1/searches/{search_id}/evaluations",
            "/v1/searches/{search_id}/decisions", "/v1/forecasts/{region}", "/healthz", "/readyz", "/metrics"} <= set(paths)
    assert "201" in paths["/v1/searches"]["post"]["responses"] and "409" in paths["/v1/searches/{search_id}"]["delete"]["responses"]
