"""Bus load: many small replayed searches at once on one pool of virtual GPUs.

    python benchmarks/concurrent_searches.py [--searches 24] [--gpus 8] [--hours 4] [--sph 1.0]

Real RabbitMQ and PostgreSQL (a private virtual host and database) and the whole runtime
as real processes (optimizer, scheduler, pool controller, `worker --virtual-gpus N`).
Each search asks for 1 or 2 GPUs with a short time budget, so several run at once and the
rest wait under the FIFO rule. A tap queue bound to `#` on the `cenas` exchange counts
every bus message; Celery tasks are counted from the dispatch rows. Prints searches
completed, wall time, evaluations, lost and duplicated evaluations, and messages/s.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kombu import Connection, Queue  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from benchmarks.private_stack import private_stack, stop, wait_for_workers  # noqa: E402
from cenas.bus import EXCHANGE, Publisher, connect_from  # noqa: E402
from cenas.db.searches import Dispatch, Evaluation, Search, SearchStatus  # noqa: E402
from cenas.search.submit import submit_search  # noqa: E402
from cenas.work import make_celery  # noqa: E402


class Tap(threading.Thread):
    """Counts every message published on the `cenas` exchange, by first routing-key word."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.counts: Counter = Counter()
        self.stopping = threading.Event()
        self.ready = threading.Event()

    def run(self) -> None:
        tap = Queue("bench-tap", exchange=EXCHANGE, routing_key="#", auto_delete=True, durable=False)
        with Connection(self.url) as conn:
            def count(body, message):
                self.counts[message.delivery_info["routing_key"].split(".")[0]] += 1

            with conn.Consumer([tap], callbacks=[count], no_ack=True):
                self.ready.set()
                while not self.stopping.is_set():
                    try:
                        conn.drain_events(timeout=0.5)
                    except TimeoutError:
                        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--searches", type=int, default=24)
    parser.add_argument("--gpus", type=int, default=8)
    parser.add_argument("--hours", type=float, default=4.0, help="each search's time budget (trace hours)")
    parser.add_argument("--sph", type=float, default=1.0, help="real seconds per trace hour")
    args = parser.parse_args()
    with private_stack() as stack:
        env = {**stack.env, "CENAS_POOL_GPUS": str(args.gpus)}
        celery = make_celery(stack.settings)
        tap = Tap(stack.env["CENAS_BROKER_URL"])
        tap.start()
        tap.ready.wait(30)
        stack.env = env
        procs = [stack.spawn(m) for m in ("optimizer_svc", "scheduler_svc", "worker.pool_service")]
        procs.append(stack.spawn("worker", "--virtual-gpus", str(args.gpus)))
        try:
            wait_for_workers(celery, args.gpus)
            began = time.monotonic()
            ids = []
            with Publisher(connection=connect_from(stack.settings)) as publisher:
                for i in range(args.searches):
                    spec = {"name": f"load-{i}", "task": {"kind": "nb201"}, "gpus": 1 + i % 2, "budget": {"hours": args.hours},
                            "carbon": {"region": "US-CAL-CISO", "start": "2021-07-02T06:00:00Z", "seconds_per_hour": args.sph},
                            "policy": ("heuristic", "vanilla")[i % 2], "optimizer": {"seed": i}}
                    ids.append(submit_search(stack.engine, publisher, spec).id)
            peak = 0
            while True:
                with Session(stack.engine) as session:
                    rows = session.exec(select(Search).where(Search.id.in_(ids))).all()  # type: ignore[attr-defined]
                peak = max(peak, sum(1 for r in rows if r.status == SearchStatus.RUNNING))
                if all(r.status.finished for r in rows):
                    break
                if any(p.poll() is not None for p in procs):
                    raise SystemExit(f"a service exited: {[p.args for p in procs if p.poll() is not None]}")
                time.sleep(0.5)
            wall = time.monotonic() - began
            time.sleep(3 * args.sph + 2)  # late results settle
            tap.stopping.set()
            tap.join()
            with Session(stack.engine) as session:
                rows = session.exec(select(Search).where(Search.id.in_(ids))).all()  # type: ignore[attr-defined]
                evals = session.exec(select(Evaluation).where(Evaluation.search_id.in_(ids))).all()  # type: ignore[attr-defined]
                dispatches = session.exec(select(Dispatch).where(Dispatch.search_id.in_(ids))).all()  # type: ignore[attr-defined]
            per = Counter((e.search_id, e.code) for e in evals)
            duplicated = sum(n - 1 for n in per.values())
            lost = sum(1 for d in dispatches if d.kind == "evaluate" and d.done and (d.search_id, d.key) not in per)
            unstarted = sum(1 for d in dispatches if d.kind == "evaluate" and not d.done and (d.search_id, d.key) not in per)
            succeeded = sum(1 for r in rows if r.status == SearchStatus.SUCCEEDED)
            bus = sum(tap.counts.values())
            messages = bus + len(dispatches)
            print(f"searches: {succeeded}/{len(ids)} succeeded (peak {peak} running at once) on {args.gpus} GPUs")
            print(f"wall time: {wall:.1f} s (each search {args.hours:g} trace hours at {args.sph:g} s/h)")
            print(f"evaluations: {len(evals)} recorded, lost {lost}, duplicated {duplicated}, "
                  f"dispatched but dropped unstarted at a budget's end {unstarted}")
            print(f"messages: {messages} ({bus} on the cenas exchange {dict(tap.counts)}, {len(dispatches)} Celery tasks), "
                  f"{messages / wall:.1f} msg/s")
        finally:
            stop(procs)


if __name__ == "__main__":
    main()
