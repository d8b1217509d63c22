"""Request-scoped helpers shared by routes: who is asking, and the public base URL."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import unquote

from fastapi import Depends, Request

from modelcommons.config import get_settings
from modelcommons.db.engine import read_session
from modelcommons.errors import UnauthorizedError
from modelcommons.hub.accounts import ANONYMOUS, Principal, authenticate_token


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if not header:
        return None
    if scheme.lower() != "bearer" or not value.strip():
        raise UnauthorizedError("Invalid credentials in Authorization header")
    return value.strip()


def get_principal(request: Request) -> Principal:
    secret = _bearer(request)
    if secret is None:
        return ANONYMOUS
    with read_session() as session:
        return authenticate_token(session, secret)


def base_url(request: Request) -> str:
    """The URL clients reach this hub at: configured, or what the request was sent to."""
    configured = get_settings().public_url
    if configured:
        return configured
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    return f"{request.url.scheme}://{host}"


def decoded(segment: str) -> str:
    """A path parameter as the client meant it (routes match on the raw, encoded path)."""
    return unquote(segment)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
BaseUrl = Annotated[str, Depends(base_url)]
