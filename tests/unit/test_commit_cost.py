"""A commit's database work does not grow with its operations: LFS objects are looked up a
few hundred at a time, and the tree is checked in memory (bench/commits.py times it)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from modelcommons.db.engine import get_engine, write_session
from modelcommons.db.migrate import upgrade
from modelcommons.db.models import Account, StoredObject
from modelcommons.errors import PayloadTooLargeError
from modelcommons.hub import commits, lifecycle
from modelcommons.hub.accounts import Principal


@pytest.fixture(scope="module")
def principal() -> Principal:
    upgrade(get_engine())  # the test home's SQLite database, as `commons serve` makes it
    with write_session() as session:
        user = Account(kind="user", name="u" + uuid.uuid4().hex[:10])
        session.add(user)
        session.flush()
    return Principal(user=user, token_role="write")


@contextmanager
def _counted() -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(get_engine(), "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(get_engine(), "before_cursor_execute", count)


def _statements_for(principal: Principal, count: int) -> int:
    repo = lifecycle.create_repo(
        principal, repo_type="model", repo_id=f"{principal.name}/c{count}", private=False
    )
    shas = [hashlib.sha256(f"{uuid.uuid4()}".encode()).hexdigest() for _ in range(count)]
    with write_session() as session:
        session.add_all(StoredObject(sha256=s, size=1, location=f"lfs/{s}") for s in shas)
    operations: list[commits.Operation] = [
        commits.AddLfsFile(f"shards/{i}/model.safetensors", sha, 1) for i, sha in enumerate(shas)
    ]
    operations += [commits.AddFile(f"docs/{i}.md", b"# doc\n") for i in range(count)]
    with _counted() as statements:
        commits.create_commit(
            repo.id,
            branch="main",
            author=str(principal.name),
            summary="many",
            operations=operations,
        )
    return len(statements)


def test_statements_per_commit_do_not_grow_with_operations(principal):
    # Both sizes fit in one IN (...) list; four times the operations, the same queries.
    assert _statements_for(principal, 100) == _statements_for(principal, 400)


def test_the_cap_is_checked_before_any_work(principal, monkeypatch):
    monkeypatch.setenv("COMMONS_MAX_COMMIT_OPERATIONS", "3")
    from modelcommons import config

    config.get_settings.cache_clear()
    try:
        with _counted() as statements, pytest.raises(PayloadTooLargeError) as refused:
            commits.create_commit(
                1,
                branch="main",
                author="x",
                summary="too many",
                operations=[commits.AddFile(f"{i}.txt", b"") for i in range(4)],
            )
        assert "at most 3 operations" in refused.value.message and not statements
    finally:
        monkeypatch.undo()
        config.get_settings.cache_clear()
