"""Passwords, sessions and invite codes, on the test home's SQLite database."""

from __future__ import annotations

import secrets
import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from modelcommons.config import SignupPolicy, get_settings
from modelcommons.db.engine import get_engine, read_session, write_session
from modelcommons.db.migrate import upgrade
from modelcommons.db.models import Invite, WebSession, utcnow
from modelcommons.errors import (
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    TooManyRequestsError,
    UnauthorizedError,
)
from modelcommons.hub import ratelimit, sessions
from modelcommons.hub.accounts import dummy_password_hash, hash_password


@pytest.fixture(scope="module", autouse=True)
def database() -> None:
    upgrade(get_engine())


def _name() -> str:
    return "s" + uuid.uuid4().hex[:10]


def _address() -> str:
    """An address of its own for each test, so that one test's counts spare the others."""
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(256)}"


def _sign_up(policy: SignupPolicy = "open", code: str | None = None, password: str = "long enough"):
    return sessions.sign_up(
        name=_name(),
        password=password,
        email=None,
        policy=policy,
        address=_address(),
        invite_code=code,
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
    sessions.sign_up(
        name=name, password="long enough", email=None, policy="open", address=_address()
    )
    user = sessions.verify_password(name, "long enough")
    with write_session() as session:
        key = sessions.start_session(session, user)
    with read_session() as session:
        principal = sessions.session_principal(session, key)
        assert principal is not None and principal.name == name and principal.can_write
        assert session.get(WebSession, key) is None  # only the hash is stored
    for wrong in (("nobody-" + name, "long enough"), (name, "not the password")):
        with pytest.raises(UnauthorizedError, match="Wrong user"):
            sessions.verify_password(*wrong)
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
    user, here = _sign_up(), _address()
    for _ in range(get_settings().login_limit_per_name):
        with pytest.raises(UnauthorizedError):
            sessions.log_in(user.name, "wrong guess", address=here)
    with pytest.raises(TooManyRequestsError, match="Too many failed logins"):
        sessions.log_in(user.name, "long enough", address=here)  # even the right password waits
    other = _sign_up()
    assert sessions.log_in(other.name, "long enough", address=here)  # other names are not affected


def test_a_successful_login_clears_the_failures():
    user, here = _sign_up(), _address()
    for _ in range(get_settings().login_limit_per_name - 1):
        with pytest.raises(UnauthorizedError):
            sessions.log_in(user.name, "wrong guess", address=here)
    assert sessions.log_in(user.name, "long enough", address=here)
    with pytest.raises(UnauthorizedError):
        sessions.log_in(user.name, "wrong guess", address=here)
    assert sessions.log_in(user.name, "long enough", address=here)


def _probe_write_lock() -> bool:
    """Whether another connection could take SQLite's write lock right now, without waiting."""
    path = get_settings().database_url.split("///", 1)[1]
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


def test_passwords_are_hashed_outside_every_transaction(monkeypatch: pytest.MonkeyPatch):
    if not get_settings().database_url.startswith("sqlite"):
        pytest.skip("probes SQLite's write lock")
    seen: list[tuple[str, int, bool]] = []

    def watched(method: str):
        real = getattr(PasswordHasher, method)

        def spy(self, *args):
            seen.append((method, get_engine().pool.checkedout(), _probe_write_lock()))  # type: ignore[attr-defined]
            return real(self, *args)

        return spy

    dummy_password_hash()  # made once per process; not part of what is watched
    monkeypatch.setattr(PasswordHasher, "hash", watched("hash"))
    monkeypatch.setattr(PasswordHasher, "verify", watched("verify"))
    here = _address()
    user = sessions.sign_up(
        name=_name(), password="long enough", email=None, policy="open", address=here
    )
    assert sessions.log_in(user.name, "long enough", address=here)
    for name in (user.name, "nobody-" + _name()):  # a known and an unknown name
        with pytest.raises(UnauthorizedError):
            sessions.log_in(name, "wrong guess", address=here)
    sessions.change_password(
        user.name, "long enough", "longer still", address=here, keep_session=None
    )
    assert [m for m, _, _ in seen] == ["hash", "verify", "verify", "verify", "verify", "hash"]
    assert all(connections == 0 and free for _, connections, free in seen), seen


def test_parallel_attempts_never_pass_the_limit():
    key, limit = "test:" + _name(), 10
    refused: list[TooManyRequestsError] = []

    def attempt() -> None:
        try:
            with write_session() as session:
                ratelimit.take(session, key, limit=limit, window=timedelta(minutes=5), what="x")
        except TooManyRequestsError as exc:
            refused.append(exc)

    with ThreadPoolExecutor(max_workers=30) as pool:
        for _ in range(30):
            pool.submit(attempt)
    assert len(refused) == 30 - limit
    assert all(0 < int(str(exc.extra["retry_after"])) <= 300 for exc in refused)
    assert "try again in 5 minutes" in refused[0].message


def test_a_password_change_ends_the_other_sessions_only():
    user, here = _sign_up(), _address()
    keep, other = (sessions.log_in(user.name, "long enough", address=here) for _ in range(2))
    with pytest.raises(UnauthorizedError, match="current password is not right"):
        sessions.change_password(
            user.name, "wrong guess", "longer still", address=here, keep_session=keep
        )
    with pytest.raises(InvalidInputError, match="8 characters"):
        sessions.change_password(user.name, "long enough", "short", address=here, keep_session=keep)
    sessions.change_password(
        user.name, "long enough", "longer still", address=here, keep_session=keep
    )
    with read_session() as session:
        assert sessions.session_principal(session, keep) is not None
        assert sessions.session_principal(session, other) is None
    with pytest.raises(UnauthorizedError):
        sessions.log_in(user.name, "long enough", address=here)
    assert sessions.log_in(user.name, "longer still", address=here)


def test_an_admin_reset_logs_the_user_out_everywhere():
    user = _sign_up()
    key = sessions.log_in(user.name, "long enough", address=_address())
    with write_session() as session:
        sessions.set_password(session, user.name, hash_password("reset by admin"))
    with read_session() as session:
        assert sessions.session_principal(session, key) is None
    assert sessions.verify_password(user.name, "reset by admin").id == user.id
    with write_session() as session, pytest.raises(NotFoundError):
        sessions.set_password(session, "nobody-" + _name(), hash_password("whatever it is"))


def test_addresses_count_in_buckets():
    assert ratelimit.address_key("192.0.2.7") == "192.0.2.7"
    assert ratelimit.address_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert ratelimit.address_key("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert ratelimit.address_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert ratelimit.address_key(None) == "unknown"
