"""A consumer helper: decode by routing key, call a plain handler, dead-letter failures."""

from __future__ import annotations

import logging
import socket
from typing import Callable

from amqp.exceptions import AMQPError
from kombu import Connection
from kombu.exceptions import KombuError
from kombu.message import Message as KombuMessage
from pydantic import ValidationError

from cenas.bus.topology import DEAD_LETTER_QUEUE, EXCHANGE, connect, queue
from cenas.contracts import Message, model_for_routing_key

log = logging.getLogger(__name__)

Handler = Callable[[Message], None]


def decode(routing_key: str, body: bytes | str) -> Message:
    """Validate a raw body against the contract registered for ``routing_key``.

    Raises ``LookupError`` for an unknown key and ``pydantic.ValidationError`` for a
    malformed body.
    """
    model = model_for_routing_key(routing_key)
    if model is None:
        raise LookupError(f"no message contract for routing key {routing_key!r}")
    return model.model_validate_json(body)


class Consumer:
    """Consume ``routing_keys`` into the durable queue ``queue_name``.

    Failure semantics: an unknown routing key, a body that does not validate, or a handler
    exception is logged and the message is rejected without requeue, which dead-letters it
    to ``cenas.dead``; the loop goes on. A handled message is acked after the handler
    returns (at-least-once: handlers must be idempotent).
    """

    def __init__(self, url: str | None, queue_name: str, routing_keys: list[str], handler: Handler,
                 *, connection: Connection | None = None, prefetch: int = 10) -> None:
        self._conn = connection or connect(url)
        self._queue = queue(queue_name, routing_keys)
        self._handler = handler
        self._prefetch = prefetch
        self.handled = 0
        self.dead_lettered = 0

    def _on_message(self, message: KombuMessage) -> None:
        key = message.delivery_info.get("routing_key", "")
        try:
            decoded = decode(key, message.body)
        except (LookupError, ValidationError, ValueError) as exc:
            log.warning("dead-lettering message on %r: %s", key, str(exc).splitlines()[0])
            message.reject(requeue=False)
            self.dead_lettered += 1
            return
        try:
            self._handler(decoded)
        except Exception:
            log.exception("handler failed for %s; dead-lettering it", key)
            message.reject(requeue=False)
            self.dead_lettered += 1
            return
        message.ack()
        self.handled += 1

    def declare(self) -> None:
        channel = self._conn.default_channel
        EXCHANGE(channel).declare()
        DEAD_LETTER_QUEUE(channel).declare()
        self._queue(channel).declare()

    def drain(self, timeout: float = 1.0, max_messages: int | None = None) -> int:
        """Process messages until none arrives for ``timeout`` s (or ``max_messages``)."""
        self._conn.ensure_connection(max_retries=3)
        self.declare()
        start = self.handled + self.dead_lettered
        with self._conn.Consumer([self._queue], on_message=self._on_message,
                                 prefetch_count=self._prefetch):
            while max_messages is None or self.handled + self.dead_lettered - start < max_messages:
                try:
                    self._conn.drain_events(timeout=timeout)
                except socket.timeout:
                    break
        return self.handled + self.dead_lettered - start

    def poll(self, timeout: float = 1.0, max_messages: int | None = None) -> int:
        """`drain`, but a lost connection is logged and dropped, to be reopened next call.

        For service loops that must keep ticking while the broker is away.
        """
        try:
            return self.drain(timeout=timeout, max_messages=max_messages)
        except (OSError, KombuError, AMQPError) as exc:
            log.warning("bus connection lost (%s); reconnecting", exc)
            self._conn.collect()  # forget the dead socket; drain() opens a fresh one
            return 0

    def run_forever(self, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Consume until ``should_stop()``; reconnects with backoff on connection loss."""
        while not should_stop():
            if self.poll(timeout=1.0) == 0 and not self._conn.connected:
                self._conn.ensure_connection(max_retries=None, interval_start=1, interval_step=2, interval_max=30)

    def close(self) -> None:
        self._conn.release()
