"""Passwords, sessions and invite codes, on the test home's SQLite database."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from modelcommons.db.engine import get_engine, read_session, write_session
from modelcommons.db.migrate import upgrade
from modelcommons.db.models import Invite, WebSession, utcnow
from modelcommons.errors import InvalidInputError, PermissionDeniedError, UnauthorizedError
from modelcommons.hub import sessions


@pytest.fixture(scope="module", autouse=True)
def database() -> None:
    upgrade(get_engine())


def _name() -> str:
    return "s" + uuid.uuid4().hex[:10]


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
    with write_session() as session, pytest.raises(InvalidInputError, match="8 characters"):
        sessions.sign_up(session, name=_name(), password="short", email=None, policy="open")


def test_invite_only_sign_up_spends_the_code_once():
    with write_session() as session:
        code = sessions.create_invite(session, None)
    with write_session() as session, pytest.raises(PermissionDeniedError, match="invite-only"):
        sessions.sign_up(session, name=_name(), password="long enough", email=None, policy="invite")
    with write_session() as session:
        user = sessions.sign_up(
            session,
            name=_name(),
            password="long enough",
            email=None,
            policy="invite",
            invite_code=code,
        )
        assert user.id
    with write_session() as session, pytest.raises(PermissionDeniedError):
        sessions.sign_up(
            session,
            name=_name(),
            password="long enough",
            email=None,
            policy="invite",
            invite_code=code,
        )


def test_expired_invites_and_sessions_do_not_count():
    with write_session() as session:
        code = sessions.create_invite(session, None)
        for invite in session.query(Invite).all():
            invite.expires_at = utcnow() - timedelta(seconds=1)
    with write_session() as session, pytest.raises(PermissionDeniedError):
        sessions.sign_up(
            session,
            name=_name(),
            password="long enough",
            email=None,
            policy="invite",
            invite_code=code,
        )
    with write_session() as session:
        user = sessions.sign_up(
            session, name=_name(), password="long enough", email=None, policy="open"
        )
        key = sessions.start_session(session, user)
        for row in session.query(WebSession).filter_by(user_id=user.id):
            row.expires_at = utcnow() - timedelta(seconds=1)
    with read_session() as session:
        assert sessions.session_principal(session, key) is None
