"""Notes of what recent answers named, so garbage collection spares it for its grace period.

An LFS batch that tells a client it need not upload an object, an upload of bytes the hub
already holds and a Xet dedup answer that names xorbs all let a client commit (or register
a shard naming) that content minutes later, while nothing reachable may hold it yet. Each
such answer writes one small note to the content store, not a database row: the answers run
in read transactions, and on SQLite a write there would take the database's lock per batch.
Collection reads the notes younger than its grace period as roots and removes older ones.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

from modelcommons.storage.base import ContentStore, StoredKey

NOTES = "gc-notes/"
COMMITS = "gc-commits/"
# A commit note older than this is a crashed commit's: it no longer holds collection back.
MAX_COMMIT_SECONDS = 6 * 3600


def note_named(
    store: ContentStore, *, objects: Collection[str] = (), xorbs: Collection[str] = ()
) -> None:
    """Record that an answer just named these LFS objects (sha256) and xorbs (hash)."""
    if not objects and not xorbs:
        return
    body = json.dumps({"objects": sorted(objects), "xorbs": sorted(xorbs)}).encode()
    store.put_bytes(f"{NOTES}{time.time_ns()}-{secrets.token_hex(4)}", body)


@dataclass
class Named:
    """What the notes younger than a cutoff name, and the notes older than it."""

    objects: set[str] = field(default_factory=set)
    xorbs: set[str] = field(default_factory=set)
    stale: list[StoredKey] = field(default_factory=list)


def read_notes(store: ContentStore, cutoff: float) -> Named:
    """The content named by notes written at or after `cutoff` (Unix time)."""
    named = Named()
    for item in store.iter_keys(NOTES):
        if max(item.modified, _written(item.key)) < cutoff:
            named.stale.append(item)
            continue
        try:
            body = json.loads(store.get_bytes(item.key))
        except Exception:
            if store.exists(item.key):  # unreadable, not removed: protection must not lapse
                raise
            continue  # removed meanwhile by another collection
        named.objects.update(str(sha) for sha in body.get("objects", []))
        named.xorbs.update(str(xorb) for xorb in body.get("xorbs", []))
    return named


@contextlib.contextmanager
def commit_in_flight(store: ContentStore, objects: Collection[str] = ()) -> Iterator[None]:
    """While a commit is built, the blobs and trees it writes are reachable from nothing yet
    (its rows and ref come last, however long its thousands of files take), and so may be
    the LFS objects it names: this note tells collection to spare everything written or
    touched since the commit began, and those objects, until the commit ends."""
    key = f"{COMMITS}{time.time_ns()}-{secrets.token_hex(4)}"
    store.put_bytes(key, json.dumps({"objects": sorted(objects)}).encode())
    try:
        yield
    finally:
        with contextlib.suppress(Exception):  # a note left behind only expires later
            store.delete(key)


@dataclass
class InFlight:
    """The commits in flight: when the oldest began, what they name, and the notes of
    crashed ones (past MAX_COMMIT_SECONDS), for collection to remove."""

    since: float
    objects: set[str] = field(default_factory=set)
    crashed: list[StoredKey] = field(default_factory=list)


def in_flight(store: ContentStore, now: float) -> InFlight:
    found = InFlight(since=now)
    for item in store.iter_keys(COMMITS):
        began = _written(item.key)
        if began < now - MAX_COMMIT_SECONDS:
            found.crashed.append(item)
            continue
        found.since = min(found.since, began)
        try:
            body = json.loads(store.get_bytes(item.key) or b"{}")
        except Exception:
            if store.exists(item.key):  # unreadable, not removed: protection must not lapse
                raise
            continue  # the commit ended meanwhile
        found.objects.update(str(sha) for sha in body.get("objects", []))
    return found


def _written(key: str) -> float:
    """When the note was written, from its name: exact, where a store's time may be whole
    seconds."""
    try:
        return int(key.rpartition("/")[2].split("-", 1)[0]) / 1e9
    except ValueError:
        return 0.0
