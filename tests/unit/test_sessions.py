"""Passwords, sessions and invite codes, on the test home's SQLite database."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from modelcommons.db.engine import get_engine, read_session, write_session
from modelcommons.db.migrate import upgrade
from modelcommons.db.models import Invite, WebSession, utcnow
from modelcommons.errors import (
    InvalidInputError,
    PermissionDeniedError,
    TooManyRequestsError,
    UnauthorizedError,
)
from modelcommons.hub import sessions


@pytest.fixture(scope="module", autouse=True)
def database() -> None:
    upgrade(get_engine())


def _name() -> str:
    return "s" + uuid.uuid4().hex[:10]


def _sign_up(policy: str = "open", code: str | None = None, password: str = "long enough"):  # type: ignore[no-untyped-def]
    with write_session() as session:
        return sessions.sign_up(
            session, name=_name(), password=password, email=None, policy=policy, invite_code=code
        )


def _new_invite(*, expired: bool = False) -> str:
    with write_session() as session:
        code = sessions.create_invite(session, None)
        if expired:
            for invite in session.query(Invite).filter(Invite.used_by.is_(None)):
                invite.expires_at = utcnow() - timedelta(seconds=1)
        return code


def test_sign_up_then_log_in_with_the_password_only():
    name = _name()
    with write_session() as session:
        sessions.sign_up(session, name=name, password="long enough", email=None, policy="open")
    with write_session() as session:
        user = sessions.verify_password(session, name, "long enough")
        key = sessions.start_session(session, user)
    with read_session() as session:
        principal = sessions.session_principal(session, key)
        assert principal is not None and principal.name == name and principal.can_write
        assert session.get(WebSession, key) is None  # only the hash is stored
    for wrong in (("nobody-" + name, "long enough"), (name, "not the password")):
        with write_session() as session, pytest.raises(UnauthorizedError, match="Wrong user"):
            sessions.verify_password(session, *wrong)
    with write_session() as session:
        sessions.end_session(session, key)
    with read_session() as session:
        assert sessions.session_principal(session, key) is None


def test_short_passwords_are_refused():
    with pytest.raises(InvalidInputError, match="8 characters"):
        _sign_up(password="short")


def test_invite_only_sign_up_spends_the_code_once():
    code = _new_invite()
    with pytest.raises(PermissionDeniedError, match="invite-only"):
        _sign_up("invite")
    assert _sign_up("invite", code).id
    with pytest.raises(PermissionDeniedError):
        _sign_up("invite", code)


def test_expired_invites_and_sessions_do_not_count():
    with pytest.raises(PermissionDeniedError):
        _sign_up("invite", _new_invite(expired=True))
    user = _sign_up()
    with write_session() as session:
        key = sessions.start_session(session, user)
        for row in session.query(WebSession).filter_by(user_id=user.id):
            row.expires_at = utcnow() - timedelta(seconds=1)
    with read_session() as session:
        assert sessions.session_principal(session, key) is None


def test_password_guessing_is_slowed_down_per_name():
    user = _sign_up()
    for _ in range(sessions.LOGIN_FAILURES):
        with pytest.raises(UnauthorizedError):
            sessions.log_in(user.name, "wrong guess")
    with pytest.raises(TooManyRequestsError, match="Too many failed logins"):
        sessions.log_in(user.name, "long enough")  # even the right password waits
    other = _sign_up()
    assert sessions.log_in(other.name, "long enough")  # other names are not affected


def test_a_successful_login_clears_the_failures():
    user = _sign_up()
    for _ in range(sessions.LOGIN_FAILURES - 1):
        with pytest.raises(UnauthorizedError):
            sessions.log_in(user.name, "wrong guess")
    assert sessions.log_in(user.name, "long enough")
    with pytest.raises(UnauthorizedError):
        sessions.log_in(user.name, "wrong guess")
    assert sessions.log_in(user.name, "long enough")
