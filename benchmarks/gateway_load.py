"""Gateway under load: the real process (uvicorn) on loopback, N concurrent clients.

    python benchmarks/gateway_load.py [--seconds 60] [--clients 32] [--submit-fraction 0.02]
                                      [--database-url URL | --postgres] [--json PATH]

Starts `python -m gateway` on a free loopback port against a temporary SQLite file (or
`--database-url`, or with `--postgres` a private database on the local PostgreSQL,
dropped afterwards) and the embedded filesystem broker, creates `--keys` API keys with a
few searches each, then runs two phases of `--seconds` each with the same concurrency:

- baseline: every client polls `GET /healthz` (the server's floor: HTTP, routing, JSON);
- workload: every client, with its own key, polls `GET /v1/searches/{id}` of its key's
  searches and lists them (`GET /v1/searches?limit=20`), and a fraction of its requests
  submit a new search (`POST /v1/searches`).

Prints requests/s, p50/p99 latency and errors by status for each phase, and the workload
as a ratio of the baseline. Client and server share the machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from private_stack import PG_ADMIN, private_database
from cenas.db import make_engine
from cenas.search.submit import submit_search
from cenas.settings import Settings
from cenas.spec import SearchSpec
from gateway.auth import create_api_key, find_api_key

SPEC = {
    "name": "load", "task": {"kind": "nb201", "dataset": "cifar10",
                             "objectives": [{"name": "accuracy", "goal": "max"}, {"name": "edgegpu_energy", "goal": "min"}]},
    "gpus": 8, "budget": {"hours": 80}, "carbon": {"region": "US-CAL-CISO", "signal": "replay", "seconds_per_hour": 2},
    "policy": "heuristic",
}


@dataclass
class Phase:
    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    by_kind: Counter = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def quantile(self, q: float) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else float("nan")
        return statistics.quantiles(self.latencies, n=1000, method="inclusive")[int(q * 1000) - 1]

    def errors(self) -> dict[str, int]:
        return {str(s): n for s, n in sorted(self.statuses.items(), key=str) if not (isinstance(s, int) and s < 400)}

    def as_dict(self) -> dict:
        return {"phase": self.name, "seconds": round(self.seconds, 2), "requests": self.requests,
                "requests_per_s": round(self.rate, 1), "p50_ms": round(self.quantile(0.5) * 1000, 2),
                "p99_ms": round(self.quantile(0.99) * 1000, 2), "errors": self.errors(), "by_kind": dict(self.by_kind)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(settings: Settings, keys: int, searches: int) -> list[tuple[str, list[str]]]:
    """``keys`` API keys with ``searches`` queued searches each: [(key, [search ids])]."""
    from cenas.bus import Publisher, connect_from

    engine = make_engine(settings)
    spec = SearchSpec.model_validate(SPEC)
    callers = []
    with Publisher(connection=connect_from(settings)) as publisher:
        for k in range(keys):
            _, key = create_api_key(engine, name=f"load-{k}")
            owner = find_api_key(engine, key=key).id
            callers.append((key, [submit_search(engine, publisher, spec, owner=owner).id for _ in range(searches)]))
    engine.dispose()
    return callers


@contextlib.contextmanager
def gateway_process(settings: Settings, port: int, source: Path | None = None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENAS_")}
    env.update(CENAS_DATA_DIR=str(settings.data_dir), CENAS_GATEWAY_HOST="127.0.0.1", CENAS_GATEWAY_PORT=str(port))
    if settings.database_url:
        env["CENAS_DATABASE_URL"] = settings.database_url
    log = open(Path(settings.data_dir) / "gateway.log", "w")
    # `-m` imports from the working directory first: --gateway-source runs another version
    proc = subprocess.Popen([sys.executable, "-m", "gateway"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=source)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the gateway exited ({proc.returncode}); see {log.name}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the gateway did not answer /healthz within 60 s")
            time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


async def run_phase(phase: Phase, base: str, clients: int, seconds: float, plan) -> Phase:
    """``clients`` tasks, each repeatedly sending ``plan(client_index, rng)`` -> (kind, method, path, headers, body)."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
        deadline = time.monotonic() + seconds

        async def client(index: int) -> None:
            rng = random.Random(index)
            while time.monotonic() < deadline:
                kind, method, path, headers, body = plan(index, rng)
                started = time.perf_counter()
                try:
                    response = await http.request(method, path, headers=headers, json=body)
                    status: int | str = response.status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                phase.latencies.append(time.perf_counter() - started)
                phase.statuses[status] += 1
                phase.by_kind[kind] += 1

        started = time.monotonic()
        await asyncio.gather(*(client(i) for i in range(clients)))
        phase.seconds = time.monotonic() - started
    return phase


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each phase")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients")
    parser.add_argument("--submit-fraction", type=float, default=0.02, help="share of workload requests that submit a search")
    parser.add_argument("--keys", type=int, default=8, help="API keys; clients take them in turn")
    parser.add_argument("--searches", type=int, default=10, help="searches per key before the run")
    db = parser.add_mutually_exclusive_group()
    db.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    db.add_argument("--postgres", action="store_true", help=f"a private database on {PG_ADMIN}, dropped afterwards")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--gateway-source", type=Path, default=None,
                        help="a directory holding another `gateway` package to serve (A/B against, e.g., `git archive REV gateway`)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        url = stack.enter_context(private_database()) if args.postgres else args.database_url
        settings = Settings(_env_file=None, _secrets_dir=None, data_dir=Path(tmp), database_url=url, broker_url=None)
        callers = seed(settings, args.keys, args.searches)
        port = free_port()
        stack.enter_context(gateway_process(settings, port, args.gateway_source))
        base = f"http://127.0.0.1:{port}"

        def baseline(index, rng):
            return "healthz", "GET", "/healthz", None, None

        def workload(index, rng):
            key, ids = callers[index % len(callers)]
            headers = {"Authorization": f"Bearer {key}"}
            roll = rng.random()
            if roll < args.submit_fraction:
                return "submit", "POST", "/v1/searches", headers, SPEC
            if roll < args.submit_fraction + (1 - args.submit_fraction) / 4:
                return "list", "GET", "/v1/searches?limit=20", headers, None
            return "get", "GET", f"/v1/searches/{rng.choice(ids)}", headers, None

        phases = [asyncio.run(run_phase(Phase("baseline /healthz"), base, args.clients, args.seconds, baseline)),
                  asyncio.run(run_phase(Phase("workload"), base, args.clients, args.seconds, workload))]
        server_log = [line for line in (Path(tmp) / "gateway.log").read_text(errors="replace").splitlines()
                      if '" 2' not in line]  # all but the access lines of successes

    database = "postgresql" if args.postgres or (url or "").startswith("postgresql") else "sqlite"
    print(f"gateway load: {database}, {args.clients} clients, {args.seconds:.0f} s per phase, "
          f"submit fraction {args.submit_fraction}, {os.cpu_count()} CPUs shared by client and server")
    print(f"{'phase':<20}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}  errors")
    for p in phases:
        d = p.as_dict()
        print(f"{p.name:<20}{d['requests']:>10}{d['requests_per_s']:>10}{d['p50_ms']:>10}{d['p99_ms']:>10}  {d['errors'] or 'none'}")
    base_d, work_d = phases[0].as_dict(), phases[1].as_dict()
    ratio = {"requests_per_s": round(work_d["requests_per_s"] / base_d["requests_per_s"], 3),
             "p99": round(work_d["p99_ms"] / base_d["p99_ms"], 2)}
    print(f"workload / baseline: throughput x{ratio['requests_per_s']}, p99 x{ratio['p99']}; workload mix {work_d['by_kind']}")
    if any(p.errors() for p in phases):
        print("gateway log, all but successful requests (last 30 lines):", *server_log[-30:], sep="\n  ")
    if args.json:
        args.json.write_text(json.dumps({"database": database, "clients": args.clients, "seconds": args.seconds,
                                         "phases": [base_d, work_d], "ratio": ratio}, indent=2))
    return 1 if any(p.errors() for p in phases) else 0


if __name__ == "__main__":
    sys.exit(main())
