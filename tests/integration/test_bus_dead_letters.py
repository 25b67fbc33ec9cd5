"""Messages nobody can take end in `cenas.dead` on the real RabbitMQ, never silently dropped."""

from __future__ import annotations

import time

import pytest
from kombu import Connection, Producer

from cenas.bus import DEAD_LETTER_QUEUE, EXCHANGE, Publisher
from cenas.contracts import SearchCancelled

pytestmark = pytest.mark.integration


def test_an_unroutable_routing_key_is_dead_lettered(broker_url):
    with Connection(broker_url) as conn:
        channel = conn.default_channel
        with Publisher(connection=Connection(broker_url)) as publisher:  # declares exchange and dead letters, as services do
            publisher.publish(SearchCancelled(search_id="nobody-listens"), routing_key="search.unknown.x")
            Producer(channel, exchange=EXCHANGE).publish(b"{}", routing_key="no.such.key", content_type="application/json")
        queue = DEAD_LETTER_QUEUE(channel)
        got: list[str] = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(got) < 2:
            message = queue.get(no_ack=True)
            if message is None:
                time.sleep(0.1)
            elif message.delivery_info["routing_key"] in {"no.such.key", "search.unknown.x"}:  # other tests dead-letter too
                got.append(message.delivery_info["routing_key"])
    assert sorted(got) == ["no.such.key", "search.unknown.x"]
