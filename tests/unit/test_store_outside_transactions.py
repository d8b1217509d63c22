"""Slow storage I/O runs outside every write transaction: on SQLite a write transaction holds
the whole database's write lock, so publishing a large upload to S3 inside one would stall
every other writer (commits, log-ins, token creation) for as long as the upload takes."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest

from modelcommons.db.engine import get_engine, read_session
from modelcommons.db.migrate import upgrade
from modelcommons.db.models import StoredObject
from modelcommons.hub import lfs
from modelcommons.storage import get_store


@pytest.fixture(scope="module", autouse=True)
def database() -> None:
    upgrade(get_engine())  # the test home's SQLite database, as `commons serve` makes it


def _write_lock_is_free() -> bool:
    """Whether another connection could start a write transaction right now."""
    path = get_engine().url.database
    assert path, "these tests run on the test home's SQLite database"
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc), exc
        return False
    finally:
        other.close()


def test_publishing_an_upload_puts_its_bytes_outside_the_write_lock(monkeypatch):
    if get_engine().dialect.name != "sqlite":
        pytest.skip("the write lock is SQLite's")
    store = get_store()
    seen: list[bool] = []  # per put, whether the write lock was free
    objects: list[str] = []  # the LFS objects put (notes for garbage collection aside)
    put_file = store.put_file

    def slow_put_file(key: str, source: Path) -> None:  # as S3 would be: seconds, not a rename
        seen.append(_write_lock_is_free())
        if key.startswith("lfs/"):
            objects.append(key)
        put_file(key, source)

    monkeypatch.setattr(store, "put_file", slow_put_file)
    data = os.urandom(1000)
    oid = hashlib.sha256(data).hexdigest()
    staged = Path(store.staging_dir()) / f"staged-{oid}"
    staged.write_bytes(data)
    lfs.publish_upload(
        store,
        staged,
        sha256=oid,
        size=len(data),
        oid=oid,
        expected_size=len(data),
        uploader=None,
    )
    # The bytes, and any note for garbage collection, all go in with the write lock free.
    assert seen and all(seen), "the bytes were put while a write transaction held the lock"
    with read_session() as session:
        stored = session.get(StoredObject, oid)
        assert stored is not None and stored.size == len(data)
    assert b"".join(store.iter_range(stored.location)) == data

    again = Path(store.staging_dir()) / f"again-{oid}"  # the same bytes again: kept once
    again.write_bytes(data)
    lfs.publish_upload(
        store,
        again,
        sha256=oid,
        size=len(data),
        oid=oid,
        expected_size=len(data),
        uploader=None,
    )
    assert all(seen) and len(objects) == 1 and not again.exists()
