"""The content store on a local folder."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from modelcommons.storage.base import CHUNK, ContentStore, StoredKey, sweep_staging


class FileSystemStore(ContentStore):
    def __init__(self, root: Path) -> None:
        self.root = root
        self._staging = root / ".staging"
        self._staging.mkdir(parents=True, exist_ok=True)
        sweep_staging(self._staging)

    def _path(self, key: str) -> Path:
        return self.root / key

    def staging_dir(self) -> Path:
        return self._staging

    def put_file(self, key: str, source: Path) -> None:
        target = os.path.join(self.root, key)
        try:
            os.replace(source, target)
        except FileNotFoundError:  # the key's folder is new (checked only then: commits of
            os.makedirs(os.path.dirname(target), exist_ok=True)  # many blobs pay per call)
            os.replace(source, target)

    def put_bytes(self, key: str, data: bytes) -> None:
        staged = os.path.join(self._staging, secrets.token_hex(16))
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
        self.put_file(key, Path(staged))

    def get_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def iter_range(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        with open(self._path(key), "rb") as f:
            f.seek(start)
            remaining = None if end is None else end - start
            while remaining is None or remaining > 0:
                block = f.read(CHUNK if remaining is None else min(CHUNK, remaining))
                if not block:
                    return
                if remaining is not None:
                    remaining -= len(block)
                yield block

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        path = self._path(key)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def iter_keys(self, prefix: str) -> Iterator[StoredKey]:
        folder, _, start = prefix.rpartition("/")
        base = self._path(folder) if folder else self.root
        yield from self._walk(base, folder + "/" if folder else "", start)

    def _walk(self, folder: Path, key_prefix: str, start: str) -> Iterator[StoredKey]:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except FileNotFoundError:
            return
        for entry in entries:
            if not entry.name.startswith(start) or folder == self.root and entry.name == ".staging":
                continue
            key = key_prefix + entry.name
            with contextlib.suppress(FileNotFoundError):  # removed while we list
                if entry.is_dir(follow_symlinks=False):
                    yield from self._walk(Path(entry.path), key + "/", "")
                elif entry.is_file(follow_symlinks=False):
                    stat = entry.stat()
                    yield StoredKey(key, stat.st_mtime, stat.st_size)

    def touch(self, key: str) -> bool:
        try:
            os.utime(self._path(key))
        except FileNotFoundError:
            return False
        return True

    def delete_stale(self, key: str, before: float) -> bool:
        """Move the object aside first, then look at its time: a writer that touches it
        before the move makes it young (it comes back), one that comes after finds no object
        and writes it again, so no reuse is lost between the look and the delete."""
        path = self._path(key)
        aside = self._staging / f"gc-{os.getpid()}-{time.monotonic_ns()}"
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            return False
        if aside.stat().st_mtime >= before:
            os.replace(aside, path)  # equal content by key, whoever wrote it meanwhile
            return False
        aside.unlink()
        return True


def _write_all(fd: int, data: bytes) -> None:
    """os.write may write less than asked; loop until every byte is out."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
