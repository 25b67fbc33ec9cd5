"""A GPU worker's Celery set-up running one test task (`python -m tests.integration.long_task_worker URL LOG`).

The task records each start and end in LOG (one JSON line each), so a test can count how
often the broker delivered it.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from cenas.settings import Settings
from cenas.work import make_celery
from worker.gpu_process import start_worker

TASK = "cenas.test.long"
QUEUE = "long-tasks"


def main(broker_url: str, log: Path) -> None:
    app = make_celery(Settings(broker_url=broker_url), consumer=True)

    def note(event: str) -> None:
        with log.open("a") as out:
            out.write(json.dumps({"event": event, "at": time.time()}) + "\n")

    @app.task(name=TASK, acks_late=True, reject_on_worker_lost=True)
    def long_task(seconds: float) -> None:
        note("start")
        time.sleep(seconds)
        note("end")

    start_worker(app, "gpu0@long-task-test", [QUEUE])


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
