"""Browser sign-up, log-in and sessions, password changes, and invite codes for invite-only
hubs.

Session cookies and invite codes are random secrets of which only the sha256 is stored, like
tokens. A session acts with a write token's rights: the person is there, clicking.

Passwords are hashed (argon2, slow on purpose) outside every database transaction, so that a
flood of log-ins costs CPU but never holds the write lock that commits wait for. Each attempt
is counted before its hash, per client address and per (name, address): one address cannot
guess much, yet nobody can lock an account for its owner elsewhere.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from modelcommons.config import SignupPolicy, get_settings
from modelcommons.db.engine import read_session, write_session
from modelcommons.db.models import Account, Invite, WebSession, utcnow
from modelcommons.errors import (
    InvalidInputError,
    PermissionDeniedError,
    UnauthorizedError,
)
from modelcommons.hub import ratelimit
from modelcommons.hub.accounts import (
    PASSWORDS,
    Principal,
    create_user,
    dummy_password_hash,
    get_account,
    hash_password,
    org_roles,
    validate_password,
)
from modelcommons.hub.names import validate_name, validate_namespace

SESSION_LIFETIME = timedelta(days=30)
INVITE_LIFETIME = timedelta(days=14)
WRONG_PASSWORD = "Wrong user name or password."


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _login_window() -> timedelta:
    return timedelta(seconds=get_settings().login_window_seconds)


def _existing(name: str) -> bool:
    """Whether the name could be an account's; others are never looked up (a NUL byte, say,
    which PostgreSQL refuses in text) and are keyed by a digest."""
    try:
        validate_name(name)
    except InvalidInputError:
        return False
    return True


def _login_keys(name: str, address: str) -> tuple[str, str]:
    bucket = ratelimit.address_key(address)
    who = name.lower() if _existing(name) else "#" + _digest(name)[:32]
    return "login-from:" + bucket, f"login:{who}@{bucket}"


def _count_login_attempt(name: str, address: str) -> None:
    """Count the attempt before any hash is spent on it; refuse it past either limit."""
    settings, window = get_settings(), _login_window()
    by_address, by_name = _login_keys(name, address)
    with write_session() as session:
        ratelimit.take(
            session,
            by_address,
            limit=settings.login_limit_per_address,
            window=window,
            what="failed logins from your address",
        )
        ratelimit.take(
            session,
            by_name,
            limit=settings.login_limit_per_name,
            window=window,
            what="failed logins for this name from your address",
        )


def _forgive_login(session: Session, name: str, address: str) -> None:
    """A right password: this attempt was no guess, and this name's failures are forgotten."""
    by_address, by_name = _login_keys(name, address)
    ratelimit.refund(session, by_address, window=_login_window())
    ratelimit.forget(session, by_name)


def verify_password(name: str, password: str) -> Account:
    """The user if the password is theirs; one message for every failure, to leak nothing.
    The hash is checked outside any transaction, an unknown name against a dummy hash."""
    user = None
    if _existing(name):
        with read_session() as session:
            query = select(Account).where(Account.name == name, Account.kind == "user")
            user = session.scalar(query)
    stored = user.password_hash if user is not None else None
    try:
        PASSWORDS.verify(stored or dummy_password_hash(), password)
    except (VerificationError, InvalidHashError):
        # from None: one answer whatever failed (wrong password, unknown name, bad hash)
        raise UnauthorizedError(WRONG_PASSWORD) from None
    if user is None or not stored:  # only if someone guessed the dummy's random secret
        raise UnauthorizedError(WRONG_PASSWORD)
    return user


def _current(session: Session, verified: Account) -> Account:
    """The verified user as the database has it now, refused if the password changed meanwhile."""
    user = session.get(Account, verified.id, populate_existing=True)
    if user is None or user.password_hash != verified.password_hash:
        raise UnauthorizedError(WRONG_PASSWORD)
    return user


def log_in(name: str, password: str, *, address: str) -> str:
    """A new session's cookie value for the right password, from a client at `address`."""
    _count_login_attempt(name, address)
    verified = verify_password(name, password)
    assert verified.password_hash is not None
    rehashed = None
    if PASSWORDS.check_needs_rehash(verified.password_hash):
        rehashed = PASSWORDS.hash(password)
    with write_session() as session:
        user = _current(session, verified)
        if rehashed:
            user.password_hash = rehashed
        _forgive_login(session, name, address)
        return start_session(session, user)


