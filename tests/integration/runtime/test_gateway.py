"""The gateway as a real process (`python -m gateway`) on real RabbitMQ and PostgreSQL,
driven like a user: a key from `cenas keys create`, HTTP with httpx, then the client
commands `cenas submit/status/report`."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import httpx
import pytest
import yaml
from sqlmodel import Session

from cenas.bus import Consumer, connect_from
from cenas.db import make_engine
from cenas.db.searches import Search, SearchStatus
from tests.integration.runtime.conftest import free_port, running, wait_for
from tests.unit.kernel.test_spec import EXAMPLE

pytestmark = pytest.mark.integration


def cenas(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cenas_cli", *args], env=env, capture_output=True, text=True, timeout=60)


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_gateway_process_submits_announces_shows_and_cancels(stack_env, stack_settings, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**stack_env, "CENAS_GATEWAY_PORT": str(port), "CENAS_GATEWAY_URL": url}
    created = cenas(env, "keys", "create", "--name", "integration")
    assert created.returncode == 0, created.stderr
    key = created.stdout.splitlines()[-1]
    auth = {"Authorization": f"Bearer {key}"}
    heard = []
    consumer = Consumer(None, f"test-gateway-{uuid.uuid4().hex[:8]}", ["search.created", "search.cancelled"], heard.append,
                        connection=connect_from(stack_settings))
    consumer.declare()
    engine = make_engine(stack_settings)
    try:
        with running(env, tmp_path, "gateway"):
            wait_for(lambda: ready(url), timeout=60, what="the gateway to be ready")
            assert httpx.get(f"{url}/v1/searches", timeout=5).status_code == 401

            response = httpx.post(f"{url}/v1/searches", json=EXAMPLE, headers=auth, timeout=10)
            assert response.status_code == 201, response.text
            search_id = response.json()["id"]
            with Session(engine) as session:
                row = session.get(Search, search_id)
            assert row.status == SearchStatus.QUEUED and row.spec["gpus"] == 8
            wait_for(lambda: consumer.drain(timeout=0.5) or [m.search_id for m in heard if m.kind == "search.created"] == [search_id],
                     timeout=10, what="search.created on the bus")

            body = httpx.get(f"{url}/v1/searches/{search_id}", headers=auth, timeout=5).json()
            assert body["id"] == search_id and body["status"] == "queued" and body["progress"]["evaluations"] == 0
            assert httpx.delete(f"{url}/v1/searches/{search_id}", headers=auth, timeout=10).status_code == 202
            assert httpx.get(f"{url}/v1/searches/{search_id}", headers=auth, timeout=5).json()["status"] == "cancelled"
            wait_for(lambda: consumer.drain(timeout=0.5) or any(m.kind == "search.cancelled" for m in heard),
                     timeout=10, what="search.cancelled on the bus")
            metrics = httpx.get(f"{url}/metrics", timeout=10).text
            assert 'cenas_searches{status="cancelled"}' in metrics

            # the client commands against the live gateway
            client_env = {**env, "CENAS_API_KEY": key}
            (tmp_path / "spec.yaml").write_text(yaml.safe_dump({**EXAMPLE, "name": "from-cli"}))
            submitted = cenas(client_env, "submit", str(tmp_path / "spec.yaml"))
            assert submitted.returncode == 0, submitted.stderr
            cli_id = submitted.stdout.splitlines()[-1]
            status = cenas(client_env, "status", cli_id)
            assert status.returncode == 0 and f"search {cli_id} (from-cli): queued" in status.stdout
            report = cenas(client_env, "report", cli_id, "--json", str(tmp_path / "report.json"))
            assert report.returncode == 0 and "Pareto front" in report.stdout and "carbon" in report.stdout
            written = json.loads((tmp_path / "report.json").read_text())
            assert written["search"]["id"] == cli_id and written["pareto"]["objectives"][0] == {"name": "accuracy", "goal": "max"}
            missing = cenas(client_env, "status", "no-such-search")
            assert missing.returncode == 2 and missing.stderr.strip() == "error: gateway answered 404 to GET /v1/searches/no-such-search: search no-such-search not found"
            wrong = cenas({**client_env, "CENAS_API_KEY": "cenas_wrong"}, "status", cli_id)
            assert wrong.returncode == 2 and "401" in wrong.stderr
    finally:
        consumer.close()
        engine.dispose()
