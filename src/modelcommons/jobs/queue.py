"""The Huey instance chosen by COMMONS_QUEUE_URL: SQLite embedded, Redis for many workers."""

from __future__ import annotations

from urllib.parse import urlparse

from huey import Huey, RedisHuey, SqliteHuey

from modelcommons.config import get_settings


def make_huey(url: str) -> Huey:
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        return SqliteHuey("commons", filename=url.split("///", 1)[1], utc=True)
    if parsed.scheme in ("redis", "rediss"):
        return RedisHuey("commons", url=url, utc=True)
    raise ValueError(f"unsupported COMMONS_QUEUE_URL scheme: {parsed.scheme!r}")


huey = make_huey(get_settings().queue_url)
