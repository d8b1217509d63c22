"""An upload lets its uploader, and only them, commit the object to that repo, for a while;
reading a repo that holds an object lets anyone who can read it name the object."""

from __future__ import annotations

import hashlib
import os
import uuid

import pytest

from modelcommons import config
from modelcommons.db.engine import get_engine, read_session, write_session
from modelcommons.db.migrate import upgrade
from modelcommons.db.models import Account, StoredObject
from modelcommons.hub import commits, lfs, lifecycle
from modelcommons.hub.accounts import Principal


def _principal() -> Principal:
    with write_session() as session:
        user = Account(kind="user", name="u" + uuid.uuid4().hex[:10])
        session.add(user)
        session.flush()
    return Principal(user=user, token_role="write")


@pytest.fixture(scope="module", autouse=True)
def database() -> None:
    upgrade(get_engine())  # the test home's SQLite database, as `commons serve` makes it


def _usable(principal: Principal, repo_id: int, sha: str) -> bool:
    with read_session() as session:
        return sha in lfs.usable_objects(session, principal, repo_id, [sha])


def test_grants_are_per_user_and_repo_and_expire(monkeypatch):
    alice, bob = _principal(), _principal()
    assert alice.user is not None and bob.user is not None
    mine = lifecycle.create_repo(alice, repo_type="model", repo_id=f"{alice.name}/a", private=True)
    other = lifecycle.create_repo(alice, repo_type="model", repo_id=f"{alice.name}/b", private=True)
    sha = hashlib.sha256(os.urandom(16)).hexdigest()
    with write_session() as session:
        session.add(StoredObject(sha256=sha, size=1, location=f"lfs/{sha}"))
        lfs.record_uploads(session, lfs.Uploader(alice.user.id, mine.id), [sha, sha])
    with write_session() as session:  # recording again only refreshes the grant
        lfs.record_uploads(session, lfs.Uploader(alice.user.id, mine.id), [sha])

    assert _usable(alice, mine.id, sha)
    assert not _usable(alice, other.id, sha)  # uploaded to another repo, and committed nowhere
    assert not _usable(bob, mine.id, sha)

    monkeypatch.setenv("COMMONS_UPLOAD_GRANT_SECONDS", "-1")
    config.get_settings.cache_clear()
    try:
        assert not _usable(alice, mine.id, sha)
    finally:
        monkeypatch.undo()
        config.get_settings.cache_clear()


def test_a_committed_object_is_usable_by_its_readers():
    alice, bob = _principal(), _principal()
    assert alice.user is not None
    public = lifecycle.create_repo(
        alice, repo_type="model", repo_id=f"{alice.name}/p", private=False
    )
    secret = lifecycle.create_repo(
        alice, repo_type="model", repo_id=f"{alice.name}/s", private=True
    )
    shas = [hashlib.sha256(os.urandom(16)).hexdigest() for _ in range(2)]
    with write_session() as session:
        session.add_all(StoredObject(sha256=s, size=1, location=f"lfs/{s}") for s in shas)
    for repo, sha in zip((public, secret), shas, strict=True):
        commits.create_commit(
            repo.id,
            branch="main",
            author=str(alice.name),
            summary="weights",
            operations=[commits.AddLfsFile("w.bin", sha, 1)],
        )
    assert _usable(bob, 0, shas[0]) and not _usable(bob, 0, shas[1])
    assert _usable(alice, 0, shas[1])
    with read_session() as session:
        assert lfs.held_by_repo(session, public.id, shas) == {shas[0]}
