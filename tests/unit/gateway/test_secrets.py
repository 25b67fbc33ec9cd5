"""Secrets at the gateway: keys only as hashes, compared in constant time, never logged;
URL passwords and provider credentials never in a log line or a response."""

import logging

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import create_engine

import gateway.auth
from cenas.settings import Settings
from gateway import create_app
from gateway.auth import create_api_key, find_api_key
from tests.unit.kernel.test_spec import EXAMPLE


def test_the_database_holds_no_plaintext_key(client, engine, settings, alice):
    keys = [alice["Authorization"].removeprefix("Bearer ")] + [create_api_key(engine, name=f"k{i}")[1] for i in range(3)]
    assert client.get("/v1/searches", headers=alice).status_code == 200
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM api_keys")).all()
    assert len(rows) == len(keys)
    cells = " ".join(str(cell) for row in rows for cell in row)
    for key in keys:
        assert key not in cells and key.removeprefix("cenas_") not in cells
    engine.dispose()  # flush SQLite's write-ahead log into the file, then scan its bytes
    raw = (settings.data_dir / "cenas.db").read_bytes()
    assert not any(key.encode() in raw for key in keys)


def test_keys_are_compared_with_hmac_compare_digest(engine, monkeypatch):
    _, key = create_api_key(engine, name="alice")
    calls = []
    real = gateway.auth.hmac.compare_digest
    monkeypatch.setattr(gateway.auth.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    assert find_api_key(engine, key=key) is not None and len(calls) == 1


def test_keys_never_reach_the_logs_or_error_bodies(client, engine, caplog):
    caplog.set_level(logging.DEBUG)
    _, key = create_api_key(engine, name="alice")
    near_miss = key[:-1] + ("A" if key[-1] != "A" else "B")
    bodies = []
    for headers in ({"Authorization": f"Bearer {key}"}, {"Authorization": f"Bearer {near_miss}"}, {"Authorization": f"Basic {key}"}):
        for method, path in (("GET", "/v1/searches"), ("POST", "/v1/searches"), ("GET", "/v1/searches/nope")):
            response = client.request(method, path, headers=headers, json=EXAMPLE if method == "POST" else None)
            bodies.append(response.text + str(response.headers))
    assert any("invalid" in b for b in bodies)  # the failures did happen
    for secret in (key, near_miss, key.removeprefix("cenas_")):
        assert secret not in caplog.text and not any(secret in b for b in bodies)


PASSWORDS = {"database": "Db-pa55word-x", "broker": "Mq-pa55word-y", "token": "Em-t0ken-z", "watttime": "Wt-pa55word-w"}


def test_secrets_never_appear_in_responses_or_logs_when_dependencies_are_down(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    url = f"postgresql+psycopg://cenas:{PASSWORDS['database']}@127.0.0.1:1/cenas"
    settings = Settings(_env_file=None, data_dir=tmp_path, database_url=url,
                        broker_url=f"amqp://guest:{PASSWORDS['broker']}@127.0.0.1:1//",
                        electricitymaps_token=PASSWORDS["token"], watttime_username="u", watttime_password=PASSWORDS["watttime"])
    engine = create_engine(url, pool_pre_ping=True)  # unreachable: every query fails
    seen = []
    with TestClient(create_app(settings, engine)) as client:
        for method, path in (("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"), ("GET", "/v1/searches"),
                             ("POST", "/v1/searches"), ("GET", "/v1/searches/x"), ("DELETE", "/v1/searches/x"),
                             ("GET", "/v1/forecasts/DE"), ("GET", "/openapi.json")):
            response = client.request(method, path, headers={"Authorization": "Bearer cenas_x"}, json=EXAMPLE if method == "POST" else None)
            assert response.status_code < 500 or response.status_code == 503, (method, path, response.status_code)
            seen.append(f"{method} {path} {response.status_code} {response.headers} {response.text}")
    engine.dispose()
    everything = "\n".join(seen) + caplog.text
    assert "503" in everything and "database" in everything  # the outage was reported...
    for secret in PASSWORDS.values():
        assert secret not in everything  # ...without its credentials
