"""Content stores chosen by COMMONS_STORAGE_URL."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from urllib.parse import urlparse

from modelcommons.config import get_settings
from modelcommons.errors import ConfigurationError
from modelcommons.storage.base import ContentStore
from modelcommons.storage.filesystem import FileSystemStore
from modelcommons.storage.git import GitObjects


def open_store(url: str) -> ContentStore:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return FileSystemStore(Path(parsed.path))
    if parsed.scheme == "s3":
        from modelcommons.storage.s3 import S3Store  # boto3 loads only when used

        return S3Store.from_url(url, staging=get_settings().home / "staging")
    raise ConfigurationError(
        f"Unsupported COMMONS_STORAGE_URL scheme {parsed.scheme!r}: use file:// or s3://."
    )


@cache
def get_store() -> ContentStore:
    return open_store(get_settings().storage_url)


@cache
def get_git() -> GitObjects:
    return GitObjects(get_store())
