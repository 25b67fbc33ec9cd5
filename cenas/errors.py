"""The kernel's exception hierarchy: one root so callers can catch every CE-NAS error."""

from __future__ import annotations


class CenasError(Exception):
    """Root of every error CE-NAS raises on purpose."""


class InvalidTraceError(CenasError, ValueError):
    """A carbon-intensity trace is malformed; the message names the file and the row."""


class UnknownRegionError(CenasError, KeyError):
    """A region name that no bundled trace covers."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want the plain sentence
        return str(self.args[0]) if self.args else "unknown region"


class TraceRangeError(CenasError, ValueError):
    """A time window asked of a trace falls outside it."""


class InvalidProblemError(CenasError, ValueError):
    """A benchmark problem string or objective that the table cannot provide."""


class ProviderError(CenasError):
    """A carbon-signal provider failed; the message names the provider and what went wrong."""


class ProviderConfigError(ProviderError, ValueError):
    """A provider is missing a setting (API token, username/password) or got a bad one."""


class ProviderAuthError(ProviderError):
    """The provider refused the credentials (HTTP 401/403)."""


class ProviderRateLimitError(ProviderError):
    """The provider kept answering 429 Too Many Requests after every retry."""


class ProviderUnavailableError(ProviderError, ConnectionError):
    """The provider could not be reached, timed out, or answered 5xx after every retry."""


class ProviderResponseError(ProviderError, ValueError):
    """The provider answered 200 with a body we cannot read (not JSON, missing fields)."""


class ProviderRequestError(ProviderResponseError):
    """The provider refused the request itself (HTTP 4xx other than 401/403/429): an
    unknown zone or region, a parameter it does not take."""


class SpecFileError(CenasError, ValueError):
    """A spec file that cannot be read: missing, not JSON/YAML, or not a mapping."""


class GatewayError(CenasError):
    """The gateway refused a request (4xx/5xx); the message carries its status and detail."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class GatewayUnavailableError(GatewayError, ConnectionError):
    """The gateway could not be reached (connection refused, timeout)."""


def is_transient(exc: BaseException) -> bool:
    """A dependency hiccup (broker or database unreachable) that a retry may cure.

    Services retry these instead of failing the search they were working on.
    """
    from amqp.exceptions import AMQPError
    from kombu.exceptions import KombuError
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, OperationalError)
    return isinstance(exc, (OSError, KombuError, AMQPError))
