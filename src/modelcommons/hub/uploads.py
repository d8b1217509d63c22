"""Files uploaded through a browser form: which of them go to LFS (by the repo's
.gitattributes), and storing those as objects before their commit names them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from modelcommons.db.engine import read_session
from modelcommons.errors import CommonsError
from modelcommons.hub import files
from modelcommons.hub.lfs import publish_upload, receive_stream
from modelcommons.hub.previews import head_bytes
from modelcommons.hub.repos import Repo
from modelcommons.hub.upload_modes import lfs_patterns
from modelcommons.storage import get_store


def lfs_patterns_at(repo: Repo, sha: str) -> list[str]:
    """The LFS patterns of the repo's .gitattributes at `sha` (none without one), read in a
    transaction of its own: the upload that needs them is still arriving."""
    with read_session() as session:
        try:
            entry = files.get_file(session, repo, sha, ".gitattributes")
        except CommonsError:
            return lfs_patterns("")
        text = head_bytes(session, entry).decode("utf-8", errors="replace")
    return lfs_patterns(text)


async def store_lfs_file(chunks: AsyncIterator[bytes], *, max_bytes: int) -> tuple[str, int]:
    """A file's bytes streamed to the store, hashed on the way, and published as an LFS
    object in a write transaction of its own; returns (sha256, size)."""
    store = get_store()
    staged, sha256, size = await receive_stream(store, chunks, max_bytes=max_bytes)
    await asyncio.to_thread(
        publish_upload,
        store,
        staged,
        sha256=sha256,
        size=size,
        oid=sha256,
        expected_size=size,
        uploader=None,
    )
    return sha256, size
