"""Tasks that outlast the broker's patience: heartbeats and the consumer timeout.

Each scenario runs a GPU worker's own Celery set-up (`make_celery(consumer=True)`,
`start_worker`) against a private RabbitMQ node started with compose.yaml's broker
arguments, its consumer timeout shortened so the test takes seconds, not days.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from kombu import Connection

from cenas.settings import Settings
from cenas.work import make_celery
from tests.compose_file import interpolate, load_compose
from tests.integration.long_task_worker import QUEUE, TASK
from tests.integration.private_rabbitmq import SERVER, private_rabbitmq

pytestmark = [pytest.mark.integration, pytest.mark.skipif(not SERVER.exists(), reason=f"no RabbitMQ server at {SERVER}")]

ROOT = Path(__file__).resolve().parents[2]
#: the broker checks consumer timeouts on each channel tick (60 s by default)
FAST_TICK = "-rabbit channel_tick_interval 250"
LONG_TASK_S = 30.0  # longer than two AMQP heartbeat intervals of the senders (2 x 10 s)
TIMEOUT_ABOVE_MS = 60_000  # shortened from compose's days, still above LONG_TASK_S
OUTLASTING_TASK_S, TIMEOUT_BELOW_MS = 8.0, 3_000  # a task longer than the timeout


def compose_broker_args(timeout_ms: int) -> str:
    rabbitmq = load_compose(ROOT / "compose.yaml")["services"]["rabbitmq"]
    return interpolate(rabbitmq["environment"]["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"],
                       {"RABBITMQ_CONSUMER_TIMEOUT_MS": str(timeout_ms)}) + " " + FAST_TICK


def events(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def ready_messages(url: str) -> int:
    with Connection(url) as conn:
        return conn.default_channel.queue_declare(QUEUE, passive=True).message_count


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory) -> Iterator[dict[str, tuple[str, Path, float]]]:
    """Both scenarios at once (their waits overlap): name -> (broker URL, task log, task seconds)."""
    plan = {"above": (TIMEOUT_ABOVE_MS, LONG_TASK_S), "below": (TIMEOUT_BELOW_MS, OUTLASTING_TASK_S)}
    with ExitStack() as stack:
        out = {}
        for name, (timeout_ms, seconds) in plan.items():
            folder = tmp_path_factory.mktemp(f"broker-{name}")
            url = stack.enter_context(private_rabbitmq(folder, compose_broker_args(timeout_ms)))
            log = folder / "task.log"
            with open(folder / "worker.log", "wb") as wlog:
                worker = subprocess.Popen([sys.executable, "-m", "tests.integration.long_task_worker", url, str(log)],
                                          cwd=ROOT, stdout=wlog, stderr=subprocess.STDOUT)
            stack.callback(lambda w=worker: (w.kill(), w.wait()))
            make_celery(Settings(broker_url=url)).send_task(TASK, args=[seconds], queue=QUEUE)
            out[name] = (url, log, seconds)
        yield out


def wait_for(check, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.25)


def test_a_task_longer_than_the_heartbeat_interval_runs_once_when_the_timeout_allows(scenarios):
    url, log, seconds = scenarios["above"]
    wait_for(lambda: any(e["event"] == "end" for e in events(log)), timeout_s=seconds + 60)
    time.sleep(3)  # a lost ack would requeue the task, and the idle worker would start it again at once
    starts = [e for e in events(log) if e["event"] == "start"]
    assert len(starts) == 1, f"the broker delivered the task {len(starts)} times"
    assert ready_messages(url) == 0


def test_a_task_longer_than_the_consumer_timeout_is_taken_back(scenarios):
    # why compose.yaml must set the timeout above the longest evaluation: the broker hands
    # the running task out again (here to the same worker, once it is free)
    url, log, seconds = scenarios["below"]
    wait_for(lambda: sum(e["event"] == "start" for e in events(log)) >= 2, timeout_s=2 * seconds + 30)
    first_end = next(e["at"] for e in events(log) if e["event"] == "end")
    second_start = [e["at"] for e in events(log) if e["event"] == "start"][1]
    assert second_start >= first_end
