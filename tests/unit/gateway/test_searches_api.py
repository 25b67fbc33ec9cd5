import json

import pytest
from sqlmodel import Session, select

from cenas.db.searches import Decision, Evaluation, Search, SearchStatus, utcnow
from tests.unit.kernel.test_spec import EXAMPLE, with_change


def submit(client, headers, spec=EXAMPLE) -> str:
    response = client.post("/v1/searches", json=spec, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "queued"
    return response.json()["id"]


def test_submit_stores_announces_and_shows_the_search(client, alice, engine, heard):
    search_id = submit(client, alice)
    with Session(engine) as session:
        row = session.get(Search, search_id)
    assert row.status == SearchStatus.QUEUED and row.owner is not None
    assert [m.search_id for m in heard()] == [search_id]

    body = client.get(f"/v1/searches/{search_id}", headers=alice).json()
    assert set(body) == {"id", "name", "status", "spec", "created_at", "started_at", "finished_at", "settled_at", "error", "warnings", "progress", "allocation"}
    assert body["name"] == "hw-nas-demo" and body["status"] == "queued" and body["spec"]["gpus"] == 8
    assert set(body["progress"]) == {"elapsed_hours", "evaluations", "samples", "hypervolume", "carbon_g", "energy_kwh"}
    assert body["allocation"] == {"evaluation": 0, "sampling": 0, "idle": 0}


def test_list_is_the_callers_newest_first_and_paginated(client, alice, bob):
    ids = [submit(client, alice, with_change("name", f"s{i}")) for i in range(3)]
    submit(client, bob)
    page = client.get("/v1/searches", headers=alice).json()
    assert [s["id"] for s in page["items"]] == ids[::-1] and page["total"] == 3
    page = client.get("/v1/searches?limit=1&offset=1", headers=alice).json()
    assert [s["id"] for s in page["items"]] == [ids[1]]
    for query in ("limit=0", "limit=x", "offset=-1"):
        response = client.get(f"/v1/searches?{query}", headers=alice)
        assert response.status_code == 422 and response.json()["detail"][0]["loc"][0] == "query"


def test_another_owners_search_is_not_found(client, alice, bob):
    search_id = submit(client, alice)
    for path in ("", "/pareto", "/evaluations", "/decisions", "/events"):
        assert client.get(f"/v1/searches/{search_id}{path}", headers=bob).status_code == 404
    assert client.delete(f"/v1/searches/{search_id}", headers=bob).status_code == 404
    assert client.get("/v1/searches/nope", headers=alice).status_code == 404


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer cenas_wrong"}, {"Authorization": "Basic abc"}])
def test_missing_or_wrong_key_is_401_with_a_challenge(client, headers):
    for method, path in (("GET", "/v1/searches"), ("POST", "/v1/searches"), ("GET", "/v1/forecasts/DE")):
        response = client.request(method, path, headers=headers, json=EXAMPLE if method == "POST" else None)
        assert response.status_code == 401 and "Bearer" in response.headers["WWW-Authenticate"]
        assert response.json()["detail"]


def test_repeated_failures_from_one_client_are_throttled(client, alice):
    statuses = [client.get("/v1/searches", headers={"Authorization": "Bearer bad"}).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    response = client.get("/v1/searches", headers=alice)
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1


def test_malformed_json_is_a_clear_4xx(client, alice):
    response = client.post("/v1/searches", content=b'{"name": "x", ', headers={**alice, "Content-Type": "application/json"})
    assert response.status_code == 422 and "JSON" in json.dumps(response.json()["detail"])


@pytest.mark.parametrize(("change", "value", "field"), [
    ("gpus", "many", "gpus"),                       # wrong type
    ("gpus", 0, "gpus"),                            # impossible value
    ("colour", "blue", "colour"),                   # unknown field
    ("task.objectives", [], "objectives"),          # empty objectives
    ("carbon.region", "XX-NOWHERE", "carbon"),      # unknown region: message names it
    ("budget", {"hours": None, "carbon_g": None}, "budget"),
])
def test_invalid_specs_are_422_naming_the_field(client, alice, engine, change, value, field):
    response = client.post("/v1/searches", json=with_change(change, value), headers=alice)
    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert error["loc"][0] == "body" and field in error["loc"]
    if change == "carbon.region":
        assert "XX-NOWHERE" in error["msg"]
    with Session(engine) as session:
        assert session.exec(select(Search)).all() == []


def test_huge_bodies_are_413(client, alice):
    spec = with_change("name", "x" * (100 * 1024))
    response = client.post("/v1/searches", json=spec, headers=alice)
    assert response.status_code == 413 and "larger than" in response.json()["detail"]

    def chunks():  # no Content-Length: cut off while reading
        for _ in range(100):
            yield b"x" * 1024

    assert client.post("/v1/searches", content=chunks(), headers=alice).status_code == 413


def test_cancel_queued_then_status_cancelled_and_finished_is_409(client, alice, engine, heard):
    search_id = submit(client, alice)
    response = client.delete(f"/v1/searches/{search_id}", headers=alice)
    assert response.status_code == 202 and response.json()["status"] == "cancelled"
    assert client.get(f"/v1/searches/{search_id}", headers=alice).json()["status"] == "cancelled"
    assert [m.kind for m in heard()] == ["search.created", "search.cancelled"]
    assert client.delete(f"/v1/searches/{search_id}", headers=alice).status_code == 202  # idempotent

    done = submit(client, alice)
    with Session(engine) as session:
        row = session.get(Search, done)
        row.status, row.finished_at = SearchStatus.SUCCEEDED, utcnow()
        session.add(row)
        session.commit()
    response = client.delete(f"/v1/searches/{done}", headers=alice)
    assert response.status_code == 409 and "succeeded" in response.json()["detail"]


def test_pareto_evaluations_decisions_and_events(client, alice, engine):
    search_id = submit(client, alice)
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    with Session(engine) as session:
        row = session.get(Search, search_id)
        row.status, row.finished_at = SearchStatus.SUCCEEDED, utcnow()
        row.pareto = [{"architecture": arch, "values": {"accuracy": 94.0, "edgegpu_energy": 30.0}}]
        row.evaluations, row.carbon_g, row.gpus_evaluation = 2, 12.5, 7
        session.add(row)
        for code in (5, 9):
            session.add(Evaluation(search_id=search_id, code=code, architecture=arch, objectives={"accuracy": 90.0 + code, "edgegpu_energy": 30.0},
                                   gpu_seconds=100.0, energy_kwh=0.01, energy_source="model", carbon_g=6.25, worker="gpu0@h", started_at=utcnow()))
        session.add(Decision(search_id=search_id, interval=0, valid_from=utcnow(), gpus_evaluation=7, gpus_sampling=1, gpus_idle=0,
                             policy="heuristic", intensity=200.0, forecast=[210.0, 190.0]))
        session.commit()

    pareto = client.get(f"/v1/searches/{search_id}/pareto", headers=alice).json()
    assert pareto["objectives"] == [{"name": "accuracy", "goal": "max"}, {"name": "edgegpu_energy", "goal": "min"}]
    assert pareto["points"] == [{"architecture": arch, "values": {"accuracy": 94.0, "edgegpu_energy": 30.0}}]
    evaluations = client.get(f"/v1/searches/{search_id}/evaluations?limit=1&offset=1", headers=alice).json()
    assert evaluations["total"] == 2 and [e["code"] for e in evaluations["items"]] == [9]
    assert {"objectives", "gpu_seconds", "energy_kwh", "carbon_g", "worker", "finished_at"} <= set(evaluations["items"][0])
    decisions = client.get(f"/v1/searches/{search_id}/decisions", headers=alice).json()
    assert decisions["items"][0]["gpus_evaluation"] == 7 and decisions["items"][0]["forecast"] == [210.0, 190.0]

    events = client.get(f"/v1/searches/{search_id}/events", headers=alice)
    assert events.headers["content-type"].startswith("text/event-stream")
    assert "event: progress" in events.text and events.text.rstrip().endswith('data: {"status": "succeeded"}')
