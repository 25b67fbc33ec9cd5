"""`cenas demo` as a user runs it: a real process that starts the embedded stack, runs the
example search (shortened) to the end and writes its report."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from cenas.db import make_engine
from cenas.db.baselines import baseline_of
from cenas.settings import Settings

pytestmark = pytest.mark.e2e


def test_demo_runs_the_example_search_and_writes_its_report(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENAS_")}
    # a user's broker/database settings must not leak into the embedded demo
    env.update(CENAS_BROKER_URL="amqp://nobody@127.0.0.1:1//", CENAS_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "cenas_cli", "demo", "--hours", "16", "--seconds-per-hour", "1.5", "--virtual-gpus", "4",
         "--data-dir", str(tmp_path / "data"), "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    logs = "".join(f"\n--- {p.name}\n{p.read_text()[-1500:]}" for p in sorted((tmp_path / "data" / "logs").glob("*.log")))
    assert done.returncode == 0, done.stderr[-3000:] + logs
    assert "Pareto front" in done.stdout and "vanilla NAS" in done.stdout
    # the dashboard's address, and no key where output is captured (a pipe, a CI log)
    assert re.search(r"dashboard: http://127\.0\.0\.1:\d+/ui ", done.stderr) and not re.search(r"cenas_[\w-]{40}", done.stderr + done.stdout)

    report = json.loads((out / "report.json").read_text())
    search = report["search"]
    assert search["status"] == "succeeded" and search["spec"]["gpus"] == 4 and search["spec"]["budget"]["hours"] == 16
    assert search["spec"]["accounting"] == "paper"
    assert report["pareto"]["points"] and all(set(p["values"]) == {"accuracy", "edgegpu_energy"} for p in report["pareto"]["points"])
    assert report["summary"]["carbon_g"] > 0 and report["summary"]["hypervolume"] > 0
    vanilla = report["vanilla"]
    assert vanilla["policy"] == "vanilla" and vanilla["hours"] == 16 and vanilla["carbon_g"] > 0 and vanilla["final_hypervolume"] > 0
    assert vanilla["reaches_demo_hypervolume"] == (vanilla["carbon_g_to_demo_hypervolume"] is not None)
    assert len(report["series"]) > 1 and report["series"][-1]["status"] == "succeeded"
    assert {d["interval"] for d in report["decisions"]} >= {0}
    assert all(d["gpus_evaluation"] + d["gpus_sampling"] + d["gpus_idle"] == 4 for d in report["decisions"])
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the same vanilla run stored beside the search in the kept database: what the dashboard draws
    engine = make_engine(Settings(data_dir=tmp_path / "data", broker_url=None, database_url=None))
    stored = baseline_of(engine, search["id"])
    engine.dispose()
    assert stored is not None and stored.reason is None and stored.hours == 16
    assert stored.carbon_g == pytest.approx(vanilla["carbon_g"]) and stored.final_hypervolume == pytest.approx(vanilla["final_hypervolume"])
    assert stored.points[-1]["carbon_g"] == pytest.approx(vanilla["carbon_g"]) and stored.evaluations == vanilla["evaluations"]
