"""A search driven only through the gateway, on real RabbitMQ and PostgreSQL with every
service running as a real process and 4 virtual GPU workers; then the figures the API
shows are checked against each other and against the rows in the database."""

from __future__ import annotations

import subprocess
import sys

import httpx
import numpy as np
import pytest
from sqlmodel import Session, select

from cenas.client import all_pages
from cenas.db import make_engine
from cenas.db.searches import SampleBatch, Search, SearchStatus
from cenas.pareto import non_dominated_mask
from cenas.readiness import is_ready
from cenas.work import make_celery
from cenas_cli.up import READY_FILE_SERVICES
from tests.integration.runtime.conftest import free_port, running, wait_for

pytestmark = pytest.mark.integration
HOURS = 12
GPUS = 4
SPEC = {"name": "gateway-e2e", "task": {"kind": "nb201"}, "gpus": GPUS, "budget": {"hours": HOURS},
        "carbon": {"region": "US-CAL-CISO", "start": "2021-07-02T06:00:00Z", "seconds_per_hour": 1.5},
        "policy": "heuristic", "accounting": "full"}


def new_key(env: dict[str, str], name: str) -> str:
    done = subprocess.run([sys.executable, "-m", "cenas_cli", "keys", "create", "--name", name], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[-1]


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def test_a_search_submitted_over_http_runs_to_the_end_with_consistent_figures(stack_env, stack_settings, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**stack_env, "CENAS_GATEWAY_PORT": str(port), "CENAS_GATEWAY_URL": url}
    engine = make_engine(stack_settings)
    # searches other tests of this session left queued would run first (FIFO pool): end them
    with Session(engine) as session:
        for row in session.exec(select(Search).where(Search.status.in_([SearchStatus.QUEUED, SearchStatus.RUNNING]))).all():
            row.status = SearchStatus.CANCELLED
            session.add(row)
        session.commit()
    owner, stranger = new_key(env, "e2e-owner"), new_key(env, "e2e-stranger")
    services = ("forecaster_svc", "scheduler_svc", "optimizer_svc", "worker.pool_service", "gateway")
    try:
        with running(env, tmp_path, *services, virtual_gpus=GPUS) as procs, \
                httpx.Client(base_url=url, headers={"Authorization": f"Bearer {owner}"}, timeout=30) as http:
            # everything up before the search's replay clock starts (the scheduler decides each hour as it begins)
            celery = make_celery(stack_settings)
            wait_for(lambda: ready(url), timeout=180, what="the gateway to be ready")
            wait_for(lambda: all(is_ready(stack_settings.data_dir, name, procs[name].pid) for name in READY_FILE_SERVICES),
                     timeout=180, what="the services' ready files")
            wait_for(lambda: len(celery.control.ping(timeout=1.0) or []) == GPUS, timeout=180, what=f"{GPUS} workers to answer")
            created = http.post("/v1/searches", json=SPEC)
            assert created.status_code == 201, created.text
            search_id = created.json()["id"]

            def finished():
                assert all(p.poll() is None for p in procs.values()), {n: p.returncode for n, p in procs.items()}
                body = http.get(f"/v1/searches/{search_id}").raise_for_status().json()
                return body if body["status"] in ("succeeded", "failed", "cancelled") else None

            search = wait_for(finished, timeout=HOURS * 1.5 + 240, interval=1.0, what="the search to finish")
            assert search["status"] == "succeeded", search["error"]

            def settled():
                """The ledger closes once every attempt under way at the end stopped (they are
                cut at the end, charged up to it): then the totals are final."""
                body = http.get(f"/v1/searches/{search_id}").raise_for_status().json()
                return body if body["settled_at"] else None

            search = wait_for(settled, timeout=90, interval=1.0, what="the search's ledger to close")
            evaluations = all_pages(http, f"/v1/searches/{search_id}/evaluations")
            ledger = all_pages(http, f"/v1/searches/{search_id}/ledger")
            pareto = http.get(f"/v1/searches/{search_id}/pareto").raise_for_status().json()
            decisions = all_pages(http, f"/v1/searches/{search_id}/decisions")
            hidden = httpx.get(f"{url}/v1/searches/{search_id}", headers={"Authorization": f"Bearer {stranger}"}, timeout=30)
            assert hidden.status_code == 404
            assert search_id not in [s["id"] for s in httpx.get(f"{url}/v1/searches", timeout=30,
                                                                   headers={"Authorization": f"Bearer {stranger}"}).json()["items"]]
        with Session(engine) as session:
            samples = session.exec(select(SampleBatch).where(SampleBatch.search_id == search_id)).all()
    finally:
        engine.dispose()

    progress = search["progress"]
    assert progress["evaluations"] == len(evaluations) > 0
    assert progress["samples"] == sum(len(b.codes) for b in samples) > 0
    # the front: non-dominated, and every point an evaluated architecture with its values
    names = [o["name"] for o in pareto["objectives"]]
    signs = np.array([1.0 if o["goal"] == "max" else -1.0 for o in pareto["objectives"]])
    points = np.array([[p["values"][n] for n in names] for p in pareto["points"]]) * signs
    assert len(points) > 0 and non_dominated_mask(points).all()
    evaluated = {e["architecture"]: e["objectives"] for e in evaluations}
    for point in pareto["points"]:
        assert point["architecture"] in evaluated
        assert all(point["values"][n] == pytest.approx(evaluated[point["architecture"]][n]) for n in names)
    # the ledger: every GPU-second of the grant charged once, at its state's power; the totals are its sums
    assert sum(r["gpu_seconds"] for r in ledger) == pytest.approx(GPUS * HOURS * 3600, rel=1e-6)
    watts = {"evaluation": 250.0, "sampling": 150.0, "idle": 40.0}
    for row in ledger:
        assert row["energy_kwh"] == pytest.approx(watts[row["state"]] * row["gpu_seconds"] / 3.6e6, rel=1e-9, abs=1e-12)
    assert progress["energy_kwh"] == pytest.approx(sum(r["energy_kwh"] for r in ledger), rel=1e-6)
    assert progress["carbon_g"] == pytest.approx(sum(r["carbon_g"] for r in ledger), rel=1e-6)
    for e in evaluations:  # an evaluation is charged with its segments
        own = [r for r in ledger if r["state"] == "evaluation" and r["key"] == e["code"]]
        assert e["energy_kwh"] == pytest.approx(sum(r["energy_kwh"] for r in own), rel=1e-9)
        assert own[-1]["outcome"] == "finished" and all(r["end_hours"] <= HOURS + 1e-9 for r in own)
    # the scheduler decided every hour once, splitting exactly the search's GPUs
    intervals = [d["interval"] for d in decisions]
    assert len(intervals) == len(set(intervals)) and set(range(HOURS)) <= set(intervals)
    assert all(d["gpus_evaluation"] + d["gpus_sampling"] + d["gpus_idle"] == GPUS for d in decisions)
    assert all(d["policy"] == "heuristic" for d in decisions)
