"""The headers every response carries. Security: pages may load only the hub's own scripts,
styles and images and may not be framed; anything else (files, JSON, static assets) is
treated as user content that must never run script in the hub's origin, even when opened
directly. Tracing: `X-Commons-Server: host:pid` says which process behind the load balancer
answered, for operators reading logs (and the cluster tests)."""

from __future__ import annotations

import os
import socket

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's Swagger page loads its bundle from a CDN and starts it with an inline script;
# it shows no user content, so it gets exactly what it needs and nothing more.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
CONTENT_POLICY = "default-src 'none'; sandbox; frame-ancestors 'none'"
DOCS_PATHS = ("/api/docs", "/api/docs/oauth2-redirect")
COMMON = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
]


def _policy(path: str, headers: list[tuple[bytes, bytes]]) -> bytes:
    content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
    if not content_type.startswith(b"text/html"):
        return CONTENT_POLICY.encode()
    return (DOCS_POLICY if path in DOCS_PATHS else PAGE_POLICY).encode()


class ResponseHeaders:
    """Adds the security headers a response does not set itself (a route may choose its
    own), and the answering process."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.server = (b"x-commons-server", f"{socket.gethostname()}:{os.getpid()}".encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                wanted = [(b"content-security-policy", _policy(scope["path"], headers)), *COMMON]
                headers += [(k, v) for k, v in wanted if k not in present]
                headers.append(self.server)
                message = dict(message, headers=headers)
            await send(message)

        await self.app(scope, receive, with_headers)
