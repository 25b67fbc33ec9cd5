"""WattTime API v3 client.

- ``GET /login`` with HTTP basic auth -> ``{"token": "<jwt>"}`` (valid 30 minutes; we
  refresh after 25 minutes or on a 401).
- ``GET /v3/forecast?region=R&signal_type=co2_moer`` (bearer token) ->
  ``{"data": [{"point_time", "value"}], "meta": {"region", "signal_type", "units",
  "generated_at", "data_point_period_seconds", ...}}``; its first point is "now".
- ``GET /v3/historical?region=R&start=..&end=..&signal_type=co2_moer`` -> same shape.
WattTime signals are *marginal* rates in lbs CO2/MWh (``co2_moer``); we convert to
gCO2/kWh (x 0.453592). Marginal and average intensity differ: don't mix them in one run.
Regions are WattTime balancing-authority codes; ``region_map`` translates our zone ids.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable

import time as _time

from cenas.carbon.providers._http import JsonHttp, windows
from cenas.carbon.providers.base import CarbonSignalProvider, Reading, hourly
from cenas.carbon.traces import CarbonTrace, as_utc, parse_utc
from cenas.errors import ProviderConfigError, ProviderResponseError

DEFAULT_URL = "https://api.watttime.org"
LBS_PER_MWH_TO_G_PER_KWH = 0.453592
UNIT_FACTORS = {"lbs_co2_per_mwh": LBS_PER_MWH_TO_G_PER_KWH, "g_co2_per_kwh": 1.0, "kg_co2_per_mwh": 1.0}
#: Our (Electricity Maps) zone ids -> WattTime regions; override per deployment.
DEFAULT_REGION_MAP = {"US-CAL-CISO": "CAISO_NORTH", "US-MIDA-PJM": "PJM_DC", "US-TEX-ERCO": "ERCOT_NORTHCENTRAL",
                      "DE": "DE", "GB": "UK"}
TOKEN_LIFETIME = 25 * 60.0
MAX_RANGE = timedelta(days=30)


class WattTimeProvider(CarbonSignalProvider):
    name = "watttime"

    def __init__(self, username: str | None, password: str | None, *, base_url: str = DEFAULT_URL,
                 signal_type: str = "co2_moer", region_map: dict[str, str] | None = None,
                 monotonic: Callable[[], float] = _time.monotonic, **http: Any) -> None:
        if not username or not password:
            raise ProviderConfigError("watttime: no credentials; set CENAS_WATTTIME_USERNAME and CENAS_WATTTIME_PASSWORD")
        self._auth = (username, password)
        self._signal = signal_type
        self._regions = {**DEFAULT_REGION_MAP, **(region_map or {})}
        self._monotonic = monotonic
        self._token: str | None = None
        self._token_at = 0.0
        self._http = JsonHttp(self.name, base_url, monotonic=monotonic, **http)

    def _login(self) -> dict[str, str]:
        body = self._http.get("/login", auth=self._auth, cache=False)
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ProviderResponseError("watttime: /login answered without a 'token'")
        self._token, self._token_at = token, self._monotonic()
        return {"Authorization": f"Bearer {token}"}

    def _headers(self) -> dict[str, str]:
        if self._token is None or self._monotonic() - self._token_at > TOKEN_LIFETIME:
            return self._login()
        return {"Authorization": f"Bearer {self._token}"}

    def _region(self, region: str) -> str:
        return self._regions.get(region, region)

    def _data(self, path: str, params: dict[str, str], cache: bool = True) -> list[tuple[datetime, float]]:
        return [(when, value * factor) for when, value, factor, _ in self._raw(path, params, cache)]

    def _raw(self, path: str, params: dict[str, str], cache: bool = True) -> list[tuple[datetime, float, float, str]]:
        """(time, value as sent, factor to gCO2/kWh, unit as sent) per point."""
        body = self._http.get(path, {**params, "signal_type": self._signal}, headers=self._headers(),
                              cache=cache, on_unauthorized=self._login)
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise ProviderResponseError(f"watttime: {path}: no 'data' list in the answer")
        units = (body.get("meta") or {}).get("units", "lbs_co2_per_mwh")
        if units not in UNIT_FACTORS:
            raise ProviderResponseError(f"watttime: {path}: units {units!r} are not an emissions rate this client converts "
                                        f"({', '.join(UNIT_FACTORS)})")
        factor = UNIT_FACTORS[units]
        points = []
        for item in body["data"]:
            try:
                when, value = parse_utc(item["point_time"]), float(item["value"])
            except (TypeError, KeyError, ValueError) as exc:
                raise ProviderResponseError(f"watttime: {path}: malformed entry ({exc!r}): {str(item)[:120]}") from None
            points.append((when, value, factor, units))
        return points

    def latest(self, region: str) -> Reading:
        points = self._raw("/v3/forecast", {"region": self._region(region), "horizon_hours": "0"}, cache=False)
        if not points:
            raise ProviderResponseError(f"watttime: /v3/forecast: empty 'data' for {region}")
        when, value, factor, units = points[0]
        return Reading(region, when, value * factor, raw_value=value, raw_unit=units)

    def forecast(self, region: str, hours: int) -> list[tuple[datetime, float]]:
        return self._data("/v3/forecast", {"region": self._region(region), "horizon_hours": str(hours)}, cache=False)

    def history(self, region: str, start: datetime, end: datetime) -> CarbonTrace:
        start, end = as_utc(start), as_utc(end)
        points: list[tuple[datetime, float]] = []
        for t, chunk_end in windows(start, end, MAX_RANGE):
            points += self._data("/v3/historical", {"region": self._region(region), "start": _iso(t), "end": _iso(chunk_end)})
        return hourly(region, start, end, points, self.name)

    def close(self) -> None:
        self._http.close()


def _iso(when: datetime) -> str:
    return as_utc(when).strftime("%Y-%m-%dT%H:%M:%SZ")
