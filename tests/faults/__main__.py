"""`python -m tests.faults [--long] [--seed S] [--seeds N]`: searches under injected faults.

Short form (CI, about a minute and a half): one 3-GPU search of 16 trace hours at 2 s/h
with a worker kill -9, an optimizer SIGKILL + restart, a broker connection drop, a 4 s
database outage and hostile messages on the bus. Long form: every fault type, `--seeds`
seeds from `--seed`, then a table per fault type. Exit status 1 if any invariant failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from cenas.db import make_engine
from cenas.settings import Settings
from tests.faults.scenario import Scenario
from tests.faults.stack import SERVICES, Stack, private_servers

SHORT = [["worker_kill", "restart_optimizer_svc_SIGKILL", "broker_drop", "db_outage", "bus_garbage"]]
LONG = [
    ["worker_kill", "worker_kill", "broker_drop", "worker_kill", "bus_garbage"],
    [f"restart_{s}_SIGTERM" for s in SERVICES],
    [f"restart_{s}_SIGKILL" for s in SERVICES],
    ["db_outage", "worker_kill", "db_outage"],
    ["broker_drop", "stack_restart"],  # the restart takes up to a minute on a loaded host: last
]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_suite(scenarios: list[list[str]], seeds: list[int], *, gpus: int, hours: float, sph: float,
              log_dir: Path, out=sys.stdout) -> list[dict]:
    reports = []
    with private_servers() as (broker_url, database_url):
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CENAS_")}
        env.update(CENAS_BROKER_URL=broker_url, CENAS_DATABASE_URL=database_url, CENAS_DATA_DIR=str(log_dir / "data"),
                   CENAS_POOL_GPUS=str(gpus), CENAS_GATEWAY_PORT=str(port), PYTHONUNBUFFERED="1")
        settings = Settings(_env_file=None, broker_url=broker_url, database_url=database_url, data_dir=log_dir / "data", pool_gpus=gpus)
        engine = make_engine(settings)
        created = subprocess.run([sys.executable, "-m", "cenas_cli", "keys", "create", "--name", "faults"], env=env,
                                 capture_output=True, text=True, timeout=120, check=True)
        key = created.stdout.splitlines()[-1]
        stack = Stack(env, log_dir, gpus)
        stack.start_all()
        try:
            for seed in seeds:
                for i, faults in enumerate(scenarios):
                    sc = Scenario(stack, engine, settings, broker_url, database_url.rsplit("/", 1)[1], faults, seed * 100 + i,
                                  gpus=gpus, hours=hours, sph=sph, gateway_url=f"http://127.0.0.1:{port}", api_key=key)
                    sc.wait_ready()
                    began = time.monotonic()
                    report = sc.run()
                    report.update(seed=seed, scenario=i, wall_s=round(time.monotonic() - began, 1))
                    reports.append(report)
                    print(json.dumps({k: v for k, v in report.items() if k != "started"}, default=str), file=out, flush=True)
                    for name in stack.names:  # a service that died on its own is a finding; restart it to go on
                        if stack.procs[name].poll() is not None:
                            stack.start(name)
        finally:
            stack.stop_all()
            engine.dispose()
    return reports


def table(reports: list[dict]) -> str:
    rows: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in reports:
        for name in r["injected"]:
            row = rows[name]
            row[0] += 1
            row[1] += int(not r["problems"])
        for name in set(r["injected"]):
            rows[name][2] += r["lost"]
            rows[name][3] += r["duplicated"]
    lines = ["| fault | injected | survived | evaluations lost | duplicated |", "|---|---|---|---|---|"]
    lines += [f"| {n} | {v[0]} | {v[1]} | {v[2]} | {v[3]} |" for n, v in sorted(rows.items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--long", action="store_true", help="every fault type, several seeds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=3, help="seeds in the long form")
    parser.add_argument("--log-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="cenas-faults-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    print(f"logs in {log_dir}", flush=True)
    if args.long:
        reports = run_suite(LONG, list(range(args.seed, args.seed + args.seeds)), gpus=4, hours=20, sph=2.0, log_dir=log_dir)
    else:
        reports = run_suite(SHORT, [args.seed], gpus=3, hours=16, sph=2.0, log_dir=log_dir)
    print(table(reports))
    failed = [r for r in reports if r["problems"]]
    for r in failed:
        print(f"seed {r['seed']} scenario {r['scenario']}: {r['problems']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
