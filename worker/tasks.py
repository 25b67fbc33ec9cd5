"""Celery tasks `cenas.sample` and `cenas.evaluate`: thin wrappers over the handlers.

Why each is safe to run twice (acks_late makes delivery at-least-once): the result row is
unique per (search, architecture) / (search, batch); a second run finds the first row,
records nothing new and re-announces the stored result, which the optimizer ignores as
a duplicate.
"""

from __future__ import annotations

from celery import Celery

from cenas.work import EVALUATE, SAMPLE
from worker.handlers import WorkerRuntime


def register_tasks(app: Celery, runtime: WorkerRuntime) -> None:
    @app.task(name=EVALUATE, acks_late=True, reject_on_worker_lost=True)
    def evaluate(search_id: str, code: int) -> None:
        runtime.evaluate(search_id, int(code))

    @app.task(name=SAMPLE, acks_late=True, reject_on_worker_lost=True)
    def sample(search_id: str, batch_id: int, codes: list[int]) -> None:
        runtime.sample(search_id, int(batch_id), [int(c) for c in codes])
