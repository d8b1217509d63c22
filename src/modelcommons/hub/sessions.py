"""Browser sign-up, log-in and sessions, and invite codes for invite-only hubs.

Session cookies and invite codes are random secrets of which only the sha256 is stored, like
tokens. A session acts with a write token's rights: the person is there, clicking.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from modelcommons.db.engine import write_session
from modelcommons.db.models import Account, Invite, WebSession, utcnow
from modelcommons.errors import InvalidInputError, PermissionDeniedError, UnauthorizedError
from modelcommons.hub import ratelimit
from modelcommons.hub.accounts import PASSWORDS, Principal, create_user, org_roles

SESSION_LIFETIME = timedelta(days=30)
INVITE_LIFETIME = timedelta(days=14)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


LOGIN_FAILURES = 10  # per user name and window: then logging in as that name waits
LOGIN_WINDOW = timedelta(minutes=15)


def log_in(name: str, password: str) -> str:
    """A new session's cookie value for the right password. Failures are counted per name in
    the database (every server process sees them), so guessing a password is slow."""
    key = "login:" + name.lower()
    with write_session() as session:
        ratelimit.check(
            session, key, limit=LOGIN_FAILURES, window=LOGIN_WINDOW, what="failed logins"
        )
    try:
        with write_session() as session:
            user = verify_password(session, name, password)
            ratelimit.forget(session, key)
            return start_session(session, user)
    except UnauthorizedError:
        with write_session() as session:
            ratelimit.count(session, key, window=LOGIN_WINDOW)
        raise


def verify_password(session: Session, name: str, password: str) -> Account:
    """The user if the password is theirs; one message for every failure, to leak nothing."""
    user = session.scalar(select(Account).where(Account.name == name, Account.kind == "user"))
    failure = UnauthorizedError("Wrong user name or password.")
    if user is None or not user.password_hash:
        PASSWORDS.hash(password)  # spend the same time as a real check
        raise failure
    try:
        PASSWORDS.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise failure from None
    if PASSWORDS.check_needs_rehash(user.password_hash):
        user.password_hash = PASSWORDS.hash(password)
    return user


def start_session(session: Session, user: Account) -> str:
    """A new session for the user; returns the cookie value (shown to the browser only)."""
    key = secrets.token_urlsafe(32)
    session.add(
        WebSession(key_hash=_digest(key), user_id=user.id, expires_at=utcnow() + SESSION_LIFETIME)
    )
    return key


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


def sign_up(
    session: Session,
    *,
    name: str,
    password: str,
    email: str | None,
    policy: str,
    invite_code: str | None = None,
) -> Account:
    """Create a user from the sign-up form, spending an invite when the hub requires one."""
    invite = None
    if policy == "invite":
        invite = session.get(Invite, _digest(invite_code or ""))
        if invite is None or invite.used_by is not None or invite.expires_at < utcnow():
            raise PermissionDeniedError(
                "This hub is invite-only: ask an administrator for a valid invite code."
            )
    if not password:
        raise InvalidInputError("Choose a password.")
    user = create_user(session, name, password=password, email=email or None)
    if invite is not None:
        invite.used_by = user.id
    return user
