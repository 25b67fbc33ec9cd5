"""`BodyLimit` at the ASGI level: what it reads of a refused body, when it stops, what it
answers. The client side is a scripted `receive`; the app behind it records its calls."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable

from starlette.types import Message, Receive, Scope, Send

from gateway.limits import BodyLimit

LIMIT = 1024
CHUNK = b"x" * 256


class Client:
    """The client's side of one request: body messages to hand out, then (optionally) a
    wait forever; counts what the middleware read and keeps what it sent."""

    def __init__(self, body: Iterable[bytes], hang: bool = False, disconnect: bool = False) -> None:
        pieces = list(body)
        self.messages: list[Message] = [{"type": "http.request", "body": p, "more_body": i < len(pieces) - 1 or hang or disconnect}
                                        for i, p in enumerate(pieces)]
        if disconnect:
            self.messages.append({"type": "http.disconnect"})
        self.hang, self.read, self.sent = hang, 0, []

    async def receive(self) -> Message:
        if self.read == len(self.messages):
            if self.hang:
                await asyncio.Event().wait()
            return {"type": "http.disconnect"}
        self.read += 1
        return self.messages[self.read - 1]

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    def answer(self) -> tuple[int, dict[bytes, bytes], dict]:
        start, body = self.sent
        return start["status"], dict(start["headers"]), json.loads(body["body"])


class App:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.bodies.append((await receive())["body"])
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def run(client: Client, headers: dict[bytes, bytes] | None = None, discard_bytes: int = 64 * LIMIT,
        discard_seconds: float = 5.0) -> App:
    app = App()
    scope = {"type": "http", "method": "POST", "path": "/v1/searches", "headers": list((headers or {}).items())}
    asyncio.run(BodyLimit(app, max_bytes=LIMIT, discard_bytes=discard_bytes, discard_seconds=discard_seconds)(
        scope, client.receive, client.send))
    return app


def assert_refused(client: Client, app: App) -> None:
    status, headers, body = client.answer()
    assert status == 413 and headers[b"connection"] == b"close"
    assert body == {"detail": f"request body larger than {LIMIT} bytes"}
    assert app.bodies == []


def test_a_body_within_the_limit_reaches_the_app_whole():
    client = Client([CHUNK] * 4)
    app = run(client, {b"content-length": b"1024"})
    assert app.bodies == [CHUNK * 4] and client.sent[0]["status"] == 201


def test_a_declared_oversized_body_is_read_to_its_end_before_the_413():
    client = Client([CHUNK] * 40)
    app = run(client, {b"content-length": str(40 * len(CHUNK)).encode()})
    assert client.read == 40
    assert_refused(client, app)


def test_an_undeclared_body_is_read_on_past_the_limit_to_its_end():
    client = Client([CHUNK] * 40)
    app = run(client)
    assert client.read == 40
    assert_refused(client, app)


def test_discarding_stops_at_the_byte_bound():
    client = Client([CHUNK] * 1000)
    app = run(client, discard_bytes=20 * len(CHUNK))
    assert client.read == 20
    assert_refused(client, app)


def test_a_body_declared_above_the_byte_bound_is_refused_without_reading():
    client = Client([CHUNK] * 40)
    app = run(client, {b"content-length": str(40 * len(CHUNK)).encode()}, discard_bytes=20 * len(CHUNK))
    assert client.read == 0
    assert_refused(client, app)


def test_a_client_waiting_for_100_continue_is_refused_without_reading():
    """Reading would make the server send `100 Continue` and invite the body."""
    client = Client([CHUNK] * 40)
    app = run(client, {b"content-length": str(40 * len(CHUNK)).encode(), b"expect": b"100-Continue"})
    assert client.read == 0
    assert_refused(client, app)


def test_discarding_stops_at_the_time_bound():
    client = Client([CHUNK] * 8, hang=True)
    started = time.monotonic()
    app = run(client, discard_seconds=0.3)
    assert 0.3 <= time.monotonic() - started < 3
    assert client.read == 8
    assert_refused(client, app)


def test_a_client_that_leaves_while_its_body_is_discarded_gets_no_answer():
    client = Client([CHUNK] * 8, disconnect=True)
    app = run(client)
    assert client.sent == [] and app.bodies == []
