"""Storage accounting: logical bytes (what the files add up to) against stored bytes (what
the store holds for them), for one repo and for the whole hub.

Stored bytes count each LFS blob once and each xorb once. For a repo, a xorb it shares with
other repos counts whole, so a repo's stored figure is what its content touches, an upper
bound on what deleting it alone would free; the hub's figures have no such overlap.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from modelcommons.db.models import IndexEntry, Repo, StoredObject, XetFile, XetXorb


@dataclass(frozen=True)
class StorageStats:
    logical_bytes: int
    stored_bytes: int
    lfs_objects: int
    xet_files: int
    xorbs: int

    @property
    def dedup_ratio(self) -> float:
        return self.logical_bytes / self.stored_bytes if self.stored_bytes else 1.0

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "dedup_ratio": round(self.dedup_ratio, 3)}


def _xorb_bytes(session: Session, xet_hashes: list[str]) -> tuple[int, int]:
    xorbs: set[str] = set()
    for segments in session.scalars(select(XetFile.segments).where(XetFile.hash.in_(xet_hashes))):
        xorbs.update(str(segment[0]) for segment in segments)
    if not xorbs:
        return 0, 0
    total = session.scalar(select(func.sum(XetXorb.size)).where(XetXorb.hash.in_(xorbs)))
    return int(total or 0), len(xorbs)


def repo_stats(session: Session, repo: Repo) -> StorageStats:
    """Over every commit of the repo (history keeps old versions alive)."""
    regular = session.execute(
        select(IndexEntry.oid, func.max(IndexEntry.size))
        .where(
            IndexEntry.repo_id == repo.id,
            IndexEntry.kind == "file",
            IndexEntry.lfs_sha256.is_(None),
        )
        .group_by(IndexEntry.oid)
    ).all()
    shas = (
        select(IndexEntry.lfs_sha256)
        .where(IndexEntry.repo_id == repo.id, IndexEntry.lfs_sha256.is_not(None))
        .distinct()
    )
    objects = list(session.scalars(select(StoredObject).where(StoredObject.sha256.in_(shas))))
    blobs = [o for o in objects if o.kind == "blob"]
    xet = [o.location for o in objects if o.kind == "xet"]
    xorb_bytes, xorb_count = _xorb_bytes(session, xet)
    regular_bytes = sum(size for _, size in regular)
    return StorageStats(
        logical_bytes=regular_bytes + sum(o.size for o in objects),
        stored_bytes=regular_bytes + sum(o.size for o in blobs) + xorb_bytes,
        lfs_objects=len(objects),
        xet_files=len(xet),
        xorbs=xorb_count,
    )


# Figures kept per repo and state of its refs: a repo's page shows them on every view, they
# read every file the repo ever held, and they change only when a ref moves.
_RECENT_STATS: OrderedDict[tuple[int, tuple[str, ...]], StorageStats] = OrderedDict()
_RECENT_STATS_KEPT = 512


def repo_stats_at(session: Session, repo: Repo, heads: Iterable[str]) -> StorageStats:
    """`repo_stats` for a repo whose refs point at `heads`, computed once per such state."""
    key = (repo.id, tuple(sorted(heads)))
    found = _RECENT_STATS.get(key)
    if found is None:
        found = _RECENT_STATS[key] = repo_stats(session, repo)
        while len(_RECENT_STATS) > _RECENT_STATS_KEPT:
            _RECENT_STATS.popitem(last=False)
    return found


def hub_stats(session: Session) -> StorageStats:
    """Large files across the hub (git blobs of small files are not counted here)."""
    logical = session.scalar(select(func.coalesce(func.sum(StoredObject.size), 0)))
    blobs = session.scalar(
        select(func.coalesce(func.sum(StoredObject.size), 0)).where(StoredObject.kind == "blob")
    )
    xorb_bytes, xorbs = session.execute(
        select(func.coalesce(func.sum(XetXorb.size), 0), func.count(XetXorb.hash))
    ).one()
    return StorageStats(
        logical_bytes=int(logical or 0),
        stored_bytes=int(blobs or 0) + int(xorb_bytes),
        lfs_objects=int(session.scalar(select(func.count(StoredObject.sha256))) or 0),
        xet_files=int(session.scalar(select(func.count(XetFile.hash))) or 0),
        xorbs=int(xorbs),
    )
