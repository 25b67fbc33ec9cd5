"""The embedded broker writes each message file whole (staged, then renamed in)."""

from __future__ import annotations

import os

from kombu import Connection, Exchange, Queue

from cenas.broker import EMBEDDED_SCHEME, broker_args
from cenas.settings import Settings


def test_embedded_messages_travel_and_no_partial_file_is_left(tmp_path):
    settings = Settings(data_dir=tmp_path, broker_url=None, database_url=None)
    url, options = broker_args(settings)
    assert url == f"{EMBEDDED_SCHEME}://"
    exchange, queue = Exchange("t", type="topic"), Queue("q", Exchange("t", type="topic"), routing_key="k")
    got = []
    with Connection(url, transport_options=options) as conn:
        producer = conn.Producer()
        queue(conn.default_channel).declare()
        for i in range(5):
            producer.publish({"i": i}, exchange=exchange, routing_key="k")
        assert not os.listdir(tmp_path / "broker" / "staging")
        with conn.Consumer([queue], callbacks=[lambda body, message: (got.append(body["i"]), message.ack())]):
            for _ in range(5):
                conn.drain_events(timeout=5)
    assert sorted(got) == [0, 1, 2, 3, 4]  # kombu orders files by millisecond, then at random

