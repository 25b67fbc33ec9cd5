"""The embedded broker under concurrency: every message read whole, exactly once."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

from kombu import Connection

from cenas.broker import broker_args
from cenas.settings import Settings

PRODUCERS, CONSUMERS, EACH = 3, 3, 150


def _connection(data_dir: str) -> Connection:
    url, options = broker_args(Settings(data_dir=Path(data_dir), broker_url=None, database_url=None))
    return Connection(url, transport_options=options)


def _produce(data_dir: str, producer: int) -> None:
    with _connection(data_dir) as conn:
        queue = conn.SimpleQueue("work")
        for i in range(EACH):
            queue.put({"id": f"{producer}-{i}", "pad": "x" * 2000})  # big enough to be caught half-written
        queue.close()


def _consume(data_dir: str, consumer: int, out: str) -> None:
    seen = []
    with _connection(data_dir) as conn:
        queue = conn.SimpleQueue("work")
        idle = 0
        while idle < 20:
            try:
                message = queue.get(timeout=0.1)
            except queue.Empty:
                idle += 1
                continue
            idle = 0
            seen.append(message.payload["id"])
            message.ack()
        queue.close()
    Path(out).write_text(json.dumps(seen))


def test_concurrent_producers_and_consumers_lose_and_duplicate_nothing(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    outs = [str(tmp_path / f"seen-{c}.json") for c in range(CONSUMERS)]
    consumers = [ctx.Process(target=_consume, args=(str(tmp_path), c, outs[c])) for c in range(CONSUMERS)]
    producers = [ctx.Process(target=_produce, args=(str(tmp_path), p)) for p in range(PRODUCERS)]
    for proc in consumers + producers:
        proc.start()
    for proc in producers + consumers:
        proc.join(timeout=120)
        assert proc.exitcode == 0
    seen = [i for out in outs for i in json.loads(Path(out).read_text())]
    assert len(seen) == len(set(seen)) == PRODUCERS * EACH
    assert not list((tmp_path / "broker" / "queue").iterdir())  # nothing left behind, no partial files
