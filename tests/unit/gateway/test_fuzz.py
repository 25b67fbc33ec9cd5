"""Hostile input: schemathesis over every operation of the gateway's OpenAPI schema.

CI-sized (about 200 generated requests, a few seconds); `CENAS_FUZZ_EXAMPLES=500`
raises the examples per operation and mode, and `benchmarks/gateway_fuzz.py` runs the long
form and prints its figures. See `fuzzing.py` for what is generated and checked.
"""

import os

import pytest
from sqlalchemy.exc import DataError

from tests.unit.gateway.fuzzing import build_target, fuzz
from tests.unit.kernel.test_spec import EXAMPLE, with_change

EXAMPLES = int(os.environ.get("CENAS_FUZZ_EXAMPLES", "10"))


def test_every_operation_survives_generated_input_and_conforms_to_its_schema(tmp_path):
    target = build_target(tmp_path)
    try:
        report = fuzz(target, examples=EXAMPLES)
    finally:
        target.close()
    assert report.server_errors == 0 and not report.failures, report.summary()
    paths = {label.split(" ", 1)[1] for label in report.per_operation}
    schema_paths = set(target.app.openapi()["paths"])
    assert paths == schema_paths  # every operation was exercised
    assert report.statuses[401] and report.statuses[404] and report.statuses[200]


# What the long runs found (benchmarks/gateway_fuzz.py), pinned so they stay fixed.

def test_naive_timestamps_are_served_with_their_utc_offset(client, alice):
    body = client.post("/v1/searches", json=EXAMPLE, headers=alice).json()
    created = client.get(f"/v1/searches/{body['id']}", headers=alice).json()["created_at"]
    assert created.endswith(("Z", "+00:00")), created  # SQLite returns naive datetimes


@pytest.mark.parametrize("path", ["/v1/searches/a%00b", "/v1/searches/a%0Ab/pareto", "/v1/forecasts/D%00E", "/v1/searches?offset=99999999999999999999"])
def test_values_postgresql_would_refuse_are_422(client, alice, path):
    assert client.get(path, headers=alice).status_code == 422


def test_control_characters_in_a_spec_are_422_naming_the_field(client, alice):
    response = client.post("/v1/searches", json=with_change("name", "a\x00b"), headers=alice)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "name"]


def test_a_value_the_database_refuses_is_422_not_503(client, alice, monkeypatch):
    def refuse(*args, **kwargs):
        raise DataError("SELECT", {}, ValueError("PostgreSQL text fields cannot contain NUL (0x00) bytes"))

    monkeypatch.setattr("gateway.store.list_searches", refuse)
    response = client.get("/v1/searches", headers=alice)
    assert response.status_code == 422 and response.json()["detail"][0]["type"] == "value_error"
