"""The work contract between the optimizer (sender) and the GPU workers: Celery app, queues, task names.

The Celery application: broker from settings, delivery guarantees set once, here.

`acks_late` + `task_reject_on_worker_lost`: a task is acknowledged only after it
finished, so a worker killed mid-task (kill -9, preemption) leaves it to be redelivered
to another worker: delivery is at-least-once, and every task's effect is idempotent
(results are unique per search and architecture / batch in the database).
`worker_prefetch_multiplier = 1`: a GPU reserves at most one task beyond the one it runs,
so a changed allocation takes effect after at most one more task.

No AMQP heartbeats on a GPU worker's connection (`make_celery(..., consumer=True)`): its
solo pool runs a task on the thread that would answer them, so the broker dropped the
connection once two 10 s heartbeats went unanswered and requeued the running task for
another worker to train again. A worker that dies still closes its socket (the broker requeues at once); a
host that vanishes without closing it holds its task until the broker's consumer timeout,
which compose.yaml sets above the longest evaluation (README "Long evaluations").
"""

from __future__ import annotations

from celery import Celery

from cenas.broker import broker_args
from cenas.settings import Settings

SAMPLING_QUEUE = "sampling"
EVALUATION_QUEUE = "evaluation"
EVALUATE = "cenas.evaluate"  # args: search_id, code, attempt
SAMPLE = "cenas.sample"  # args: search_id, batch_id, codes, attempt


#: AMQP heartbeat of the senders' connections (seconds); GPU workers use none (above)
SENDER_HEARTBEAT_S = 10


def make_celery(settings: Settings, *, consumer: bool = False) -> Celery:
    """The Celery app; `consumer=True` for a GPU worker (no AMQP heartbeats, see above)."""
    url, options = broker_args(settings)
    app = Celery("cenas", broker=url, set_as_current=False)
    app.conf.update(
        broker_transport_options=options,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue=EVALUATION_QUEUE,
        task_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        worker_enable_remote_control=True,
        broker_heartbeat=0 if consumer else SENDER_HEARTBEAT_S,
    )
    return app
