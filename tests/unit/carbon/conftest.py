"""A local fake of the Electricity Maps v3 and WattTime v3 APIs (real HTTP over a socket).

Routes answer with the providers' real JSON shapes. Tests script failures per path with
``server.fail(path, [status_or_action, ...])``: each request to ``path`` pops the next
entry (an int status, ``"timeout"`` to stall longer than the client timeout, or
``"garbage"`` for a non-JSON 200 body), then normal answers resume.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import defaultdict, deque
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

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def fail(self, path: str, actions: list) -> None:
        self.script[path].extend(actions)


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
        if url.path.startswith("/v3/carbon-intensity"):
            return self._electricitymaps(url.path, q)
        return self._watttime(url.path, q)

    # Electricity Maps v3 ---------------------------------------------------------
    def _electricitymaps(self, path: str, q: dict) -> None:
        if self.headers.get("auth-token") != EM_TOKEN:
            return self._send(401, {"message": "Unauthorized"})
        zone = q.get("zone", "")
        if path == "/v3/carbon-intensity/latest":
            return self._send(200, _em_entry(zone, NOW))
        if path == "/v3/carbon-intensity/history":
            return self._send(200, {"zone": zone, "history": [_em_entry(zone, NOW - timedelta(hours=h)) for h in range(24, 0, -1)]})
        if path == "/v3/carbon-intensity/past-range":
            start, end = _parse(q["start"]), _parse(q["end"])
            if end - start > timedelta(days=10):
                return self._send(400, {"message": "range too long"})
            n = int((end - start) / timedelta(hours=1))
            return self._send(200, {"zone": zone, "data": [_em_entry(zone, start + timedelta(hours=h)) for h in range(n)]})
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
        if path == "/v3/forecast":
            pts = [{"point_time": _iso(NOW + timedelta(minutes=5 * i)), "value": 1000.0} for i in range(12)]
            return self._send(200, {"data": pts, "meta": {**meta, "generated_at": _iso(NOW)}})
        if path == "/v3/historical":
            start, end = _parse(q["start"]), _parse(q["end"])
            n = int((end - start) / timedelta(minutes=5))
            pts = [{"point_time": _iso(start + timedelta(minutes=5 * i)), "value": 900.0 + (i % 12) * 10} for i in range(n)]
            return self._send(200, {"data": pts, "meta": meta})
        return self._send(404, {"error": "not found"})


@pytest.fixture
def fake_api():
    server = FakeCarbonApis()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
