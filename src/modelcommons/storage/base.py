"""The content store: immutable bytes by key. The filesystem store is one implementation;
an S3 store implements the same interface. Writers stage into a temporary file and publish
with one atomic step, so a crash never leaves a half-written object visible.
"""

from __future__ import annotations

import contextlib
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

CHUNK = 1024 * 1024
STALE_STAGING_SECONDS = 24 * 3600


def sweep_staging(folder: Path, max_age: float = STALE_STAGING_SECONDS) -> None:
    """Remove what uploads interrupted by a crash left in a staging folder (never visible as
    objects: publishing is the last step)."""
    cutoff = time.time() - max_age
    for leftover in folder.iterdir():
        with contextlib.suppress(OSError):
            if leftover.is_file() and leftover.stat().st_mtime < cutoff:
                leftover.unlink()


class StoredKey(NamedTuple):
    """One object as a listing sees it: its key, when it was last written or touched (Unix
    time) and its size."""

    key: str
    modified: float
    size: int


class ContentStore(ABC):
    # Whether each call is a network round trip (then callers with many objects overlap them).
    remote = False

    @abstractmethod
    def staging_dir(self) -> Path:
        """A local folder for temporary files that `put_file` can publish cheaply."""

    @abstractmethod
    def put_file(self, key: str, source: Path) -> None:
        """Publish a staged file under `key`, consuming it. Idempotent for equal content."""

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def get_bytes(self, key: str) -> bytes: ...

    @abstractmethod
    def iter_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Yield bytes [start, end) of the object (end=None: to its end)."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def iter_keys(self, prefix: str) -> Iterator[StoredKey]:
        """Every object whose key starts with `prefix` (staging files are not objects)."""

    @abstractmethod
    def touch(self, key: str) -> bool:
        """Mark the object as written now (garbage collection spares what is younger than
        its grace period). Returns False when there is no such object."""

    @abstractmethod
    def delete_stale(self, key: str, before: float) -> bool:
        """Delete the object unless it was written or touched at or after `before`; returns
        whether it went. Garbage collection's last check, as close to the delete as the store
        allows, so that a writer reusing the object meanwhile keeps it."""

    def local_path(self, key: str) -> Path | None:
        """The object's path on local disk, when the store has one (lets the server sendfile)."""
        return None

    def presigned_url(self, key: str) -> str | None:
        """A URL a client may fetch the object from directly (with Range), when the store
        can hand out such URLs; the server streams the bytes itself otherwise."""
        return None


def lfs_key(sha256: str) -> str:
    return f"lfs/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def git_key(sha1: str) -> str:
    return f"git/{sha1[:2]}/{sha1[2:]}"


def upload_part_key(upload_id: str, part: int) -> str:
    return f"uploads/{upload_id}/{part:05d}"
