"""Confirmed, reconnecting publisher of contract messages."""

from __future__ import annotations

import logging
from typing import Any

from amqp.exceptions import AMQPError
from kombu import Connection, Producer
from kombu.exceptions import KombuError

from cenas.bus.topology import DEAD_LETTER_QUEUE, EXCHANGE, connect
from cenas.contracts import Message
from cenas.errors import CenasError

log = logging.getLogger(__name__)


class PublishError(CenasError, ConnectionError):
    """The broker could not be reached (or did not confirm) after every retry."""


class Publisher:
    """Publishes to the ``cenas`` exchange; safe to reuse, not thread-safe (one per thread).

    ``publish`` returns once the broker confirmed the message (AMQP publisher confirms),
    retrying with exponential backoff (``interval_start`` doubling up to ``interval_max``)
    on connection loss; after ``max_retries`` it raises :class:`PublishError`.
    """

    def __init__(self, url: str | None = None, *, connection: Connection | None = None,
                 max_retries: int = 5, interval_start: float = 0.5, interval_max: float = 8.0) -> None:
        self._conn = connection or connect(url)
        self._retry_policy = {"max_retries": max_retries, "interval_start": interval_start,
                              "interval_step": interval_start, "interval_max": interval_max}
        self._producer: Producer | None = None

    def _ensure_producer(self) -> Producer:
        if self._producer is None:
            self._conn.ensure_connection(max_retries=self._retry_policy["max_retries"],
                                         interval_start=self._retry_policy["interval_start"],
                                         interval_step=self._retry_policy["interval_step"],
                                         interval_max=self._retry_policy["interval_max"])
            channel = self._conn.default_channel
            EXCHANGE(channel).declare()
            DEAD_LETTER_QUEUE(channel).declare()
            self._producer = Producer(channel, exchange=EXCHANGE)
        return self._producer

    def publish(self, message: Message, routing_key: str | None = None, **headers: Any) -> None:
        key = routing_key or getattr(message, "routing_key", None) or message.routing_prefix
        body = message.model_dump_json()
        try:
            producer = self._ensure_producer()
            producer.publish(
                body, routing_key=key, exchange=EXCHANGE, content_type="application/json",
                content_encoding="utf-8", delivery_mode=2, headers=headers or None, retry=True,
                retry_policy=self._retry_policy, declare=[EXCHANGE], mandatory=False,
            )
        except (OSError, KombuError, AMQPError) as exc:
            self._producer = None
            raise PublishError(f"could not publish {key} to {self._conn.as_uri()}: {exc}") from exc
        log.debug("published %s", key)

    def close(self) -> None:
        self._producer = None
        self._conn.release()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
