"""A body over the gateway's limit reaches the client as its 413, not as a reset: a real
gateway process (`python -m gateway`, uvicorn on a loopback port, the embedded database
and broker) and a plain-socket client that sends a whole 20 MB POST before it reads a
byte, as urllib and `requests` do."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable, Iterator

import httpx
import pytest

from tests.integration.runtime.conftest import free_port, running, wait_for

pytestmark = pytest.mark.e2e

BODY_BYTES = 20 * 1000 * 1000
CHUNK = b"x" * 65536


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def port(tmp_path_factory) -> Iterator[int]:
    """A gateway with the default settings, as a new user runs it."""
    data = tmp_path_factory.mktemp("gateway")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENAS_")}
    env.update(CENAS_DATA_DIR=str(data), CENAS_GATEWAY_PORT=str(port := free_port()), PYTHONUNBUFFERED="1")
    with running(env, data, "gateway"):
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), timeout=60, what="the gateway")
        yield port


def fixed_length() -> Iterable[bytes]:
    for start in range(0, BODY_BYTES, len(CHUNK)):
        yield CHUNK[:BODY_BYTES - start]


def chunked() -> Iterable[bytes]:
    for piece in fixed_length():
        yield b"%x\r\n%s\r\n" % (len(piece), piece)
    yield b"0\r\n\r\n"


def post_then_read(port: int, headers: bytes, body: Iterable[bytes]) -> bytes:
    """Send the request and all of its body, then read the answer until the server closes;
    a reset raises `ConnectionResetError` (the bug), a connection left open times out."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"POST /v1/searches HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" + headers + b"\r\n")
        for piece in body:
            sock.sendall(piece)
        answer = b""
        while data := sock.recv(65536):
            answer += data
    return answer


@pytest.mark.parametrize("headers, body", [
    (b"Content-Length: %d\r\nConnection: close\r\n" % BODY_BYTES, fixed_length),  # urllib's request
    (b"Content-Length: %d\r\n" % BODY_BYTES, fixed_length),
    (b"Transfer-Encoding: chunked\r\n", chunked),
], ids=["length-close", "length-keep-alive", "chunked"])
def test_a_20_mb_body_gets_its_413_and_a_clean_close(port, headers, body):
    answer = post_then_read(port, headers, body())
    head, _, content = answer.partition(b"\r\n\r\n")
    status, *fields = head.decode("latin-1").split("\r\n")
    assert status.startswith("HTTP/1.1 413"), answer[:300]
    assert "connection: close" in [f.lower() for f in fields]
    assert json.loads(content) == {"detail": "request body larger than 1048576 bytes"}
