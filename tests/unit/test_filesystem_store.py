import os
import time

from modelcommons.storage.base import STALE_STAGING_SECONDS
from modelcommons.storage.filesystem import FileSystemStore


def test_put_and_ranges(tmp_path):
    store = FileSystemStore(tmp_path)
    store.put_bytes("a/b", b"0123456789")
    assert store.exists("a/b") and not store.exists("a/c")
    assert b"".join(store.iter_range("a/b", 2, 5)) == b"234"
    assert b"".join(store.iter_range("a/b")) == b"0123456789"
    store.delete("a/b")
    assert not store.exists("a/b")


def test_leftovers_of_interrupted_uploads_are_swept(tmp_path):
    store = FileSystemStore(tmp_path)
    old, fresh = store.staging_dir() / "old", store.staging_dir() / "fresh"
    old.write_bytes(b"half an upload")
    fresh.write_bytes(b"an upload in progress")
    past = time.time() - STALE_STAGING_SECONDS - 60
    os.utime(old, (past, past))
    FileSystemStore(tmp_path)
    assert not old.exists() and fresh.exists()
