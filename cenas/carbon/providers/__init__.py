"""Carbon-intensity signal providers behind one interface.

- :class:`ReplayProvider`: a bundled or user trace replayed on a :class:`~cenas.clock.Clock`.
- :class:`ElectricityMapsProvider`: Electricity Maps API v3 (``auth-token`` header).
- :class:`WattTimeProvider`: WattTime API v3 (basic-auth login -> bearer token).

HTTP providers cache answers for a short TTL, retry 429 / 5xx / timeouts with exponential
backoff (honouring ``Retry-After``), and raise :class:`~cenas.errors.ProviderError`
subclasses with one clear sentence.
"""

from cenas.carbon.providers.base import CarbonSignalProvider, Reading
from cenas.carbon.providers.electricitymaps import ElectricityMapsProvider
from cenas.carbon.providers.replay import ReplayProvider
from cenas.carbon.providers.watttime import WattTimeProvider

__all__ = ["CarbonSignalProvider", "Reading", "ReplayProvider", "ElectricityMapsProvider", "WattTimeProvider"]
