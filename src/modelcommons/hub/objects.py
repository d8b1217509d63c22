"""Reading a large file's bytes, whichever way it is stored (one blob, or Xet chunks)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from modelcommons.db.models import StoredObject as StoredObject  # re-exported: edges name it
from modelcommons.hub.xet import cas
from modelcommons.storage import get_store


def iter_object(obj: StoredObject, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    if obj.kind == "xet":
        return cas.iter_file(obj.location, start, end)
    return get_store().iter_range(obj.location, start, end)


def local_path(obj: StoredObject) -> Path | None:
    """A path on local disk holding exactly the object's bytes, when there is one."""
    return get_store().local_path(obj.location) if obj.kind == "blob" else None


def presigned_url(obj: StoredObject) -> str | None:
    """A URL the client may fetch a whole-blob object from, straight from the store."""
    return get_store().presigned_url(obj.location) if obj.kind == "blob" else None
