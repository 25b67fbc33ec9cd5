"""Carbon-intensity signal providers behind one interface.

- :class:`ReplayProvider`: a bundled or user trace replayed on a :class:`~cenas.clock.Clock`.
- :class:`ElectricityMapsProvider`: Electricity Maps API v3 (``auth-token`` header).
- :class:`WattTimeProvider`: WattTime API v3 (basic-auth login -> bearer token).

HTTP providers cache answers for a short TTL, retry 429 / 5xx / timeouts with exponential
backoff (honouring ``Retry-After``), and raise :class:`~cenas.errors.ProviderError`
subclasses with one clear sentence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cenas.carbon.providers.base import CarbonSignalProvider, Reading
from cenas.carbon.providers.electricitymaps import ElectricityMapsProvider
from cenas.carbon.providers.replay import ReplayProvider
from cenas.carbon.providers.watttime import WattTimeProvider

if TYPE_CHECKING:
    from cenas.settings import Settings

#: a live poll must not stall the other zones for long: few, short retries (the next poll retries anyway)
LIVE_HTTP: dict[str, Any] = {"max_retries": 2, "backoff": 0.5, "backoff_max": 5.0, "timeout": 10.0}


def live_provider(settings: Settings, name: str, **http: Any) -> CarbonSignalProvider:
    """The named live provider with the deployment's credentials and URL
    (ProviderConfigError, naming the setting, when they are missing)."""
    http = {**LIVE_HTTP, **http}
    if name == "electricitymaps":
        token = settings.electricitymaps_token.get_secret_value() if settings.electricitymaps_token else None
        return ElectricityMapsProvider(token, base_url=settings.electricitymaps_url, **http)
    if name == "watttime":
        password = settings.watttime_password.get_secret_value() if settings.watttime_password else None
        return WattTimeProvider(settings.watttime_username, password, base_url=settings.watttime_url, **http)
    raise ValueError(f"unknown live signal {name!r}")


__all__ = ["CarbonSignalProvider", "Reading", "ReplayProvider", "ElectricityMapsProvider", "WattTimeProvider", "live_provider"]
