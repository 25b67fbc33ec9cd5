"""A small JSON-over-HTTP helper shared by the HTTP providers: TTL cache, retries with
exponential backoff (honouring ``Retry-After``), and one clear error per failure kind."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, Callable

import httpx

from cenas.errors import (ProviderAuthError, ProviderRateLimitError, ProviderRequestError, ProviderResponseError,
                          ProviderUnavailableError)

log = logging.getLogger(__name__)


class JsonHttp:
    def __init__(self, source: str, base_url: str, *, timeout: float = 10.0, max_retries: int = 3,
                 backoff: float = 0.5, backoff_max: float = 30.0, cache_ttl: float = 300.0,
                 sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.source = source
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport,
                                    headers={"Accept": "application/json", "User-Agent": "cenas/0.1"})
        self.max_retries, self.backoff, self.backoff_max = max_retries, backoff, backoff_max
        self.cache_ttl = cache_ttl
        self._sleep, self._monotonic = sleep, monotonic
        self._cache: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[float, Any]] = {}
        self.requests = 0

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None and "retry-after" in response.headers:
            try:
                return min(float(response.headers["retry-after"]), self.backoff_max)
            except ValueError:
                pass
        return min(self.backoff * 2**attempt, self.backoff_max)

    def get(self, path: str, params: dict[str, str] | None = None, *, headers: dict[str, str] | None = None,
            auth: httpx.Auth | tuple[str, str] | None = None, cache: bool = True,
            on_unauthorized: Callable[[], dict[str, str]] | None = None) -> Any:
        """GET ``path`` and return the decoded JSON body.

        ``on_unauthorized``: called once on a 401 to get fresh headers (token refresh).
        """
        key = (path, tuple(sorted((params or {}).items())))
        now = self._monotonic()
        if cache and key in self._cache and now - self._cache[key][0] < self.cache_ttl:
            return self._cache[key][1]
        refreshed = False
        attempt = 0
        while True:
            response: httpx.Response | None = None
            try:
                self.requests += 1
                response = self._client.get(path, params=params, headers=headers, auth=auth)
            except httpx.TimeoutException:
                problem = f"timed out after {self._client.timeout.read}s"
            except httpx.TransportError as exc:
                problem = f"cannot connect ({exc.__class__.__name__}: {exc})"
            else:
                status = response.status_code
                if status in (401, 403):
                    if on_unauthorized is not None and not refreshed:
                        headers, refreshed = on_unauthorized(), True
                        continue
                    raise ProviderAuthError(
                        f"{self.source}: {path} refused the credentials (HTTP {status}); check the API key/username/password settings"
                    )
                if status == 429:
                    problem = "rate limited (HTTP 429)"
                elif status >= 500:
                    problem = f"server error (HTTP {status})"
                elif status >= 400:
                    raise ProviderRequestError(f"{self.source}: {path} answered HTTP {status}: {_snippet(response)}")
                else:
                    try:
                        body = response.json()
                    except ValueError:
                        raise ProviderResponseError(f"{self.source}: {path} answered a body that is not JSON: {_snippet(response)}") from None
                    if cache:
                        self._cache[key] = (self._monotonic(), body)
                    return body
            if attempt >= self.max_retries:
                kind = ProviderRateLimitError if response is not None and response.status_code == 429 else ProviderUnavailableError
                raise kind(f"{self.source}: {path} {problem}; gave up after {attempt + 1} attempts")
            delay = self._delay(attempt, response)
            log.warning("%s: %s %s; retrying in %.1fs", self.source, path, problem, delay)
            self._sleep(delay)
            attempt += 1

    def close(self) -> None:
        self._client.close()


def windows(start: datetime, end: datetime, size: timedelta) -> Iterator[tuple[datetime, datetime]]:
    """[start, end) cut into consecutive windows of at most `size` (APIs cap history ranges)."""
    t = start
    while t < end:
        nxt = min(t + size, end)
        yield t, nxt
        t = nxt


def _snippet(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:160] + ("..." if len(text) > 160 else "") or "(empty body)"
