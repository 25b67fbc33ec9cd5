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
