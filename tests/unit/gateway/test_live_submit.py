"""Submitting a live spec: the gateway asks the provider (a local fake speaking its real
protocol) about the zone and the credentials, so what can be known at submit is a 422
naming the field; an outage is not the spec's fault and the search is accepted."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from cenas.bus import Publisher, connect_from
from gateway import create_app
from tests.fakes.carbon_apis import EM_TOKEN, WT_PASS, WT_USER, fake_api  # noqa: F401  (the fixture)

SPEC = {"name": "live", "task": {"kind": "nb201"}, "gpus": 2, "budget": {"hours": 2},
        "carbon": {"region": "DE", "signal": "electricitymaps"}, "policy": "heuristic"}


@pytest.fixture
def live_client(settings, engine, fake_api):  # noqa: F811
    fake_api.zones = {"DE", "CAISO_NORTH"}
    configured = settings.model_copy(update={
        "electricitymaps_url": fake_api.url, "electricitymaps_token": SecretStr(EM_TOKEN), "watttime_url": fake_api.url,
        "watttime_username": WT_USER, "watttime_password": SecretStr(WT_PASS), "live_interval_s": 900.0, "live_probe_timeout_s": 2.0})
    with Publisher(connection=connect_from(settings)) as publisher, TestClient(create_app(configured, engine, publisher)) as client:
        yield client, configured


def field_of(response) -> list:
    return response.json()["detail"][0]["loc"]


def test_a_live_spec_is_stored_with_the_deployments_interval(live_client, alice):
    client, _ = live_client
    created = client.post("/v1/searches", json=SPEC, headers=alice)
    assert created.status_code == 201, created.text
    stored = client.get(f"/v1/searches/{created.json()['id']}", headers=alice).json()
    assert stored["spec"]["carbon"]["interval_s"] == 900.0 and stored["spec"]["carbon"]["signal"] == "electricitymaps"
    signal = client.get(f"/v1/searches/{created.json()['id']}/signal", headers=alice).json()
    assert signal["provider"] == "electricitymaps" and signal["signal_type"] == "average" and signal["readings"] == []
    assert signal["source"]["state"] == "unpolled"


def test_an_unknown_zone_is_a_422_naming_carbon_region(live_client, alice):
    client, _ = live_client
    for signal in ("electricitymaps", "watttime"):
        refused = client.post("/v1/searches", json={**SPEC, "carbon": {"region": "XX-NOWHERE", "signal": signal}}, headers=alice)
        assert refused.status_code == 422 and field_of(refused) == ["body", "carbon", "region"], refused.text
        assert "XX-NOWHERE" in refused.json()["detail"][0]["msg"]


def test_refused_or_missing_credentials_are_a_422_naming_carbon_signal(live_client, alice, settings, engine):
    client, configured = live_client
    wrong = configured.model_copy(update={"electricitymaps_token": SecretStr("not-the-token")})
    with Publisher(connection=connect_from(settings)) as publisher, TestClient(create_app(wrong, engine, publisher)) as other:
        refused = other.post("/v1/searches", json=SPEC, headers=alice)
    assert refused.status_code == 422 and field_of(refused) == ["body", "carbon", "signal"]
    assert "refused the credentials" in refused.json()["detail"][0]["msg"] and "not-the-token" not in refused.text
    missing = client.post("/v1/searches", json={**SPEC, "carbon": {"region": "DE", "signal": "watttime"}}, headers=alice)
    assert missing.status_code == 201  # with credentials, WattTime knows region DE
    none = configured.model_copy(update={"watttime_username": None})
    with Publisher(connection=connect_from(settings)) as publisher, TestClient(create_app(none, engine, publisher)) as other:
        refused = other.post("/v1/searches", json={**SPEC, "carbon": {"region": "DE", "signal": "watttime"}}, headers=alice)
    assert refused.status_code == 422 and field_of(refused) == ["body", "carbon", "signal"]
    assert "CENAS_WATTTIME_USERNAME" in refused.json()["detail"][0]["msg"]


def test_garbage_from_the_provider_is_a_422_and_an_outage_is_accepted(live_client, alice, fake_api):  # noqa: F811
    client, _ = live_client
    fake_api.mode["DE"] = "garbage"
    refused = client.post("/v1/searches", json=SPEC, headers=alice)
    assert refused.status_code == 422 and field_of(refused) == ["body", "carbon", "signal"] and "cannot be read" in refused.text
    fake_api.mode["DE"] = "down"
    assert client.post("/v1/searches", json=SPEC, headers=alice).status_code == 201  # it waits for the provider


@pytest.mark.parametrize("carbon, message", [
    ({"region": "DE", "signal": "electricitymaps", "start": "2021-07-02T06:00:00Z"}, "apply to replay only"),
    ({"region": "DE", "signal": "watttime", "seconds_per_hour": 2}, "apply to replay only"),
    ({"region": "DE", "signal": "replay", "interval_s": 60}, "apply to live signals"),
])
def test_fields_of_the_other_mode_are_refused(live_client, alice, carbon, message):
    client, _ = live_client
    refused = client.post("/v1/searches", json={**SPEC, "carbon": carbon}, headers=alice)
    assert refused.status_code == 422 and message in refused.text


def test_the_bundled_live_example_is_accepted(live_client, alice):
    import json
    from importlib import resources

    client, _ = live_client
    example = json.loads(resources.files("cenas.examples").joinpath("live.json").read_text())
    assert client.post("/v1/searches", json=example, headers=alice).status_code == 201
