"""Celery tasks `cenas.sample` and `cenas.evaluate`: thin wrappers over the handlers.

Why each is safe to run twice (acks_late makes delivery at-least-once): the result row is
unique per (search, architecture) / (search, batch) and the work segment per attempt; a
second run finds the first row, records nothing new and re-announces the stored result,
which the optimizer ignores as a duplicate. A message of an attempt the optimizer has
since withdrawn or preempted is dropped (`attempt`, `Dispatch.attempt`).

A transient failure (database or broker unreachable, `cenas.errors.is_transient`) is
retried in place with backoff rather than failing the task: a failed task would be
acknowledged and its evaluation never recorded, while the optimizer keeps its GPU slot.
After `RETRY_FOR_S` the message is requeued for any worker (`Reject(requeue=True)`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from celery import Celery
from celery.exceptions import Reject

from cenas.errors import is_transient
from cenas.retry import retry_transient
from cenas.work import EVALUATE, SAMPLE
from worker.handlers import WorkerRuntime

#: how long a task retries a transient failure in place before requeueing its message
RETRY_FOR_S = 120.0


def run_retrying(work: Callable[[], None], what: str, *, retry_for_s: float = RETRY_FOR_S,
                 sleep: Callable[[float], None] = time.sleep) -> None:
    """Run `work`, retrying transient failures in place; requeue the message once they outlast `retry_for_s`."""
    try:
        retry_transient(work, what, wait_s=retry_for_s, sleep=sleep)
    except Exception as exc:
        if is_transient(exc):
            raise Reject(f"{what}: dependency still unreachable ({exc})", requeue=True) from exc
        raise


def register_tasks(app: Celery, runtime: WorkerRuntime) -> None:
    @app.task(name=EVALUATE, acks_late=True, reject_on_worker_lost=True)
    def evaluate(search_id: str, code: int, attempt: int = 0) -> None:
        run_retrying(lambda: runtime.evaluate(search_id, int(code), int(attempt)), f"evaluate {search_id} {code}")

    @app.task(name=SAMPLE, acks_late=True, reject_on_worker_lost=True)
    def sample(search_id: str, batch_id: int, codes: list[int], attempt: int = 0) -> None:
        run_retrying(lambda: runtime.sample(search_id, int(batch_id), [int(c) for c in codes], int(attempt)),
                     f"sample {search_id} {batch_id}")
