"""Errors the forecaster raises on purpose (all under the kernel's CenasError)."""

from __future__ import annotations

from cenas.errors import CenasError


class ForecastError(CenasError):
    """Root of the forecaster's errors."""


class ForecastInputError(ForecastError, ValueError):
    """The history or issue time given to a forecaster cannot be used."""


class NotFittedError(ForecastError, RuntimeError):
    """forecast() was called on a model that was never trained or loaded."""


class ModelFileError(ForecastError, ValueError):
    """A saved model directory is missing, incomplete or from an incompatible version."""


class UnknownModelError(ForecastError, ValueError):
    """A model name that the registry does not know."""
