"""A local fake of the Electricity Maps v3 and WattTime v3 APIs (real HTTP over a socket,
on loopback), for the provider unit tests and the live-mode end-to-end test.

Routes answer with the providers' real JSON shapes. Tests script failures per path with
``server.fail(path, [status_or_action, ...])``: each request to ``path`` pops the next
entry (an int status, ``"timeout"`` to stall longer than the client timeout, or
``"garbage"`` for a non-JSON 200 body), then normal answers resume.

Live controls: ``server.live[zone] = grams`` makes both providers serve that intensity
for the zone *now* (Electricity Maps in gCO2eq/kWh, WattTime in lbs/MWh); ``server.mode
[zone]`` = ``"down"`` (503 to every request for it) or ``"garbage"``; ``server.zones``,
when set, is the set of zones/regions the providers know (others: 404 / 400).
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
from collections import defaultdict, deque
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

EM_TOKEN = "em-test-token"
WT_USER, WT_PASS = "wt-user", "wt-pass"
NOW = datetime(2024, 3, 1, 12, tzinfo=timezone.utc)


def em_value(when: datetime) -> float:
    return 200.0 + 50.0 * ((when.hour % 24) / 23.0)


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _em_entry(zone: str, when: datetime) -> dict:
    return {"zone": zone, "carbonIntensity": em_value(when), "datetime": _iso(when), "updatedAt": _iso(when),
            "createdAt": _iso(when), "emissionFactorType": "lifecycle", "isEstimated": False, "estimationMethod": None}


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class FakeCarbonApis(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.script: dict[str, deque] = defaultdict(deque)
        self.hits: dict[str, int] = defaultdict(int)
        self.tokens_issued = 0
        self.stall_seconds = 1.0
        self.live: dict[str, float] = {}
        self.mode: dict[str, str] = {}
        self.zones: set[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def fail(self, path: str, actions: list) -> None:
        self.script[path].extend(actions)

    def handle_error(self, request, client_address) -> None:
        """A client that gave up first (a timeout under test) is expected: no traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    server: FakeCarbonApis

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass

    def _send(self, status: int, body: object, raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 429:
            self.send_header("Retry-After", "0")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        srv = self.server
        srv.hits[url.path] += 1
        if srv.script[url.path]:
            action = srv.script[url.path].popleft()
            if action == "timeout":
                time.sleep(srv.stall_seconds)
                return self._send(200, {})
            if action == "garbage":
                return self._send(200, None, raw=b"<html>maintenance</html>")
            if isinstance(action, dict):
                return self._send(200, action)
            return self._send(action, {"error": f"scripted {action}"})
        zone = q.get("zone") or q.get("region")
        if zone is not None and zone in srv.mode:
            if srv.mode[zone] == "down":
                return self._send(503, {"error": "service unavailable"})
            if srv.mode[zone] == "garbage":
                return self._send(200, None, raw=b"<html>maintenance</html>")
        if zone is not None and srv.zones is not None and zone not in srv.zones and url.path != "/login":
            if url.path.startswith("/v3/carbon-intensity"):
                return self._send(404, {"status": "error", "message": f"Zone '{zone}' does not exist."})
            return self._send(400, {"error": "Invalid region", "message": f"region {zone} is not supported"})
        if url.path.startswith("/v3/carbon-intensity"):
            return self._electricitymaps(url.path, q)
        return self._watttime(url.path, q)

    # Electricity Maps v3 ---------------------------------------------------------
    def _electricitymaps(self, path: str, q: dict) -> None:
        if self.headers.get("auth-token") != EM_TOKEN:
            return self._send(401, {"message": "Unauthorized"})
        zone = q.get("zone", "")
        live = self.server.live.get(zone)
        if path == "/v3/carbon-intensity/latest":
            if live is not None:
                hour = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
                return self._send(200, {**_em_entry(zone, hour), "carbonIntensity": live, "isEstimated": True})
            return self._send(200, _em_entry(zone, NOW))
        if path == "/v3/carbon-intensity/forecast":
            hour = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
            return self._send(200, {"zone": zone, "forecast": [{"carbonIntensity": live if live is not None else em_value(hour + timedelta(hours=h)),
                                                                "datetime": _iso(hour + timedelta(hours=h))} for h in range(72)],
                                    "updatedAt": _iso(hour)})
        if path == "/v3/carbon-intensity/history":  # the last 24 hours (of now, for a live zone)
            base = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) if live is not None else NOW
            return self._send(200, {"zone": zone, "history": [_em_entry(zone, base - timedelta(hours=h)) for h in range(24, 0, -1)]})
        if path == "/v3/carbon-intensity/past-range":
            start, end = _parse(q["start"]), _parse(q["end"])
            if end - start > timedelta(days=10):
                return self._send(400, {"message": "range too long"})
            n = int((end - start) / timedelta(hours=1))
            data = [_em_entry(zone, start + timedelta(hours=h)) for h in range(n)]
            if live is not None:  # a live zone's past is its present level
                data = [{**entry, "carbonIntensity": live} for entry in data]
            return self._send(200, {"zone": zone, "data": data})
        return self._send(404, {"message": "not found"})

    # WattTime v3 -----------------------------------------------------------------
    def _watttime(self, path: str, q: dict) -> None:
        srv = self.server
        if path == "/login":
            expected = "Basic " + base64.b64encode(f"{WT_USER}:{WT_PASS}".encode()).decode()
            if self.headers.get("Authorization") != expected:
                return self._send(403, {"error": "invalid credentials"})
            srv.tokens_issued += 1
            return self._send(200, {"token": f"tok{srv.tokens_issued}"})
        if self.headers.get("Authorization") != f"Bearer tok{srv.tokens_issued}" or srv.tokens_issued == 0:
            return self._send(401, {"error": "token expired"})
        meta = {"region": q.get("region"), "signal_type": q.get("signal_type"), "units": "lbs_co2_per_mwh",
                "data_point_period_seconds": 300, "warnings": [], "model": {"date": "2023-03-01", "type": "binned_regression"}}
        live = srv.live.get(q.get("region", ""))
        if path == "/v3/forecast":
            if live is not None:  # served in lbs/MWh, as WattTime does
                now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
                pts = [{"point_time": _iso(now + timedelta(minutes=5 * i)), "value": live / 0.453592}
                       for i in range(max(1, int(q.get("horizon_hours", "1") or 1) * 12))]
                return self._send(200, {"data": pts, "meta": {**meta, "generated_at": _iso(now)}})
            pts = [{"point_time": _iso(NOW + timedelta(minutes=5 * i)), "value": 1000.0} for i in range(12)]
            return self._send(200, {"data": pts, "meta": {**meta, "generated_at": _iso(NOW)}})
        if path == "/v3/historical":
            start, end = _parse(q["start"]), _parse(q["end"])
            n = int((end - start) / timedelta(minutes=5))
            pts = [{"point_time": _iso(start + timedelta(minutes=5 * i)),
                    "value": live / 0.453592 if live is not None else 900.0 + (i % 12) * 10} for i in range(n)]
            return self._send(200, {"data": pts, "meta": meta})
        return self._send(404, {"error": "not found"})


@contextmanager
def serving():
    """A running fake on a free loopback port."""
    server = FakeCarbonApis()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def fake_api():
    with serving() as server:
        yield server
