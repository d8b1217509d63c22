"""Accounts in the browser: sign up, log in, log out, and tokens for the clients."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from modelcommons.config import get_settings
from modelcommons.db.engine import Session
from modelcommons.errors import CommonsError, InvalidInputError
from modelcommons.hub import accounts, sessions
from modelcommons.hub.accounts import Principal
from modelcommons.server.deps import ReadSession, WriteSession
from modelcommons.web import auth
from modelcommons.web.auth import SignedIn
from modelcommons.web.browse import account_page
from modelcommons.web.forms import SubmittedForm, read_form, text
from modelcommons.web.rendering import form_page, render

router = APIRouter(include_in_schema=False)


def _next(value: str) -> str:
    """Where to go after logging in: only a path on this hub (no open redirect). Browsers read
    a backslash as a slash and drop tabs and newlines, so `/\\evil` or `/<tab>/evil` would
    leave the hub as surely as `//evil`; anything but a plain same-site path goes home."""
    parts = urlsplit(value)
    plain = value.isprintable() and "\\" not in value and not value.startswith("//")
    if not plain or not value.startswith("/") or parts.scheme or parts.netloc:
        return "/"
    return value


def _logged_in(request: Request, key: str, target: str) -> Response:
    response = RedirectResponse(_next(target), status_code=303)
    auth.set_session_cookie(request, response, key)
    return response


def _refused(
    request: Request, name: str, context: dict[str, Any], error: CommonsError
) -> HTMLResponse:
    """The form again with the reason; a 429 also says in Retry-After when to come back."""
    response = form_page(request, name, context, error)
    retry_after = error.extra.get("retry_after")
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    context = {"next": _next(request.query_params.get("next", "/")), "values": {}}
    return render(request, "login.html", context)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await read_form(request)
    name, target = text(form, "username"), _next(text(form, "next", "/"))
    address = auth.client_address(request)

    try:
        key = await run_in_threadpool(
            sessions.log_in, name, text(form, "password"), address=address
        )
    except CommonsError as exc:
        context = {"next": target, "values": {"username": name}}
        return _refused(request, "login.html", context, exc)
    return _logged_in(request, key, target)


@router.get("/signup", response_class=HTMLResponse)
def signup_form(request: Request) -> HTMLResponse:
    context: dict[str, Any] = {"policy": get_settings().signup, "values": {}}
    return render(request, "signup.html", context)


@router.post("/signup")
async def signup(request: Request) -> Response:
    form = await read_form(request)
    values = {k: text(form, k) for k in ("username", "email", "invite")}
    policy = get_settings().signup
    address = auth.client_address(request)

    def create() -> str:
        user = sessions.sign_up(
            name=values["username"],
            password=text(form, "password"),
            email=values["email"],
            policy=policy,
            address=address,
            invite_code=values["invite"],
        )
        return sessions.log_in_new_user(user)

    try:
        key = await run_in_threadpool(create)
    except CommonsError as exc:
        return _refused(request, "signup.html", {"policy": policy, "values": values}, exc)
    return _logged_in(request, key, "/" + values["username"])


@router.post("/logout")
def logout(request: Request, _form: SubmittedForm, session: WriteSession) -> Response:
    key = request.cookies.get(auth.SESSION_COOKIE)
    if key:
        sessions.end_session(session, key)
    response = RedirectResponse("/", status_code=303)
    auth.clear_session_cookie(response)
    return response


def _password_page(
    request: Request, *, changed: bool = False, error: CommonsError | None = None
) -> HTMLResponse:
    if error is not None:
        return _refused(request, "password.html", {"changed": False}, error)
    return render(request, "password.html", {"changed": changed})


@router.get("/settings/password", response_class=HTMLResponse)
def password_form(request: Request, principal: SignedIn) -> HTMLResponse:
    return _password_page(request)


@router.post("/settings/password", response_class=HTMLResponse)
async def change_password(request: Request, principal: SignedIn) -> HTMLResponse:
    """A new password, given the current one; the user's other sessions end, this one stays."""
    form = await read_form(request)
    assert principal.user is not None
    name, new = principal.user.name, text(form, "new")
    address, keep = auth.client_address(request), request.cookies.get(auth.SESSION_COOKIE)

    def change() -> None:
        if new != text(form, "confirm"):
            raise InvalidInputError("The new password and its repetition differ.")
        sessions.change_password(
            name, text(form, "current"), new, address=address, keep_session=keep
        )

    try:
        await run_in_threadpool(change)
    except CommonsError as exc:
        return _password_page(request, error=exc)
    return _password_page(request, changed=True)


