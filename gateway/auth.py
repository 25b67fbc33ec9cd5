"""API keys: generated with `secrets`, stored as a SHA-256 hash, compared in constant time.

No FastAPI here: the CLI (`cenas keys create`) and the gateway share these functions. A
key is never logged or stored; only its hash reaches the database.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque

from sqlalchemy import Engine
from sqlmodel import Session, select

from cenas.db.searches import ApiKey

#: every key starts with this, so a leaked one is easy to recognise in a scan
KEY_PREFIX = "cenas_"


def generate_key() -> str:
    """A new random key (256 bits of entropy, URL-safe)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The hex SHA-256 of ``key``: what the database stores."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_matches(key: str, key_hash: str) -> bool:
    """Whether ``key`` hashes to ``key_hash`` (constant-time comparison)."""
    return hmac.compare_digest(hash_key(key), key_hash)


def create_api_key(engine: Engine, *, name: str) -> tuple[ApiKey, str]:
    """Store a new key under ``name``; returns the row and the key (shown once, never stored)."""
    if not name.strip():
        raise ValueError("an API key needs a non-empty name")
    key = generate_key()
    row = ApiKey(name=name.strip(), key_hash=hash_key(key))
    with Session(engine) as session:
        session.add(row)
        session.commit()
        session.refresh(row)
    return row, key


def find_api_key(engine: Engine, *, key: str) -> ApiKey | None:
    """The live (not revoked) key row for ``key``, or None."""
    digest = hash_key(key)
    with Session(engine) as session:
        row = session.exec(select(ApiKey).where(ApiKey.key_hash == digest)).first()
    if row is None or row.revoked or not key_matches(key, row.key_hash):
        return None
    return row


class FailureLimiter:
    """Counts failed authentications per client over a sliding window (thread-safe).

    ``blocked(client)`` is true once ``limit`` failures happened within ``window_s``;
    successful requests do not reset the count (an attacker with one valid key must not
    be able to keep guessing).
    """

    def __init__(self, limit: int, window_s: float = 60.0, clock=time.monotonic) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit!r}")
        self.limit, self.window_s, self._clock = limit, window_s, clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._failures.setdefault(client, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def blocked(self, client: str) -> bool:
        with self._lock:
            times = self._recent(client, self._clock())
            if not times:
                self._failures.pop(client, None)
            return len(times) >= self.limit

    def record_failure(self, client: str) -> None:
        with self._lock:
            now = self._clock()
            self._recent(client, now).append(now)

    def retry_after(self, client: str) -> int:
        """Seconds until the oldest counted failure leaves the window."""
        with self._lock:
            times = self._recent(client, self._clock())
            return max(1, int(times[0] + self.window_s - self._clock()) + 1) if times else 1
