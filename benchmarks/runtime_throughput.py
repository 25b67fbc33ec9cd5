"""Throughput of the distributed path with zero-cost evaluations.

    python benchmarks/runtime_throughput.py [--workers 4] [--evaluations 300]

Real RabbitMQ and PostgreSQL (a private virtual host and database), N virtual GPU workers
as real processes, and the optimizer service's code in this process: it dispatches
`evaluate` tasks, workers run them (the replay clock is set so that a task sleeps
microseconds), record the result row and announce it, and the optimizer records it and
dispatches the next. Two phases side by side: the proposer is random search (the runtime
path alone, the baseline), then LaMOO as deployed (a fit after every result). Prints
evaluations per second end to end and the optimizer's own time per evaluation (the
dispatch overhead: planning, sending, recording).
"""

from __future__ import annotations

import argparse
import statistics
import time

from sqlmodel import Session, select
from tqdm import tqdm

from private_stack import private_stack, stop, wait_for_workers
from cenas.db.searches import Evaluation, SearchStatus
from cenas.bus import Consumer, Publisher, connect_from
from cenas.search.proposers import RandomProposer
from cenas.work import EVALUATION_QUEUE, make_celery
from optimizer_svc.service import OptimizerService


def phase(stack, celery, workers: int, evaluations: int, proposer: str) -> tuple[float, float, float]:
    """(evaluations per second, optimizer ms per evaluation, median ms a worker spends in the task)."""
    search_id = stack.running_search({
        "name": f"throughput-{proposer}", "task": {"kind": "nb201"}, "gpus": workers, "budget": {"carbon_g": 1e12},
        "carbon": {"region": "DE", "start": "2022-01-01T00:00:00Z", "seconds_per_hour": 1e-6}, "policy": "vanilla",
    })
    service = OptimizerService(stack.engine, celery, Publisher(connection=connect_from(stack.settings)), pool_gpus=workers)
    service.restore()
    live = service.live[search_id]
    if proposer == "random":
        live.dispatcher.proposer = RandomProposer(live.ctx.problem.space, live.ctx.problem.ref_point, 0)
    live.dispatcher.set_allocation(workers, 0)
    busy = 0.0

    def timed(message) -> None:
        nonlocal busy
        began = time.perf_counter()
        service.on_message(message)
        busy += time.perf_counter() - began

    consumer = Consumer(None, f"bench-{proposer}", ["evaluation.completed"], timed, connection=connect_from(stack.settings))
    consumer.declare()
    started = time.perf_counter()
    service.pump(live)
    busy += time.perf_counter() - started
    with tqdm(total=evaluations, desc=proposer, unit="eval") as bar:
        last_progress = time.monotonic()
        while len(live.codes) < evaluations:
            consumer.poll(timeout=1.0, max_messages=10)
            if len(live.codes) > bar.n:
                bar.update(len(live.codes) - bar.n)
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > 60:
                raise SystemExit(f"{proposer}: no result for 60 s after {bar.n} evaluations; are the workers alive?")
    wall = time.perf_counter() - started
    service.finish(search_id, SearchStatus.SUCCEEDED)
    consumer.close()
    with Session(stack.engine) as session:
        rows = session.exec(select(Evaluation).where(Evaluation.search_id == search_id)).all()
    in_task = statistics.median((r.finished_at - r.started_at).total_seconds() for r in rows)
    return len(live.codes) / wall, 1000.0 * busy / len(live.codes), 1000.0 * in_task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--evaluations", type=int, default=300)
    args = parser.parse_args()
    with private_stack() as stack:
        procs = [stack.spawn("worker", "--virtual-gpus", str(args.workers))]
        try:
            celery = make_celery(stack.settings)
            wait_for_workers(celery, args.workers)
            celery.control.add_consumer(EVALUATION_QUEUE, reply=True, timeout=5.0)
            results = {p: phase(stack, celery, args.workers, args.evaluations, p) for p in ("random", "lamoo")}
        finally:
            stop(procs)
    base_rate, base_ms, _ = results["random"]
    print(f"\nzero-cost evaluations through RabbitMQ + PostgreSQL, {args.workers} virtual GPU workers, {args.evaluations} each:")
    for name, (rate, ms, task_ms) in results.items():
        print(f"  {name:>6}: {rate:6.1f} evaluations/s ({rate / base_rate:.2f}x the random baseline), "
              f"optimizer {ms:6.2f} ms per evaluation ({ms / base_ms:.1f}x), worker {task_ms:5.1f} ms in the task (median)")


if __name__ == "__main__":
    main()
