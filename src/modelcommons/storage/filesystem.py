"""The content store on a local folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from modelcommons.storage.base import CHUNK, ContentStore, sweep_staging


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
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)

    def put_bytes(self, key: str, data: bytes) -> None:
        with tempfile.NamedTemporaryFile(dir=self._staging, delete=False) as tmp:
            tmp.write(data)
        self.put_file(key, Path(tmp.name))

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
