"""Decision-to-reallocation latency: publish -> workers consuming from their new queues.

    python benchmarks/pool_latency.py [--decisions 100] [--workers 8]

Needs the local RabbitMQ (rabbitmqctl) and PostgreSQL; runs on a private virtual host and
database, starts N virtual GPU workers and the pool controller as real processes, then
publishes decisions that alternate the split (e.g. 6/2 <-> 2/6) for one running search and
times, for each, the moment `inspect().active_queues()` first shows every worker in its
new role. Prints the median and p99 in seconds (target: under 1 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import psycopg
from sqlmodel import Session

from cenas.bus import Publisher, connect_from
from cenas.contracts import ScheduleDecision
from cenas.db import make_engine
from cenas.db.searches import Decision, Search, SearchStatus, create_search
from cenas.settings import Settings
from cenas.spec import SearchSpec
from cenas.work import make_celery

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def counts(celery, workers: int) -> tuple[int, int]:
    replies = celery.control.inspect(timeout=1.0, limit=workers).active_queues() or {}
    names = [{q["name"] for q in queues} for queues in replies.values()]
    return sum("evaluation" in n for n in names), sum("sampling" in n for n in names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decisions", type=int, default=100)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:8]
    vhost, db = f"cenas-bench-{tag}", f"cenas_bench_{tag}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True)
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"], check=True)
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    data = Path(tempfile.mkdtemp())
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENAS_")}
    env.update(CENAS_BROKER_URL=f"amqp://guest:guest@127.0.0.1:5672/{vhost}", CENAS_DATABASE_URL=PG_ADMIN.rsplit("/", 1)[0] + f"/{db}", CENAS_DATA_DIR=str(data))
    settings = Settings(broker_url=env["CENAS_BROKER_URL"], database_url=env["CENAS_DATABASE_URL"], data_dir=data)
    engine = make_engine(settings)
    procs = [subprocess.Popen([sys.executable, "-m", "worker", "--virtual-gpus", str(args.workers)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
             subprocess.Popen([sys.executable, "-m", "worker.pool_service"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        celery = make_celery(settings)
        while len(celery.control.ping(timeout=1.0) or []) < args.workers:
            time.sleep(0.5)
        spec = SearchSpec.model_validate({"name": "latency", "task": {"kind": "nb201"}, "gpus": args.workers, "budget": {"hours": 1000},
                                          "carbon": {"region": "DE", "start": "2022-01-01T00:00:00Z"}, "policy": "heuristic"}).model_dump(mode="json")
        search = create_search(engine, spec=spec)
        with Session(engine) as session:
            row = session.get(Search, search.id)
            row.status, row.started_at = SearchStatus.RUNNING, datetime.now(timezone.utc)
            session.add(row)
            session.commit()
        latencies = []
        with Publisher(connection=connect_from(settings)) as publisher:
            for i in range(args.decisions):
                e = args.workers - 2 if i % 2 == 0 else 2
                s = args.workers - e
                now = datetime.now(timezone.utc)
                with Session(engine) as session:  # persisted first, as the scheduler does
                    session.add(Decision(search_id=search.id, interval=i, valid_from=now, gpus_evaluation=e, gpus_sampling=s, gpus_idle=0, policy="bench", intensity=0.0))
                    session.commit()
                began = time.perf_counter()
                publisher.publish(ScheduleDecision(search_id=search.id, interval=i, valid_from=now, gpus_evaluation=e, gpus_sampling=s,
                                                   gpus_idle=0, policy="bench", intensity=0.0))
                while counts(celery, args.workers) != (e, s):
                    if time.perf_counter() - began > 30:
                        raise SystemExit(f"decision {i} not applied within 30 s")
                latencies.append(time.perf_counter() - began)
                print(f"decision {i + 1}/{args.decisions}: {e} eval / {s} sample applied in {latencies[-1]:.3f} s", flush=True)
        latencies.sort()
        p99 = latencies[min(len(latencies) - 1, int(round(0.99 * (len(latencies) - 1))))]
        print(f"\ndecision-to-reallocation over {len(latencies)} decisions, {args.workers} workers: "
              f"median {statistics.median(latencies):.3f} s, p99 {p99:.3f} s, max {latencies[-1]:.3f} s")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        engine.dispose()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False)


if __name__ == "__main__":
    main()
