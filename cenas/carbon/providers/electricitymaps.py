"""Electricity Maps API v3 client.

Requests (``auth-token: <token>`` header):
- ``GET /v3/carbon-intensity/latest?zone=Z`` -> ``{"zone", "carbonIntensity", "datetime",
  "updatedAt", "createdAt", "emissionFactorType", "isEstimated", "estimationMethod"}``
- ``GET /v3/carbon-intensity/history?zone=Z`` -> ``{"zone", "history": [<same objects>]}``
  (the last 24 hours)
- ``GET /v3/carbon-intensity/past-range?zone=Z&start=..&end=..`` -> ``{"zone", "data": [...]}``
  (at most 10 days of hourly data per request; longer windows are split)
- ``GET /v3/carbon-intensity/forecast?zone=Z`` -> ``{"zone", "forecast": [{"carbonIntensity",
  "datetime"}], "updatedAt"}`` (plans that include forecasts)
Values are gCO2eq/kWh; zones are Electricity Maps zone ids, the same names as our regions.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from cenas.carbon.providers._http import JsonHttp, windows
from cenas.carbon.providers.base import CarbonSignalProvider, Reading, hourly
from cenas.carbon.traces import CarbonTrace, as_utc, parse_utc
from cenas.errors import ProviderConfigError, ProviderResponseError

DEFAULT_URL = "https://api.electricitymap.org"
MAX_RANGE = timedelta(days=10)


class ElectricityMapsProvider(CarbonSignalProvider):
    name = "electricitymaps"

    def __init__(self, token: str | None, *, base_url: str = DEFAULT_URL, emission_factor: str = "lifecycle",
                 **http: Any) -> None:
        if not token:
            raise ProviderConfigError("electricitymaps: no API token; set CENAS_ELECTRICITYMAPS_TOKEN")
        if emission_factor not in ("lifecycle", "direct"):
            raise ProviderConfigError(f"electricitymaps: emission_factor must be lifecycle or direct, got {emission_factor!r}")
        self._headers = {"auth-token": token}
        self._factor = emission_factor
        self._http = JsonHttp(self.name, base_url, **http)

    def _get(self, path: str, params: dict[str, str], cache: bool = True) -> dict[str, Any]:
        params = {**params, "emissionFactorType": self._factor}
        body = self._http.get(path, params, headers=self._headers, cache=cache)
        if not isinstance(body, dict):
            raise ProviderResponseError(f"electricitymaps: {path} answered {type(body).__name__}, expected an object")
        return body

    @staticmethod
    def _point(item: Any, path: str) -> tuple[datetime, float]:
        try:
            value = item["carbonIntensity"]
            when = parse_utc(item["datetime"])
        except (TypeError, KeyError, ValueError) as exc:
            raise ProviderResponseError(f"electricitymaps: {path}: malformed entry ({exc!r}): {str(item)[:120]}") from None
        if value is None or not isinstance(value, (int, float)) or value < 0:
            raise ProviderResponseError(f"electricitymaps: {path}: carbonIntensity {value!r} is not a non-negative number")
        return when, float(value)

    def latest(self, region: str) -> Reading:
        path = "/v3/carbon-intensity/latest"
        body = self._get(path, {"zone": region}, cache=False)
        when, value = self._point(body, path)
        return Reading(region, when, value, estimated=bool(body.get("isEstimated")))

    def forecast(self, region: str, hours: int) -> list[tuple[datetime, float]]:
        path = "/v3/carbon-intensity/forecast"
        body = self._get(path, {"zone": region}, cache=False)
        items = body.get("forecast")
        if not isinstance(items, list) or not items:
            raise ProviderResponseError(f"electricitymaps: {path}: no 'forecast' list in the answer")
        return [self._point(item, path) for item in items][:hours]

    def history(self, region: str, start: datetime, end: datetime) -> CarbonTrace:
        start, end = as_utc(start), as_utc(end)
        points: list[tuple[datetime, float]] = []
        for t, chunk_end in windows(start, end, MAX_RANGE):
            path = "/v3/carbon-intensity/past-range"
            body = self._get(path, {"zone": region, "start": _iso(t), "end": _iso(chunk_end)})
            items = body.get("data", body.get("history"))
            if not isinstance(items, list):
                raise ProviderResponseError(f"electricitymaps: {path}: no 'data' list in the answer")
            points += [self._point(item, path) for item in items]
        return hourly(region, start, end, points, self.name)

    def recent(self, region: str) -> CarbonTrace:
        """The last 24 hours from ``/history`` (works on the free tier)."""
        path = "/v3/carbon-intensity/history"
        body = self._get(path, {"zone": region})
        items = body.get("history")
        if not isinstance(items, list) or not items:
            raise ProviderResponseError(f"electricitymaps: {path}: no 'history' list in the answer")
        points = [self._point(item, path) for item in items]
        first = min(p[0] for p in points)
        last = max(p[0] for p in points)
        return hourly(region, first, last + timedelta(hours=1), points, self.name)

    def close(self) -> None:
        self._http.close()


def _iso(when: datetime) -> str:
    return as_utc(when).strftime("%Y-%m-%dT%H:%M:%SZ")
