"""A small HTTP client of the gateway, for `cenas submit/status/report` and `cenas demo`.

Every failure becomes a :class:`~cenas.errors.GatewayError` whose message is one line a
user can act on: the gateway's own `detail` for 4xx, "unreachable" when nothing answers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import yaml

from cenas.errors import GatewayError, GatewayUnavailableError, SpecFileError
from cenas.settings import Settings


def read_spec_file(path: Path) -> dict:
    """A SearchSpec mapping from a `.json`, `.yaml` or `.yml` file (validated by the gateway)."""
    if not path.is_file():
        raise SpecFileError(f"spec file {path} not found")
    text = path.read_text(encoding="utf-8")
    try:
        spec = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
        raise SpecFileError(f"spec file {path} is not valid {kind}: {' '.join(str(exc).split())}") from None
    if not isinstance(spec, dict):
        raise SpecFileError(f"spec file {path} must hold a mapping (a SearchSpec), not {type(spec).__name__}")
    return spec


def all_pages(http: httpx.Client, path: str) -> list[dict]:
    """Every item of a paged `/v1` list (`items`, `total`), following `offset`."""
    items: list[dict] = []
    while True:
        page = http.get(path, params={"limit": 1000, "offset": len(items)}).raise_for_status().json()
        items += page["items"]
        if not page["items"] or len(items) >= page["total"]:
            return items


def describe_detail(detail: Any) -> str:
    """FastAPI's `detail` as one line: validation errors as `field.path: message; ...`."""
    if isinstance(detail, list):
        parts = []
        for error in detail:
            if isinstance(error, dict):
                loc = [str(p) for p in error.get("loc", []) if p not in ("body", "query", "path")]
                parts.append(f"{'.'.join(loc) or 'request'}: {error.get('msg', error)}")
            else:
                parts.append(str(error))
        return "; ".join(parts)
    return str(detail)


class GatewayClient:
    """Calls the `/v1` API with a bearer key. ``http`` may be any `httpx.Client` (tests pass
    Starlette's TestClient); otherwise one is made for ``base_url``."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 10.0, http: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._http = http or httpx.Client(base_url=self.base_url, timeout=timeout)
        self._own = http is None

    @classmethod
    def from_settings(cls, settings: Settings) -> GatewayClient:
        if not settings.api_key:
            raise GatewayError("no API key: set CENAS_API_KEY (create one with `cenas keys create --name NAME`)")
        return cls(settings.gateway_url, settings.api_key.get_secret_value())

    def _request(self, method: str, path: str, **kw) -> Any:
        try:
            response = self._http.request(method, path, headers=self._headers, **kw)
        except httpx.TransportError as exc:
            raise GatewayUnavailableError(f"gateway at {self.base_url} unreachable: {exc or type(exc).__name__}") from None
        if response.status_code >= 400:
            try:
                detail = describe_detail(response.json().get("detail"))
            except (ValueError, AttributeError):
                detail = response.text.strip()[:200] or response.reason_phrase
            raise GatewayError(f"gateway answered {response.status_code} to {method} {path}: {detail}", response.status_code)
        return response.json()

    def submit(self, spec: dict) -> dict:
        return self._request("POST", "/v1/searches", json=spec)

    def searches(self, *, limit: int = 50, offset: int = 0) -> dict:
        return self._request("GET", "/v1/searches", params={"limit": limit, "offset": offset})

    def search(self, search_id: str) -> dict:
        return self._request("GET", f"/v1/searches/{search_id}")

    def pareto(self, search_id: str) -> dict:
        return self._request("GET", f"/v1/searches/{search_id}/pareto")

    def evaluations(self, search_id: str, *, limit: int = 100, offset: int = 0) -> dict:
        return self._request("GET", f"/v1/searches/{search_id}/evaluations", params={"limit": limit, "offset": offset})

    def decisions(self, search_id: str, *, limit: int = 100, offset: int = 0) -> dict:
        return self._request("GET", f"/v1/searches/{search_id}/decisions", params={"limit": limit, "offset": offset})

    def signal(self, search_id: str, *, limit: int = 100, offset: int = 0) -> dict:
        return self._request("GET", f"/v1/searches/{search_id}/signal", params={"limit": limit, "offset": offset})

    def cancel(self, search_id: str) -> dict:
        return self._request("DELETE", f"/v1/searches/{search_id}")

    def forecast(self, region: str) -> dict:
        return self._request("GET", f"/v1/forecasts/{region}")

    def close(self) -> None:
        if self._own:
            self._http.close()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
