"""Limits on how a request arrives, so that a stranger cannot hold memory or a connection
for free: JSON and form bodies are capped in size (413), and a body that goes silent is cut
(408); the request's head is bounded by the HTTP protocol (server/protocol.py). Streamed
bodies (commits' NDJSON, LFS and Xet bytes, git packs) keep their own size limits, checked
where they are read."""

from __future__ import annotations

import asyncio

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelcommons.config import get_settings
from modelcommons.server.bodies import PARSED_FLAG

# Bodies parsed whole in memory by their type, whatever route reads them.
_PARSED_TYPES = ("application/json", "application/x-www-form-urlencoded")


def parsed_whole(scope: Scope) -> bool:
    """Whether the body will be parsed in memory: JSON or a url-encoded form by its type, a
    route that parses it itself, or any body of a route that declares body parameters
    (FastAPI reads those whole, whatever their type)."""
    content_type = _header(scope, b"content-type").split(";")[0].strip().lower()
    if content_type in _PARSED_TYPES or content_type.endswith("+json") or PARSED_FLAG in scope:
        return True
    return getattr(scope.get("route"), "body_field", None) is not None


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return ""


class _Body:
    """The receive side of one request, with the limits applied message by message. They
    raise Starlette's HTTPException, not errors.py's: FastAPI turns any other exception
    raised while it reads a body into a bare 400."""

    def __init__(self, scope: Scope, receive: Receive) -> None:
        settings = get_settings()
        self.scope, self._receive = scope, receive
        self.timeout, self.cap = settings.body_timeout_seconds, settings.max_json_bytes
        self.received, self.done, self.timed_out = 0, False, False

    async def receive(self) -> Message:
        if self.done:  # after the body only a disconnect comes, whenever the client leaves
            return await self._receive()
        try:
            async with asyncio.timeout(self.timeout):  # no task per message, unlike wait_for
                message = await self._receive()
        except TimeoutError as exc:
            self.timed_out = True
            raise HTTPException(
                408, f"The request body sent nothing for {self.timeout:g} s; send it again."
            ) from exc
        if message["type"] == "http.request":
            self._count(len(message.get("body", b"")))
            self.done = not message.get("more_body", False)
        return message

    def _count(self, size: int) -> None:
        if self.received == 0 and parsed_whole(self.scope):
            declared = _header(self.scope, b"content-length")
            if declared.isascii() and declared.isdigit() and int(declared) > self.cap:
                raise self._too_large()
        self.received += size
        if self.received > self.cap and parsed_whole(self.scope):
            raise self._too_large()

    def _too_large(self) -> HTTPException:
        return HTTPException(
            413, f"The body is over this hub's limit of {self.cap:,} bytes for JSON and forms."
        )


class RequestLimits:
    """ASGI middleware applying the limits to every HTTP request. A request cut for silence
    is answered with `Connection: close`: the rest of its body cannot be trusted."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = _Body(scope, receive)

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start" and body.timed_out:
                message = dict(message, headers=[*message["headers"], (b"connection", b"close")])
            await send(message)

        await self.app(scope, body.receive, closing)
