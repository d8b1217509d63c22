"""Who a browser is (the session cookie) and CSRF protection for every form.

Each form carries a token that is an HMAC (under the hub's secret key) of the browser's session
cookie, or, before log-in, of a random pre-session cookie. Another site can make the browser
post a form, but cannot read the cookie to compute the token; and because the token is bound
to the session, an attacker who can plant cookies cannot pick a pair that acts as someone else.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request, Response
from starlette.datastructures import FormData

from modelcommons.config import get_settings
from modelcommons.db.engine import read_session
from modelcommons.errors import PermissionDeniedError, UnauthorizedError
from modelcommons.hub.accounts import ANONYMOUS, Principal
from modelcommons.hub.sessions import SESSION_LIFETIME, session_principal

SESSION_COOKIE = "mc_session"
CSRF_COOKIE = "mc_csrf"
CSRF_FIELD = "csrf"


def _secure(request: Request) -> bool:
    public = get_settings().public_url
    return (public or str(request.base_url)).startswith("https://")


def web_principal(request: Request) -> Principal:
    """The logged-in user of this browser, or anonymous; looked up once per request."""
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    principal = ANONYMOUS
    key = request.cookies.get(SESSION_COOKIE)
    if key:
        with read_session() as session:
            principal = session_principal(session, key) or ANONYMOUS
    request.state.principal = principal
    return principal


def require_user(request: Request) -> Principal:
    principal = web_principal(request)
    if principal.user is None:
        raise UnauthorizedError("Log in to do this.")
    return principal


def set_session_cookie(request: Request, response: Response, key: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        key,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        secure=_secure(request),
        samesite="lax",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE)


def _csrf_seed(request: Request) -> str | None:
    """What this browser's form token is bound to: its session, else its pre-session cookie."""
    return request.cookies.get(SESSION_COOKIE) or request.cookies.get(CSRF_COOKIE)


def _sign(seed: str) -> str:
    key = get_settings().secret_key.encode()
    return hmac.new(key, b"csrf\0" + seed.encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> tuple[str, str | None]:
    """This browser's form token, and a new pre-session cookie when the response must set one."""
    cached: tuple[str, str | None] | None = getattr(request.state, "csrf", None)
    if cached is not None:
        return cached
    seed = _csrf_seed(request)
    new = None if seed else secrets.token_urlsafe(32)
    found = (_sign(seed or new or ""), new)
    request.state.csrf = found
    return found


def set_csrf_cookie(request: Request, response: Response, seed: str) -> None:
    response.set_cookie(
        CSRF_COOKIE, seed, httponly=True, secure=_secure(request), samesite="strict"
    )


def check_csrf(request: Request, form: FormData) -> None:
    seed = _csrf_seed(request)
    sent = form.get(CSRF_FIELD)
    if not seed or not isinstance(sent, str) or not hmac.compare_digest(_sign(seed), sent):
        raise PermissionDeniedError(
            "This form expired or came from another site; reload the page and try again."
        )


def client_address(request: Request) -> str:
    """The address rate limits count this client under (a trusted proxy's X-Forwarded-For
    has already replaced the peer's address, see COMMONS_TRUSTED_PROXIES)."""
    return request.client.host if request.client else "unknown"


WebPrincipal = Annotated[Principal, Depends(web_principal)]
SignedIn = Annotated[Principal, Depends(require_user)]