def _tokens_page(
    request: Request,
    principal: Principal,
    session: Session,
    *,
    created: str | None = None,
    error: CommonsError | None = None,
) -> HTMLResponse:
    assert principal.user is not None
    tokens = accounts.list_tokens(session, principal.user)
    response = form_page(request, "tokens.html", {"tokens": tokens, "created": created}, error)
    response.headers["Cache-Control"] = "no-store"  # it may show a new token's secret
    return response


@router.get("/settings/tokens", response_class=HTMLResponse)
def tokens(request: Request, principal: SignedIn, session: ReadSession) -> HTMLResponse:
    return _tokens_page(request, principal, session)


@router.post("/settings/tokens", response_class=HTMLResponse)
def create_token(
    request: Request, principal: SignedIn, form: SubmittedForm, session: WriteSession
) -> HTMLResponse:
    """The new secret is shown on this response only; it is never stored or shown again."""
    assert principal.user is not None
    try:
        name = text(form, "name") or "unnamed"
        scope = accounts.parse_scope(text(form, "role"))
        secret = accounts.create_token(session, principal.user.name, name=name, role=scope)[1]
    except CommonsError as exc:
        session.rollback()  # a refused form keeps nothing
        return _tokens_page(request, principal, session, error=exc)
    return _tokens_page(request, principal, session, created=secret)


@router.post("/settings/tokens/{token_id}/delete")
def revoke_token(
    principal: SignedIn, token_id: int, _form: SubmittedForm, session: WriteSession
) -> Response:
    assert principal.user is not None
    accounts.revoke_token(session, principal.user, token_id)
    return RedirectResponse("/settings/tokens", status_code=303)


def _new_org_page(
    request: Request, values: dict[str, str], error: CommonsError | None = None
) -> HTMLResponse:
    return form_page(request, "new_org.html", {"values": values}, error)


@router.get("/organizations/new", response_class=HTMLResponse)
def new_org_form(request: Request, principal: SignedIn) -> HTMLResponse:
    return _new_org_page(request, {})


@router.post("/organizations/new")
def create_org(
    request: Request, principal: SignedIn, form: SubmittedForm, session: WriteSession
) -> Response:
    values = {k: text(form, k) for k in ("name", "fullname")}
    assert principal.user is not None
    owner = principal.user.name
    try:
        accounts.create_org(session, values["name"], owner=owner, fullname=values["fullname"])
    except CommonsError as exc:
        session.rollback()  # a refused form keeps nothing
        return _new_org_page(request, values, exc)
    return RedirectResponse(f"/{values['name']}", status_code=303)


@router.post("/organizations/{org}/members")
def set_member(
    request: Request, principal: SignedIn, org: str, form: SubmittedForm, session: WriteSession
) -> Response:
    """Add a member or change a member's role (org admins only)."""
    user, role, action = text(form, "user"), text(form, "role"), text(form, "action")
    try:
        accounts.authorize_org_admin(principal, org)
        if action == "remove":
            accounts.remove_member(session, org, user)
        else:
            accounts.set_member(session, org, user, role=accounts.parse_role(role))
    except CommonsError as exc:
        session.rollback()  # a refused form keeps nothing
        return account_page(request, principal, org, session, error=exc)
    return RedirectResponse(f"/{org}", status_code=303)
