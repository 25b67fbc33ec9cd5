"""Request body size limit as a plain ASGI middleware (413 before the app reads a byte).

The body is read here, up to the limit, and replayed to the app, so a client that lies
about (or omits) `Content-Length` is cut off too.

A refused body is not left unread: a server that answers and closes while the client is
still sending makes the kernel reset the connection, and a client that sends its whole
body before reading (urllib, `requests`, a plain socket) sees `Connection reset by peer`,
never the 413. So, as nginx's lingering close does, the rest of the body is read and
dropped, up to `discard_bytes` in all and for at most `discard_seconds`, and the 413 then
says `Connection: close`.
"""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


async def _reply(send: Send, status: int, detail: str, close: bool = False) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status,
                "headers": headers + ([(b"connection", b"close")] if close else [])})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, discard_bytes: int, discard_seconds: float) -> None:
        self.app, self.max_bytes = app, max_bytes
        self.discard_bytes, self.discard_seconds = discard_bytes, discard_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _reply(send, 400, "invalid Content-Length header")
                return
            if int(declared) > self.max_bytes:
                # a client that waits for `100 Continue` has sent nothing and never will;
                # reading would invite the body. One declared above the bound cannot be
                # read to its end, so reading would only delay the reset.
                waiting = headers.get(b"expect", b"").lower() == b"100-continue"
                if waiting or int(declared) > self.discard_bytes or await self._discard(receive, 0):
                    await self._refuse(send)
                return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                if not message.get("more_body", False) or await self._discard(receive, size):
                    await self._refuse(send)
                return
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect as usual

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        await _reply(send, 413, f"request body larger than {self.max_bytes} bytes", close=True)

    async def _discard(self, receive: Receive, received: int) -> bool:
        """Read and drop the rest of a refused body (``received`` bytes of it are read),
        until its end or a bound. False when the client went away: nobody to answer."""
        try:
            async with asyncio.timeout(self.discard_seconds):
                while received < self.discard_bytes:
                    message = await receive()
                    if message["type"] != "http.request":
                        return False
                    received += len(message.get("body", b""))
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            pass
        return True