def change_password(
    name: str, current: str, new: str, *, address: str, keep_session: str | None
) -> None:
    """A user's own password change: the current password is checked (and counted like a
    log-in), and every other session of the user ends."""
    validate_password(new)
    _count_login_attempt(name, address)
    try:
        verified = verify_password(name, current)
    except UnauthorizedError:
        # from None: one answer whatever failed, as for a log-in (see verify_password)
        raise UnauthorizedError("The current password is not right.") from None
    new_hash = hash_password(new)
    with write_session() as session:
        _forgive_login(session, name, address)
        _replace_password(session, _current(session, verified), new_hash, keep_session)


def set_password(session: Session, name: str, password_hash: str) -> None:
    """An administrator's reset: the user gets a new password and is logged out everywhere."""
    _replace_password(session, get_account(session, name, kind="user"), password_hash, None)


def _replace_password(
    session: Session, user: Account, password_hash: str, keep_session: str | None
) -> None:
    user.password_hash = password_hash
    others = delete(WebSession).where(WebSession.user_id == user.id)
    if keep_session:
        others = others.where(WebSession.key_hash != _digest(keep_session))
    session.execute(others)


def start_session(session: Session, user: Account) -> str:
    """A new session for the user; returns the cookie value (shown to the browser only)."""
    key = secrets.token_urlsafe(32)
    session.add(
        WebSession(key_hash=_digest(key), user_id=user.id, expires_at=utcnow() + SESSION_LIFETIME)
    )
    return key


def log_in_new_user(user: Account) -> str:
    """A first session for a user `sign_up` just created, in a transaction of its own (sign-up
    hashes the password outside every transaction, so it cannot share one)."""
    with write_session() as session:
        return start_session(session, user)


def end_session(session: Session, key: str) -> None:
    session.execute(delete(WebSession).where(WebSession.key_hash == _digest(key)))


def session_principal(session: Session, key: str) -> Principal | None:
    row = session.get(WebSession, _digest(key))
    if row is None or row.expires_at < utcnow():
        return None
    user = session.get(Account, row.user_id)
    if user is None:
        return None
    return Principal(
        user=user, token_role="write", token_name="browser", org_roles=org_roles(session, user)
    )


def create_invite(session: Session, creator: Account | None) -> str:
    """A one-time sign-up code, valid for INVITE_LIFETIME."""
    code = secrets.token_urlsafe(12)
    session.add(
        Invite(
            code_hash=_digest(code),
            created_by=creator.id if creator else None,
            expires_at=utcnow() + INVITE_LIFETIME,
        )
    )
    return code


def _usable_invite(session: Session, policy: SignupPolicy, code: str | None) -> Invite | None:
    """The invite a sign-up spends, when the hub requires one."""
    if policy != "invite":
        return None
    invite = session.get(Invite, _digest(code or ""))
    if invite is None or invite.used_by is not None or invite.expires_at < utcnow():
        raise PermissionDeniedError(
            "This hub is invite-only: ask an administrator for a valid invite code."
        )
    return invite


def sign_up(
    *,
    name: str,
    password: str,
    email: str | None,
    policy: SignupPolicy,
    address: str,
    invite_code: str | None = None,
) -> Account:
    """Create a user from the sign-up form, spending an invite when the hub requires one.
    Attempts are limited per client address; the password is hashed outside transactions."""
    settings = get_settings()
    with write_session() as session:
        ratelimit.take(
            session,
            "signup-from:" + ratelimit.address_key(address),
            limit=settings.signup_limit_per_address,
            window=timedelta(seconds=settings.signup_window_seconds),
            what="sign-ups from your address",
        )
    with read_session() as session:
        _usable_invite(session, policy, invite_code)
    validate_namespace(name)
    if not password:
        raise InvalidInputError("Choose a password.")
    password_hash = hash_password(password)
    with write_session() as session:
        invite = _usable_invite(session, policy, invite_code)
        user = create_user(session, name, password_hash=password_hash, email=email or None)
        if invite is not None:
            invite.used_by = user.id
    return user
