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
import statistics
import time
from datetime import datetime, timezone

from sqlmodel import Session

from private_stack import private_stack, stop, wait_for_workers
from cenas.bus import Publisher, connect_from
from cenas.contracts import ScheduleDecision
from cenas.db.searches import Decision
from cenas.work import make_celery

def counts(celery, workers: int) -> tuple[int, int]:
    replies = celery.control.inspect(timeout=1.0, limit=workers).active_queues() or {}
    names = [{q["name"] for q in queues} for queues in replies.values()]
    return sum("evaluation" in n for n in names), sum("sampling" in n for n in names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decisions", type=int, default=100)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    with private_stack() as stack:
        procs = [stack.spawn("worker", "--virtual-gpus", str(args.workers)), stack.spawn("worker.pool_service")]
        try:
            measure(stack, args)
        finally:
            stop(procs)


def measure(stack, args) -> None:
    settings, engine = stack.settings, stack.engine
    celery = make_celery(settings)
    wait_for_workers(celery, args.workers)
    search_id = stack.running_search({"name": "latency", "task": {"kind": "nb201"}, "gpus": args.workers, "budget": {"hours": 1000},
                                      "carbon": {"region": "DE", "start": "2022-01-01T00:00:00Z"}, "policy": "heuristic"})
    latencies = []
    with Publisher(connection=connect_from(settings)) as publisher:
        for i in range(args.decisions):
            e = args.workers - 2 if i % 2 == 0 else 2
            s = args.workers - e
            now = datetime.now(timezone.utc)
            with Session(engine) as session:  # persisted first, as the scheduler does
                session.add(Decision(search_id=search_id, interval=i, valid_from=now, gpus_evaluation=e, gpus_sampling=s, gpus_idle=0, policy="bench", intensity=0.0))
                session.commit()
            began = time.perf_counter()
            publisher.publish(ScheduleDecision(search_id=search_id, interval=i, valid_from=now, gpus_evaluation=e, gpus_sampling=s,
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



if __name__ == "__main__":
    main()
