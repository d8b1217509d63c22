"""Request-scoped helpers shared by routes: who is asking, and the public base URL."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import Body, Depends, Request
from pydantic import AfterValidator

from modelcommons.config import get_settings
from modelcommons.db.engine import Session, read_session, write_session
from modelcommons.errors import PermissionDeniedError, UnauthorizedError
from modelcommons.hub.accounts import ANONYMOUS, Principal, authenticate_token
from modelcommons.hub.job_tokens import authenticate_job_token, is_job_token
from modelcommons.hub.names import RepoType
from modelcommons.server.bodies import check_json


def _token(request: Request) -> str | None:
    """The token from `Bearer <token>`, or from Basic auth's password (how git sends it)."""
    header = request.headers.get("authorization", "")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "basic":
        try:
            value = base64.b64decode(value, validate=True).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            value = ""
    elif scheme.lower() != "bearer":
        value = ""
    if not value:
        raise UnauthorizedError("Invalid credentials in Authorization header")
    return value


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# The only routes with another method that a read-scoped token may call: each changes nothing.
READ_ONLY_POSTS = frozenset(
    {
        "/api/{types}/{namespace}/{name}/paths-info/{rev}",  # metadata of the paths asked for
        "/api/validate-yaml",  # checks a card's front matter, keeps nothing
        "/v1/telemetry",  # hf_xet's reports, dropped
        "/xet/v1/telemetry",
        # git-lfs asks for downloads by POST; an upload batch needs write, lfs.py checks it.
        "/{namespace}/{name}/info/lfs/objects/batch",
        "/datasets/{namespace}/{name}/info/lfs/objects/batch",
        "/spaces/{namespace}/{name}/info/lfs/objects/batch",
    }
)
READ_ONLY_REFUSAL = "This token is read-only; create a write token at /settings/tokens."


def changes_state(request: Request) -> bool:
    """Whether the request may change state: any method but GET/HEAD, outside READ_ONLY_POSTS."""
    route_path = getattr(request.scope.get("route"), "path", None)
    return request.method not in SAFE_METHODS and route_path not in READ_ONLY_POSTS


def _authenticate(request: Request) -> Principal:
    secret = _token(request)
    if secret is None:
        return ANONYMOUS
    with read_session() as session:
        if is_job_token(secret):
            return authenticate_job_token(session, secret)
        return authenticate_token(session, secret)


def get_principal(request: Request) -> Principal:
    """Who is asking. Scopes are enforced here, once for every route: a read-scoped token
    (or job) is refused on anything that may change state, whatever the route would allow."""
    principal = _authenticate(request)
    if principal.read_only and changes_state(request):
        raise PermissionDeniedError(READ_ONLY_REFUSAL)
    return principal


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


@dataclass(frozen=True)
class RepoPath:
    """The repo named by a URL's /api/{type}s/{namespace}/{name} segments."""

    type: RepoType
    id: str


def repo_path(types: str, namespace: str, name: str) -> RepoPath:
    from modelcommons.server.api.hf.common import repo_type_of

    return RepoPath(repo_type_of(types), f"{namespace}/{name}")


def _read_session() -> Iterator[Session]:
    with read_session() as session:
        yield session


def _write_session() -> Iterator[Session]:
    with write_session() as session:
        yield session


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
BaseUrl = Annotated[str, Depends(base_url)]
RepoInUrl = Annotated[RepoPath, Depends(repo_path)]
# A route's database session. Scope "function": the transaction ends (a write commits) when the
# route returns, before the response is sent, so a client that sees the answer sees the write,
# and a streamed body never holds a session. Put it last among a route's parameters, after the
# body, so a slow client's upload is read before the write lock is taken.
ReadSession = Annotated[Session, Depends(_read_session, scope="function")]
WriteSession = Annotated[Session, Depends(_write_session, scope="function")]
# Sizes are capped as the body arrives (server/limits.py); depth and encoding once parsed.
JsonBody = Annotated[dict[str, Any], Body(), AfterValidator(check_json)]
OptionalJsonBody = Annotated[dict[str, Any] | None, Body(), AfterValidator(check_json)]
