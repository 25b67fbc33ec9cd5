"""Celery tasks `cenas.sample` and `cenas.evaluate`: thin wrappers over the handlers.

Why each is safe to run twice (acks_late makes delivery at-least-once): the result row is
unique per (search, architecture) / (search, batch); a second run finds the first row,
records nothing new and re-announces the stored result, which the optimizer ignores as
a duplicate.

A transient failure (database or broker unreachable, `cenas.errors.is_transient`) is
retried in place with backoff rather than failing the task: a failed task would be
acknowledged and its evaluation never recorded, while the optimizer keeps its GPU slot.
After `RETRY_FOR_S` the message is requeued for any worker (`Reject(requeue=True)`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from celery import Celery
from celery.exceptions import Reject

from cenas.errors import is_transient
from cenas.work import EVALUATE, SAMPLE
from worker.handlers import WorkerRuntime

log = logging.getLogger(__name__)
#: how long a task retries a transient failure in place before requeueing its message
RETRY_FOR_S = 120.0


def run_retrying(work: Callable[[], None], what: str, *, retry_for_s: float = RETRY_FOR_S,
                 sleep: Callable[[float], None] = time.sleep) -> None:
    """Run `work`; on a transient error wait (0.5 s doubling to 5 s) and run it again."""
    deadline = time.monotonic() + retry_for_s
    delay = 0.5
    while True:
        try:
            work()
            return
        except Exception as exc:
            if not is_transient(exc):
                raise
            if time.monotonic() >= deadline:
                raise Reject(f"{what}: dependency still unreachable ({exc})", requeue=True) from exc
            log.warning("%s waits for a dependency: %s", what, str(exc).splitlines()[0])
            sleep(delay)
            delay = min(delay * 2, 5.0)


def register_tasks(app: Celery, runtime: WorkerRuntime) -> None:
    @app.task(name=EVALUATE, acks_late=True, reject_on_worker_lost=True)
    def evaluate(search_id: str, code: int) -> None:
        run_retrying(lambda: runtime.evaluate(search_id, int(code)), f"evaluate {search_id} {code}")

    @app.task(name=SAMPLE, acks_late=True, reject_on_worker_lost=True)
    def sample(search_id: str, batch_id: int, codes: list[int]) -> None:
        run_retrying(lambda: runtime.sample(search_id, int(batch_id), [int(c) for c in codes]), f"sample {search_id} {batch_id}")
