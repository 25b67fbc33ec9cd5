"""Issue 21's run: a torch search whose budget ends before any evaluation can finish (2
GPUs, 6 trace hours at 1 s per hour, digits, 5 epochs, heuristic, full accounting), over
HTTP on real RabbitMQ and PostgreSQL. Its GPUs were held for the whole budget, so it
spent energy: exactly the granted GPU-time at the state powers, at the trace's intensity;
and its outcome says that nothing was evaluated, in the API and in `cenas status`."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from cenas.search.context import build_context
from cenas.work import make_celery
from tests.integration.runtime.conftest import free_port, running, wait_for, workers_answering
from tests.integration.runtime.test_gateway_e2e import all_pages, new_key, ready

pytestmark = pytest.mark.integration
GPUS, HOURS = 2, 6
SPEC = {"name": "too-short", "task": {"kind": "torch", "dataset": "digits", "space": "nb201-cell-w8-d1", "epochs": 5},
        "gpus": GPUS, "budget": {"hours": HOURS}, "policy": "heuristic", "accounting": "full",
        "carbon": {"region": "US-CAL-CISO", "start": "2021-07-02T06:00:00Z", "seconds_per_hour": 1.0}}
WATTS = {"evaluation": 250.0, "sampling": 150.0, "idle": 40.0}


def test_a_search_that_evaluated_nothing_is_charged_its_gpu_time_and_says_so(stack_env, stack_settings, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**stack_env, "CENAS_GATEWAY_PORT": str(port), "CENAS_GATEWAY_URL": url, "CENAS_TORCH_THREADS": "1"}
    key = new_key(env, "short-budget")
    services = ("forecaster_svc", "scheduler_svc", "optimizer_svc", "worker.pool_service", "gateway")
    with running(env, tmp_path, *services, virtual_gpus=GPUS) as procs, \
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
        wait_for(lambda: ready(url), timeout=180, what="the gateway to be ready")
        celery = make_celery(stack_settings)
        wait_for(lambda: workers_answering(celery) >= GPUS, timeout=180, what="the workers")
        submitted = subprocess.run([sys.executable, "-m", "cenas_cli", "submit", str(_spec_file(tmp_path))], capture_output=True, text=True,
                                   timeout=120, env={**env, "CENAS_API_KEY": key})
        assert submitted.returncode == 0, submitted.stderr
        assert "warning:" in submitted.stderr and "empty Pareto front" in submitted.stderr  # warned before it ran
        search_id = submitted.stdout.splitlines()[-1]

        def settled():
            assert all(p.poll() is None for p in procs.values()), {n: p.returncode for n, p in procs.items()}
            body = http.get(f"/v1/searches/{search_id}").raise_for_status().json()
            return body if body["settled_at"] else None

        search = wait_for(settled, timeout=HOURS + 240, interval=1.0, what="the search's ledger to close")
        ledger = all_pages(http, f"/v1/searches/{search_id}/ledger")
        status = subprocess.run([sys.executable, "-m", "cenas_cli", "status", search_id], capture_output=True, text=True, timeout=120,
                                env={**env, "CENAS_API_KEY": key})
    assert search["status"] == "succeeded" and search["progress"]["evaluations"] == 0
    assert search["warnings"] and "no evaluation finished" in search["warnings"][0]
    assert status.returncode == 0 and "warning: no evaluation finished" in status.stdout, status.stdout + status.stderr
    # every granted GPU-second charged once, at its state's power, at the trace's intensity x PUE
    ctx = build_context(search_id, search["spec"], None)
    assert sum(r["gpu_seconds"] for r in ledger) == pytest.approx(GPUS * HOURS * 3600, rel=1e-6)
    expected_kwh = sum(WATTS[r["state"]] * r["gpu_seconds"] / 3.6e6 for r in ledger)
    expected_g = sum(WATTS[r["state"]] * r["gpu_seconds"] / 3.6e6 * 1.58 * ctx.mean_intensity(r["start_hours"], r["end_hours"])
                     for r in ledger)
    assert search["progress"]["energy_kwh"] > 0
    assert search["progress"]["energy_kwh"] == pytest.approx(expected_kwh, rel=1e-6)
    assert search["progress"]["carbon_g"] == pytest.approx(expected_g, rel=1e-6)
    # the supernet (if its worker got to it before the end) is cut at the end; nothing finished an evaluation
    assert not any(r["state"] == "evaluation" and r["outcome"] == "finished" for r in ledger)
    assert all(r["outcome"] in ("cut", "unused") for r in ledger if r["state"] != "sampling" or r["outcome"] != "finished")


def _spec_file(tmp_path):
    import json

    path = tmp_path / "too-short.json"
    path.write_text(json.dumps(SPEC))
    return path
