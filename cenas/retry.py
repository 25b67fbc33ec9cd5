"""One way to wait out a dependency hiccup (broker or database away) instead of failing."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from cenas.errors import is_transient

log = logging.getLogger(__name__)
T = TypeVar("T")


def retry_transient(work: Callable[[], T], what: str, *, wait_s: float,
                    sleep: Callable[[float], None] | None = None) -> T:
    """Run `work`; while it fails transiently (`is_transient`), wait 0.5 s doubling to 5 s
    and run it again, for at most `wait_s`. Other errors, and the last transient one once
    the time is up, propagate."""
    deadline, delay = time.monotonic() + wait_s, 0.5
    while True:
        try:
            return work()
        except Exception as exc:
            if not is_transient(exc) or time.monotonic() + delay > deadline:
                raise
            log.warning("%s waits for a dependency, retrying in %.1fs: %s", what, delay, str(exc).splitlines()[0])
            (sleep or time.sleep)(delay)
            delay = min(delay * 2, 5.0)
