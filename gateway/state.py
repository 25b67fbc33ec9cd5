"""The application state the routes read (`app.state.gateway`): its own module so that both
the app factory (`gateway.app`) and the dependencies (`gateway.deps`) import it without
importing each other."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine

from cenas.bus import Publisher
from cenas.contracts import Message
from cenas.settings import Settings
from gateway.auth import FailureLimiter


class SharedPublisher:
    """A `Publisher` for the request threads: one publish at a time (kombu channels are
    not thread-safe). Fails fast (two retries) so a broker outage answers 503 quickly."""

    def __init__(self, publisher: Publisher) -> None:
        self._publisher, self._lock = publisher, threading.Lock()

    def publish(self, message: Message, **kw) -> None:
        with self._lock:
            self._publisher.publish(message, **kw)

    def close(self) -> None:
        with self._lock:
            self._publisher.close()


@dataclass
class Gateway:
    """What the routes need; one per app."""

    settings: Settings
    engine: Engine | None = None
    publisher: SharedPublisher | None = None
    limiter: FailureLimiter = field(init=False)
    registry: object = None  # prometheus CollectorRegistry, built with the engine

    def __post_init__(self) -> None:
        self.limiter = FailureLimiter(self.settings.gateway_auth_failures_per_minute)

    def redact(self, text: str) -> str:
        """``text`` without any secret of the settings or of the engine's URL: for
        everything that goes to a log line or into a response."""
        text = self.settings.redact(text)
        password = self.engine.url.password if self.engine is not None else None
        return text.replace(str(password), "***") if password else text
