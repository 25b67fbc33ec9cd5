"""Exchange and dead-letter topology shared by every publisher and consumer."""

from __future__ import annotations

from kombu import Connection, Exchange, Queue

from cenas.broker import broker_args
from cenas.settings import Settings

EXCHANGE_NAME = "cenas"
DEAD_LETTER_EXCHANGE = Exchange("cenas.dlx", type="fanout", durable=True)
#: a message no queue binds (an unknown routing key) goes to the dead-letter exchange too,
#: instead of being dropped by the broker without a trace
EXCHANGE = Exchange(EXCHANGE_NAME, type="topic", durable=True, arguments={"alternate-exchange": DEAD_LETTER_EXCHANGE.name})
DEAD_LETTER_QUEUE = Queue("cenas.dead", exchange=DEAD_LETTER_EXCHANGE, durable=True)

#: The embedded default when no broker URL is configured (one process only).
MEMORY_URL = "memory://"


def connect(url: str | None, *, heartbeat: int = 30) -> Connection:
    """A kombu connection (lazy: nothing is opened yet) with publisher confirms enabled."""
    return Connection(url or MEMORY_URL, heartbeat=heartbeat, transport_options={"confirm_publish": True})


def connect_from(settings: Settings, *, heartbeat: int = 30) -> Connection:
    """The bus connection for these settings: RabbitMQ, or the embedded filesystem broker."""
    url, options = broker_args(settings)
    return Connection(url, heartbeat=heartbeat if settings.broker_url else 0, transport_options=options)


def queue(name: str, routing_keys: list[str]) -> Queue:
    """A durable queue bound to ``routing_keys`` on the exchange, dead-lettering to ``cenas.dlx``."""
    from kombu import binding

    return Queue(
        name,
        bindings=[binding(EXCHANGE, routing_key=k) for k in routing_keys],
        durable=True,
        queue_arguments={"x-dead-letter-exchange": DEAD_LETTER_EXCHANGE.name},
    )
