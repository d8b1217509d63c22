"""The Huey instance chosen by COMMONS_QUEUE_URL: SQLite embedded, Redis for many workers."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from huey import Huey, RedisHuey, SqliteHuey

from modelcommons.config import get_settings
from modelcommons.errors import ConfigurationError


def make_huey(url: str) -> Huey:
    """`?name=` in the URL names the queue (its Redis keys), so hubs can share one Redis."""
    parsed = urlparse(url)
    name = parse_qs(parsed.query).get("name", ["commons"])[0]
    if parsed.scheme == "sqlite":
        return SqliteHuey(name, filename=url.split("///", 1)[1].split("?")[0], utc=True)
    if parsed.scheme in ("redis", "rediss"):
        return RedisHuey(name, url=url.split("?")[0], utc=True)
    scheme = f"{parsed.scheme}://"  # only the scheme: the rest may hold a password
    raise ConfigurationError(
        f"COMMONS_QUEUE_URL must start with sqlite://, redis:// or rediss://, not {scheme!r}"
    )


huey = make_huey(get_settings().queue_url)
