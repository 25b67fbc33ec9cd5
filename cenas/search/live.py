"""Accepting a live spec: fill in the deployment's decision interval, and ask the provider
once whether the zone and the credentials work, so that what can be known at submit is
a 422 naming the field rather than a search that fails later.

An outage at submit is not the spec's fault: the search is accepted and waits queued for
its zone's first reading (the forecaster keeps polling).
"""

from __future__ import annotations

import logging

from cenas.carbon.providers import live_provider
from cenas.errors import (CenasError, ProviderAuthError, ProviderConfigError, ProviderError, ProviderRequestError,
                          ProviderResponseError)
from cenas.settings import Settings
from cenas.spec import SearchSpec

log = logging.getLogger(__name__)


class LiveSpecError(CenasError, ValueError):
    """A live spec the provider refuses; ``field`` is the spec field to fix."""

    def __init__(self, field: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.field = field


def with_live_defaults(spec: SearchSpec, settings: Settings) -> SearchSpec:
    """The spec as stored: a live one carries the interval every service will use."""
    if spec.carbon.signal == "replay" or spec.carbon.interval_s is not None:
        return spec
    carbon = spec.carbon.model_copy(update={"interval_s": settings.live_interval_s})
    return spec.model_copy(update={"carbon": carbon})


def probe(spec: SearchSpec, settings: Settings) -> None:
    """Raise LiveSpecError when the provider refuses the spec's zone or our credentials,
    or answers something unreadable; return quietly when it answers, or is unreachable."""
    carbon = spec.carbon
    if carbon.signal == "replay":
        return
    try:
        provider = live_provider(settings, carbon.signal, timeout=settings.live_probe_timeout_s, max_retries=0)
    except ProviderConfigError as exc:
        raise LiveSpecError(("carbon", "signal"), f"{exc} (the deployment has no credentials for {carbon.signal})") from None
    try:
        provider.latest(carbon.region)
        if carbon.forecast == "provider":
            provider.forecast(carbon.region, 1)
    except ProviderAuthError as exc:
        raise LiveSpecError(("carbon", "signal"), str(exc)) from None
    except ProviderRequestError as exc:
        field = ("carbon", "forecast") if carbon.forecast == "provider" and "forecast" in str(exc) else ("carbon", "region")
        raise LiveSpecError(field, f"{exc} (is {carbon.region!r} a zone {carbon.signal} knows?)") from None
    except ProviderResponseError as exc:
        raise LiveSpecError(("carbon", "signal"), f"{exc} (the provider's answer cannot be read)") from None
    except ProviderError as exc:  # unreachable, rate limited: the search waits for it
        log.warning("live spec accepted without a check: %s", exc)
    finally:
        provider.close()
