"""Who a browser is (the session cookie) and CSRF protection for every form.

CSRF uses a double-submit token: a random value in a SameSite=Strict cookie that each form
repeats in a hidden field. Another site can make the browser post a form, but cannot read
the cookie to put its value in the form.
"""

from __future__ import annotations

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


def csrf_token(request: Request) -> tuple[str, bool]:
    """This browser's CSRF token, and whether it is new (then the response must set it)."""
    token = getattr(request.state, "csrf", None) or request.cookies.get(CSRF_COOKIE)
    if token:
        request.state.csrf = token
        return token, False
    request.state.csrf = secrets.token_urlsafe(32)
    return request.state.csrf, True


def set_csrf_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        CSRF_COOKIE, token, httponly=True, secure=_secure(request), samesite="strict"
    )


def check_csrf(request: Request, form: FormData) -> None:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = form.get(CSRF_FIELD)
    if not cookie or not isinstance(sent, str) or not secrets.compare_digest(cookie, sent):
        raise PermissionDeniedError(
            "This form expired or came from another site; reload the page and try again."
        )


WebPrincipal = Annotated[Principal, Depends(web_principal)]
SignedIn = Annotated[Principal, Depends(require_user)]
