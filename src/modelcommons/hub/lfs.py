"""Large files: git-LFS pointers and the sha256-addressed objects behind them.

Uploads stream into the store's staging folder while hashing; only bytes whose sha256 and
size match what the client announced are published and recorded in the objects table.

Objects stay in their repos: bytes are stored once whoever sends them, but knowing a sha256
is not enough to get them. A repo serves the objects its commits hold, and a commit may name
an object only if the committer can read a repo that holds it, or sent its bytes through
this repo's upload flow (an `ObjectUpload` grant, which expires).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from modelcommons.config import get_settings
from modelcommons.db.engine import in_batches, read_session, write_session
from modelcommons.db.models import IndexEntry, ObjectUpload, Repo, StoredObject, utcnow
from modelcommons.errors import InvalidInputError, PayloadTooLargeError
from modelcommons.hub.accounts import Principal
from modelcommons.hub.gc_notes import note_named
from modelcommons.hub.repos import readable_by
from modelcommons.storage import get_store
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


def find_objects(session: Session, shas: Collection[str]) -> dict[str, StoredObject]:
    """The stored objects among `shas`, in one query per few hundred (commits name many)."""
    found: dict[str, StoredObject] = {}
    for batch in in_batches(shas):
        stmt = select(StoredObject).where(StoredObject.sha256.in_(batch))
        found.update((obj.sha256, obj) for obj in session.scalars(stmt))
    return found


def unknown_object(sha256: str, path: str) -> InvalidInputError:
    """The one answer for an object a commit may not name, stored elsewhere or not at all."""
    return InvalidInputError(
        f"LFS object {sha256} for {path} was never uploaded to this repo; upload it first."
    )


@dataclass(frozen=True)
class Uploader:
    """Who sent an object's bytes, and through which repo's upload flow."""

    user_id: int
    repo_id: int


def _grant_cutoff() -> datetime:
    return utcnow() - timedelta(seconds=get_settings().upload_grant_seconds)


def record_uploads(session: Session, uploader: Uploader, shas: Iterable[str]) -> None:
    """Let the uploader commit these objects to the repo until the grant expires; expired
    grants of everyone go on the way (an indexed delete)."""
    session.execute(delete(ObjectUpload).where(ObjectUpload.uploaded_at < _grant_cutoff()))
    now = utcnow()
    for sha in set(shas):
        grant = ObjectUpload(
            sha256=sha, repo_id=uploader.repo_id, user_id=uploader.user_id, uploaded_at=now
        )
        try:
            with session.begin_nested():
                session.merge(grant)
        except IntegrityError:
            pass  # a concurrent upload of the same bytes recorded the same grant just now


def usable_objects(
    session: Session, principal: Principal, repo_id: int, shas: Collection[str]
) -> set[str]:
    """The objects among `shas` that the principal may name in a commit to the repo."""
    usable: set[str] = set()
    for batch in in_batches(shas):
        readable = (
            select(IndexEntry.lfs_sha256)
            .join(Repo, Repo.id == IndexEntry.repo_id)
            .where(IndexEntry.lfs_sha256.in_(batch), readable_by(principal))
            .distinct()
        )
        usable.update(sha for sha in session.scalars(readable) if sha)
        if principal.user is not None:
            granted = select(ObjectUpload.sha256).where(
                ObjectUpload.sha256.in_(batch),
                ObjectUpload.repo_id == repo_id,
                ObjectUpload.user_id == principal.user.id,
                ObjectUpload.uploaded_at >= _grant_cutoff(),
            )
            usable.update(session.scalars(granted))
    return usable


def require_usable(principal: Principal, repo_id: int, wanted: dict[str, str]) -> None:
    """Refuse a commit naming (path → sha256) objects the principal may not use, with the
    answer an unknown object gets; in a read transaction of its own, before the commit's."""
    if not wanted:
        return
    with read_session() as session:
        usable = usable_objects(session, principal, repo_id, wanted.values())
    for path, sha in wanted.items():
        if sha not in usable:
            raise unknown_object(sha, path)


def held_by_repo(session: Session, repo_id: int, shas: Collection[str]) -> set[str]:
    """The objects among `shas` that some commit of the repo holds (what it may serve)."""
    held: set[str] = set()
    for batch in in_batches(shas):
        stmt = (
            select(IndexEntry.lfs_sha256)
            .where(IndexEntry.lfs_sha256.in_(batch), IndexEntry.repo_id == repo_id)
            .distinct()
        )
        held.update(sha for sha in session.scalars(stmt) if sha)
    return held


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
                await asyncio.to_thread(staged.write_many, pending)
                pending, pending_bytes = [], 0
        if pending:
            await asyncio.to_thread(staged.write_many, pending)
        staged.file.close()
    except BaseException:
        staged.discard()
        raise
    return staged.path, staged.sha256.hexdigest(), staged.size


def publish_object(
    store: ContentStore,
    staged: Path,
    *,
    sha256: str,
    size: int,
    oid: str,
    expected_size: int,
) -> bool:
    """Publish staged bytes under the object `oid`'s key if they hash to it and no object
    holds them yet, outside any transaction (putting them may be slow: S3). Returns whether
    they were put; idempotent."""
    if sha256 != oid or size != expected_size:
        staged.unlink(missing_ok=True)
        raise InvalidInputError(
            f"Uploaded bytes do not match the announced object: got sha256 {sha256} and "
            f"{size} bytes, expected {oid} and {expected_size} bytes."
        )
    with read_session() as session:
        existing = find_object(session, oid)
    if existing is not None:  # the same bytes again: keep the stored copy, Xet or blob
        staged.unlink(missing_ok=True)
        note_named(store, objects=[oid])  # unreachable, it may be collected: spare it now
        return False
    store.put_file(lfs_key(oid), staged)
    return True


def _record_object(session: Session, oid: str, size: int) -> StoredObject:
    existing = find_object(session, oid)
    if existing is not None:  # stored before, or by a concurrent upload of the same bytes
        return existing
    obj = StoredObject(sha256=oid, size=size, kind="blob", location=lfs_key(oid))
    try:
        with session.begin_nested():  # a concurrent upload of the same bytes may win
            session.add(obj)
    except IntegrityError:
        winner = find_object(session, oid)
        assert winner is not None
        return winner
    return obj


def publish_upload(
    store: ContentStore,
    staged: Path,
    *,
    sha256: str,
    size: int,
    oid: str,
    expected_size: int,
    uploader: Uploader | None,
) -> StoredObject:
    """Verify and keep uploaded bytes (once, whoever sent them first) and note who sent them.
    The bytes are put before the write transaction that records them: on SQLite that
    transaction holds the whole database's write lock, which must not wait on storage."""
    publish_object(store, staged, sha256=sha256, size=size, oid=oid, expected_size=expected_size)
    with write_session() as session:
        stored = _record_object(session, oid, size)
        if uploader is not None:
            record_uploads(session, uploader, [oid])
        return stored


def known_objects(
    session: Session, principal: Principal, repo_id: int, operation: str, shas: Collection[str]
) -> dict[str, StoredObject]:
    """What an LFS batch may skip or serve among `shas`: for an upload, the stored objects
    the principal can already use in the repo; for a download, those the repo holds."""
    stored = find_objects(session, shas)
    if operation == "upload":
        known = usable_objects(session, principal, repo_id, shas)
    else:
        known = held_by_repo(session, repo_id, shas)
    answer = {sha: obj for sha, obj in stored.items() if sha in known}
    if operation == "upload":  # the client commits these without uploading: spare them
        note_named(get_store(), objects=answer)
    return answer


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
