"""Live mode end to end: real RabbitMQ and PostgreSQL, every service a real process, torch
digits searches on the wall clock against local fakes of Electricity Maps and WattTime
(loopback, the providers' real request/response formats) whose values the test switches
clean -> dirty -> clean. The test controls only those values and a short decision
interval; the code path (wall clock, HTTP client, measured-or-modelled energy,
accounting) is the one users run.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

import httpx
import numpy as np
import pytest

from cenas.carbon.providers.watttime import LBS_PER_MWH_TO_G_PER_KWH
from cenas.carbon.signal import StepSignal
from cenas.work import make_celery
from tests.fakes.carbon_apis import EM_TOKEN, WT_PASS, WT_USER, serving
from tests.integration.runtime.conftest import free_port, running, wait_for, workers_answering
from tests.integration.runtime.test_gateway_e2e import all_pages, new_key, ready

pytestmark = pytest.mark.integration
INTERVAL_S = 5.0
INTERVALS = 18  # 6 clean, 6 dirty, 6 clean
CLEAN, DIRTY = 40.0, 700.0
GPUS = 3
WORKERS = 2 * GPUS
TORCH_TASK = {"kind": "torch", "dataset": "digits", "space": "nb201-cell-w8-d1", "epochs": 2}
BUDGET_H = INTERVALS * INTERVAL_S / 3600.0


def live_spec(name: str, signal: str, zone: str, policy: str, accounting: str, forecast: str = "model") -> dict:
    return {"name": name, "task": TORCH_TASK, "gpus": GPUS, "budget": {"hours": BUDGET_H}, "policy": policy, "accounting": accounting,
            "carbon": {"region": zone, "signal": signal, "interval_s": INTERVAL_S, "forecast": forecast}}


def parse(when: str) -> datetime:
    return datetime.fromisoformat(when.replace("Z", "+00:00"))


def test_live_searches_follow_the_grid_and_are_accounted_from_what_was_observed(stack_env, stack_settings, tmp_path):
    with serving() as fake:
        fake.zones = {"DE", "CAISO_NORTH", "GB"}
        fake.live.update({"DE": CLEAN, "CAISO_NORTH": CLEAN})
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {**stack_env, "CENAS_GATEWAY_PORT": str(port), "CENAS_GATEWAY_URL": url, "CENAS_POOL_GPUS": str(WORKERS),
               "CENAS_ELECTRICITYMAPS_URL": fake.url, "CENAS_ELECTRICITYMAPS_TOKEN": EM_TOKEN, "CENAS_WATTTIME_URL": fake.url,
               "CENAS_WATTTIME_USERNAME": WT_USER, "CENAS_WATTTIME_PASSWORD": WT_PASS, "CENAS_TORCH_THREADS": "1"}
        owner = new_key(env, "live-owner")
        services = ("forecaster_svc", "scheduler_svc", "optimizer_svc", "worker.pool_service", "gateway")
        with running(env, tmp_path, *services, virtual_gpus=WORKERS) as procs, \
                httpx.Client(base_url=url, headers={"Authorization": f"Bearer {owner}"}, timeout=60) as http:
            celery = make_celery(stack_settings.model_copy(update={"broker_url": env["CENAS_BROKER_URL"]}))
            wait_for(lambda: ready(url), timeout=180, what="the gateway to be ready")
            wait_for(lambda: workers_answering(celery) == WORKERS, timeout=240, what=f"{WORKERS} workers to answer")

            # bad input the provider can judge at submit: a 422 naming the field
            unknown = http.post("/v1/searches", json=live_spec("bad-zone", "electricitymaps", "XX-NOWHERE", "heuristic", "full"))
            assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"][-2:] == ["carbon", "region"], unknown.text
            # a provider that answers garbage once the search is queued: it fails with the cause, never replays
            fake.mode["GB"] = "down"  # down at submit: accepted, it waits for a first reading
            broken = http.post("/v1/searches", json={**live_spec("garbage", "electricitymaps", "GB", "heuristic", "full"), "gpus": 1})
            assert broken.status_code == 201, broken.text
            fake.mode["GB"] = "garbage"

            em = http.post("/v1/searches", json=live_spec("live-em", "electricitymaps", "DE", "heuristic", "full"))
            # rl on WattTime's own forecast (it follows the served value), heuristic on the shipped model's
            wt = http.post("/v1/searches", json=live_spec("live-wt", "watttime", "US-CAL-CISO", "rl", "full", forecast="provider"))
            assert em.status_code == 201 and wt.status_code == 201, (em.text, wt.text)
            ids = {"em": em.json()["id"], "wt": wt.json()["id"]}

            def started():
                rows = {k: http.get(f"/v1/searches/{i}").json() for k, i in ids.items()}
                return rows if all(r["started_at"] for r in rows.values()) else None

            rows = wait_for(started, timeout=120, what="both live searches to start")
            t0 = min(parse(r["started_at"]) for r in rows.values()).timestamp()

            stop = threading.Event()

            def drive_the_grid() -> None:
                """Clean, dirty, clean by wall time; Electricity Maps down for two intervals while dirty."""
                while not stop.wait(0.2):
                    k = int((time.time() - t0) / INTERVAL_S)
                    value = DIRTY if INTERVALS // 3 <= k < 2 * INTERVALS // 3 else CLEAN
                    fake.live.update({"DE": value, "CAISO_NORTH": value})
                    outage = INTERVALS // 3 + 2 <= k < INTERVALS // 3 + 4
                    if outage:
                        fake.mode["DE"] = "down"
                    else:
                        fake.mode.pop("DE", None)

            driver = threading.Thread(target=drive_the_grid, daemon=True)
            driver.start()
            try:
                def settled():
                    assert all(p.poll() is None for p in procs.values()), {n: p.returncode for n, p in procs.items()}
                    found = {k: http.get(f"/v1/searches/{i}").json() for k, i in ids.items()}
                    return found if all(r["settled_at"] for r in found.values()) else None

                finals = wait_for(settled, timeout=INTERVALS * INTERVAL_S + 240, interval=1.0, what="both live searches to settle")
            finally:
                stop.set()
                driver.join()
            failed = http.get(f"/v1/searches/{broken.json()['id']}").json()
            results = {k: {"ledger": all_pages(http, f"/v1/searches/{i}/ledger"), "decisions": all_pages(http, f"/v1/searches/{i}/decisions"),
                           "signal": http.get(f"/v1/searches/{i}/signal", params={"limit": 1000}).raise_for_status().json()}
                       for k, i in ids.items()}
            metrics = httpx.get(f"{url}/metrics", timeout=30).text

    # a provider answering garbage failed its search with the cause named
    assert failed["status"] == "failed" and "electricitymaps" in failed["error"] and "GB" in failed["error"], failed
    for key, search in finals.items():
        assert search["status"] == "succeeded", (key, search["error"])
        got = results[key]
        signal, decisions, ledger = got["signal"], got["decisions"], got["ledger"]
        started, finished = parse(search["started_at"]), parse(search["finished_at"])
        # the stored signal covers the search: a reading in force at its start, and readings to its end
        readings = signal["readings"]
        assert signal["total"] == len(readings) > INTERVALS
        assert parse(readings[0]["fetched_at"]) <= started
        assert (finished - parse(readings[-1]["fetched_at"])).total_seconds() < 4 * INTERVAL_S
        assert {r["intensity"] for r in readings} >= {CLEAN, DIRTY}
        # decisions follow the signal: more evaluation GPUs in clean intervals than in dirty ones
        # (the heuristic); the shipped rl policy decides on the same signal but holds 2 of 3
        # GPUs on evaluation whatever it reads here (issue 18's generalisation gap): it may
        # not do worse than that
        clean = [d["gpus_evaluation"] for d in decisions if d["intensity"] == CLEAN]
        dirty = [d["gpus_evaluation"] for d in decisions if d["intensity"] == DIRTY]
        trail = (key, [(d["interval"], d["intensity"], d["gpus_evaluation"], d["policy"], d["fallback"]) for d in decisions])
        assert clean and dirty, trail
        assert np.mean(clean) > np.mean(dirty) if search["spec"]["policy"] == "heuristic" else np.mean(clean) >= np.mean(dirty), trail
        assert {d["policy"] for d in decisions} == {search["spec"]["policy"]}, trail
        assert all(d["gpus_evaluation"] + d["gpus_sampling"] + d["gpus_idle"] == GPUS for d in decisions)
        assert any(d["forecast"] for d in decisions)  # decisions carry the forecast they used
        # the totals are the ledger's sums, and each task's carbon is its energy times the
        # observed signal integrated over its own wall-clock span, times PUE
        assert search["progress"]["energy_kwh"] == pytest.approx(sum(r["energy_kwh"] for r in ledger), rel=1e-6)
        assert search["progress"]["carbon_g"] == pytest.approx(sum(r["carbon_g"] for r in ledger), rel=1e-6)
        assert search["progress"]["carbon_g"] > 0 and any(r["state"] == "evaluation" for r in ledger)
        steps = StepSignal.of([((parse(r["fetched_at"]) - started).total_seconds() / 3600.0, r["intensity"]) for r in readings])
        pue = 1.58 if search["spec"]["accounting"] == "full" else 1.0
        tasks = [r for r in ledger if r["state"] != "idle"]
        assert tasks
        for row in tasks:
            expected = row["energy_kwh"] * pue * steps.mean(row["start_hours"], row["end_hours"])
            assert row["carbon_g"] == pytest.approx(expected, rel=1e-6, abs=1e-9), row
        # every granted GPU-second is charged; the two searches share the work queues, so
        # one may briefly run more tasks than its grant on the other's idle workers (charged too)
        granted = GPUS * BUDGET_H * 3600
        assert granted * (1 - 1e-3) <= sum(r["gpu_seconds"] for r in ledger) <= granted * 1.1

    em_result, wt_result = results["em"], results["wt"]
    # the outage was survived: decisions in it are marked stale, and the source recovered
    assert any(d["stale"] for d in em_result["decisions"])
    assert em_result["signal"]["source"]["state"] == "ok" and em_result["signal"]["signal_type"] == "average"
    # WattTime's marginal signal arrives in lbs/MWh: stored converted, with the raw value beside it
    assert wt_result["signal"]["signal_type"] == "marginal"
    for r in wt_result["signal"]["readings"]:
        assert r["raw_unit"] == "lbs_co2_per_mwh" and r["intensity"] == pytest.approx(r["raw_value"] * LBS_PER_MWH_TO_G_PER_KWH)
    assert 'cenas_carbon_signal_stale{provider="electricitymaps",zone="DE"}' in metrics
