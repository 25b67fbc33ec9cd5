"""The message bus: one durable topic exchange (``cenas``) over kombu.

- :class:`Publisher` sends :class:`~cenas.contracts.Message` values with publisher
  confirms and reconnects with exponential backoff.
- :class:`Consumer` binds a durable queue to routing keys, decodes messages by routing
  key into their contract model and hands them to a plain function. Unknown or malformed
  messages, and messages whose handler raised, are logged and dead-lettered (exchange
  ``cenas.dlx``, queue ``cenas.dead``); they never stop the loop.
"""

from cenas.bus.consumer import Consumer
from cenas.bus.publisher import Publisher, PublishError
from cenas.bus.topology import DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE, EXCHANGE, EXCHANGE_NAME, connect, connect_from

__all__ = ["Consumer", "Publisher", "PublishError", "EXCHANGE", "EXCHANGE_NAME",
           "DEAD_LETTER_EXCHANGE", "DEAD_LETTER_QUEUE", "connect", "connect_from"]
