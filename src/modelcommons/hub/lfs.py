"""Large files: git-LFS pointers and the sha256-addressed objects behind them.

Uploads stream into the store's staging folder while hashing; only bytes whose sha256 and
size match what the client announced are published and recorded in the objects table.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from sqlalchemy.orm import Session

from modelcommons.db.models import StoredObject
from modelcommons.errors import InvalidInputError, PayloadTooLargeError
from modelcommons.storage.base import ContentStore, lfs_key, upload_part_key

SHA256 = re.compile(r"^[0-9a-f]{64}$")
WRITE_BATCH = 8 * 1024 * 1024
POINTER_PREFIX = b"version https://git-lfs.github.com/spec/v1\n"


def validate_oid(oid: str) -> str:
    if not SHA256.match(oid):
        raise InvalidInputError(f"Invalid LFS oid {oid!r}: expected a lowercase sha256 hex digest.")
    return oid


def pointer(sha256: str, size: int) -> bytes:
    return POINTER_PREFIX + f"oid sha256:{sha256}\nsize {size}\n".encode()


def find_object(session: Session, sha256: str) -> StoredObject | None:
    return session.get(StoredObject, sha256)


class _Staged:
    """A staging file that hashes what is written to it and enforces a size bound."""

    def __init__(self, store: ContentStore, max_bytes: int) -> None:
        fd, name = tempfile.mkstemp(dir=store.staging_dir())
        self.path = Path(name)
        self.file = os.fdopen(fd, "wb", buffering=0)
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.max_bytes = max_bytes

    def write(self, block: bytes) -> None:
        self.write_many([block])

    def write_many(self, blocks: list[bytes]) -> None:
        for block in blocks:
            self.size += len(block)
            if self.size > self.max_bytes:
                raise PayloadTooLargeError(f"Upload exceeds the limit of {self.max_bytes} bytes.")
            self.sha256.update(block)
        self.file.writelines(blocks)

    def discard(self) -> None:
        self.file.close()
        self.path.unlink(missing_ok=True)


async def receive_stream(
    store: ContentStore, chunks: AsyncIterator[bytes], *, max_bytes: int
) -> tuple[Path, str, int]:
    """Stream request bytes to a staging file. Returns (path, sha256, size)."""
    from starlette.concurrency import run_in_threadpool

    staged = _Staged(store, max_bytes)
    pending: list[bytes] = []
    pending_bytes = 0
    try:
        async for block in chunks:
            pending.append(block)
            pending_bytes += len(block)
            # The server hands over ~64 KiB at a time: hop to a thread once per few MiB, and
            # never copy (hashing and writing release the GIL, so the loop keeps receiving).
            if pending_bytes >= WRITE_BATCH:
                await run_in_threadpool(staged.write_many, pending)
                pending, pending_bytes = [], 0
        if pending:
            await run_in_threadpool(staged.write_many, pending)
        staged.file.close()
    except BaseException:
        staged.discard()
        raise
    return staged.path, staged.sha256.hexdigest(), staged.size


def publish_object(
    session: Session,
    store: ContentStore,
    staged: Path,
    *,
    sha256: str,
    size: int,
    oid: str,
    expected_size: int,
) -> StoredObject:
    """Publish staged bytes as the object `oid` if they hash to it; idempotent."""
    if sha256 != oid or size != expected_size:
        staged.unlink(missing_ok=True)
        raise InvalidInputError(
            f"Uploaded bytes do not match the announced object: got sha256 {sha256} and "
            f"{size} bytes, expected {oid} and {expected_size} bytes."
        )
    existing = find_object(session, oid)
    if existing is not None:
        staged.unlink(missing_ok=True)
        return existing
    store.put_file(lfs_key(oid), staged)
    obj = StoredObject(sha256=oid, size=size, kind="blob", location=lfs_key(oid))
    session.add(obj)
    return obj


def concatenate_parts(
    store: ContentStore, upload_id: str, part_count: int, *, max_bytes: int
) -> tuple[Path, str, int]:
    """Join uploaded parts in order into one staging file, hashing on the way."""
    staged = _Staged(store, max_bytes)
    try:
        for number in range(1, part_count + 1):
            key = upload_part_key(upload_id, number)
            if not store.exists(key):
                raise InvalidInputError(f"Part {number} of the upload was never received.")
            for block in store.iter_range(key):
                staged.write(block)
        staged.file.close()
    except BaseException:
        staged.discard()
        raise
    return staged.path, staged.sha256.hexdigest(), staged.size


def discard_parts(store: ContentStore, upload_id: str, part_numbers: Iterable[int]) -> None:
    for number in part_numbers:
        store.delete(upload_part_key(upload_id, number))
