"""Garbage collection (`commons gc`, and the periodic "gc" job): remove what nothing can reach.

Reachability is global (hub.gc_mark): bytes one repo shares with another's reachable content
stay, and a deleted repo's unshared bytes go at the next collection. Besides refs, the roots
are everything younger than the grace period (by its store time, which reuse renews, or its
row's created_at: uploads write bytes before rows, commits write objects before refs), live
upload grants, notes of recent answers that named objects or xorbs (hub.gc_notes), and
multipart parts younger than a day.

Order, so that nothing reachable is ever lost:
1. mark in a read transaction (the long part), and list the store;
2. in one write transaction (which also holds the refs table on PostgreSQL, so no ref moves
   meanwhile), mark again what changed since, then delete unreachable rows: commits, index
   folders and pages, objects, Xet files, xorbs no surviving file uses;
3. after it commits, delete bytes no surviving row names, each only if the store still shows
   it older than the cutoff (`ContentStore.delete_stale`): a writer that reused it meanwhile
   renewed its time.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Sized
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from modelcommons.config import get_settings
from modelcommons.db.engine import in_batches, read_session, write_session
from modelcommons.db.models import (
    Commit,
    IndexEntry,
    IndexFolder,
    Job,
    ObjectUpload,
    StoredObject,
    XetDedupChunk,
    XetFile,
    XetFileXorb,
    XetXorb,
    utcnow,
)
from modelcommons.errors import JobCancelledError, UnavailableError
from modelcommons.hub import jobs
from modelcommons.hub.gc_mark import Reachable, mark
from modelcommons.hub.gc_notes import NOTES, Named, in_flight, read_notes
from modelcommons.hub.lfs import POINTER_PREFIX
from modelcommons.storage import get_store
from modelcommons.storage.base import ContentStore, StoredKey, git_key

PART_AGE_SECONDS = 24 * 3600  # multipart parts younger than this belong to uploads in progress
BYTE_KINDS = ("git objects", "LFS blobs", "xorbs", "upload parts", "notes")
ROW_KINDS = ("commits", "index folders", "index pages", "LFS objects", "Xet files", "xorb rows")


@dataclass
class Swept:
    count: int = 0
    bytes: int = 0


@dataclass
class GcReport:
    """What a collection removed (or, dry, would remove), per kind."""

    dry_run: bool
    kinds: dict[str, Swept] = field(default_factory=lambda: defaultdict(Swept))
    seconds: float = 0.0

    @property
    def freed_bytes(self) -> int:
        return sum(self.kinds[kind].bytes for kind in BYTE_KINDS)

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "freed_bytes": self.freed_bytes,
            "seconds": round(self.seconds, 2),
            "kinds": {k: {"count": s.count, "bytes": s.bytes} for k, s in self.kinds.items()},
        }


@dataclass
class _Plan:
    commits: set[tuple[int, str]] = field(default_factory=set)
    folders: set[str] = field(default_factory=set)
    pages: set[str] = field(default_factory=set)
    objects: set[str] = field(default_factory=set)
    xet_files: dict[str, str] = field(default_factory=dict)  # hash → sha256
    xorbs: set[str] = field(default_factory=set)
    keys: dict[str, list[StoredKey]] = field(default_factory=lambda: defaultdict(list))


def _naive(unix: float) -> datetime:
    return datetime.fromtimestamp(unix, UTC).replace(tzinfo=None)


def pointer_blob_id(sha256: str, size: int) -> str:
    """The git id of an LFS pointer: a commit in flight writes (or touches) it first."""
    data = POINTER_PREFIX + f"oid sha256:{sha256}\nsize {size}\n".encode()
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _list_store(store: ContentStore) -> dict[str, list[StoredKey]]:
    listing: dict[str, list[StoredKey]] = {}
    for prefix in ("git/", "lfs/", "xorbs/", "uploads/"):
        listing[prefix] = list(store.iter_keys(prefix))
    return listing


def _git_times(listing: dict[str, list[StoredKey]]) -> dict[str, float]:
    return {item.key[4:6] + item.key[7:]: item.modified for item in listing["git/"]}


def _plan_index(session: Session, reach: Reachable, plan: _Plan, old: datetime) -> None:
    rows = session.execute(select(Commit.repo_id, Commit.sha).where(Commit.created_at < old))
    plan.commits = {row for row in rows.tuples() if row not in reach.commits}
    folders = session.scalars(select(IndexFolder.id).where(IndexFolder.created_at < old))
    plan.folders = set(folders) - reach.folders
    pages = session.scalars(select(IndexEntry.page_id).distinct())
    plan.pages = set(pages) - reach.pages


def _plan_objects(
    session: Session,
    reach: Reachable,
    plan: _Plan,
    named: Named,
    times: dict[str, float],
    cutoff: float,
) -> set[str]:
    """Objects (and Xet files) to go; returns the sha256s that stay."""
    grant_cutoff = utcnow() - timedelta(seconds=get_settings().upload_grant_seconds)
    granted = set(
        session.scalars(select(ObjectUpload.sha256).where(ObjectUpload.uploaded_at >= grant_cutoff))
    )
    kept = reach.lfs | granted | named.objects
    rows = session.execute(select(StoredObject.sha256, StoredObject.size, StoredObject.created_at))
    for sha, size, created_at in rows:
        young = created_at >= _naive(cutoff) or times.get(pointer_blob_id(sha, size), 0) >= cutoff
        if sha in kept or young:
            kept.add(sha)
        else:
            plan.objects.add(sha)
    files = session.execute(select(XetFile.hash, XetFile.sha256, XetFile.created_at))
    for file_hash, sha, created_at in files:
        if sha not in kept and created_at < _naive(cutoff):
            plan.xet_files[file_hash] = sha
    return kept


def _plan_xorbs(session: Session, plan: _Plan, named: Named, cutoff: float) -> set[str]:
    """Xorb rows to go; returns the hashes of those that stay."""
    used = session.execute(select(XetFileXorb.file_hash, XetFileXorb.xorb_hash))
    kept = {xorb for file_hash, xorb in used if file_hash not in plan.xet_files} | named.xorbs
    for xorb, created_at in session.execute(select(XetXorb.hash, XetXorb.created_at)):
        if xorb in kept or created_at >= _naive(cutoff):
            kept.add(xorb)
        else:
            plan.xorbs.add(xorb)
    return kept


def _plan_keys(
    plan: _Plan,
    reach: Reachable,
    listing: dict[str, list[StoredKey]],
    kept: tuple[set[str], set[str]],
    cutoff: float,
    started: float,
) -> None:
    kept_objects, kept_xorbs = kept
    part_cutoff = min(cutoff, started - PART_AGE_SECONDS)
    for prefix, keys in listing.items():
        for item in keys:
            name = item.key.rsplit("/", 1)[-1]
            if prefix == "git/":
                unused = item.key[4:6] + item.key[7:] not in reach.git
            elif prefix == "lfs/":
                unused = name not in kept_objects
            elif prefix == "xorbs/":
                unused = name not in kept_xorbs
            else:
                unused = item.modified < part_cutoff
            if unused and item.modified < cutoff:
                plan.keys[prefix].append(item)


def _make_plan(
    session: Session,
    reach: Reachable,
    listing: dict[str, list[StoredKey]],
    named: Named,
    *,
    cutoff: float,
    started: float,
) -> _Plan:
    plan = _Plan()
    _plan_index(session, reach, plan, _naive(cutoff))
    kept_objects = _plan_objects(session, reach, plan, named, _git_times(listing), cutoff)
    kept_xorbs = _plan_xorbs(session, plan, named, cutoff)
    _plan_keys(plan, reach, listing, (kept_objects, kept_xorbs), cutoff, started)
    return plan


def _hold_refs(session: Session) -> None:
    """On PostgreSQL, no ref moves until this transaction ends (a commit's first write is its
    ref's compare-and-swap); SQLite's write transaction already holds the whole database."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE refs IN EXCLUSIVE MODE"))


def _delete_rows(session: Session, plan: _Plan) -> None:
    by_repo: dict[int, list[str]] = defaultdict(list)
    for repo_id, sha in plan.commits:
        by_repo[repo_id].append(sha)
    for repo_id, shas in by_repo.items():
        for batch in in_batches(shas):
            session.execute(delete(Commit).where(Commit.repo_id == repo_id, Commit.sha.in_(batch)))
    for batch in in_batches(plan.pages):
        session.execute(delete(IndexEntry).where(IndexEntry.page_id.in_(batch)))
    for batch in in_batches(plan.folders):
        session.execute(delete(IndexFolder).where(IndexFolder.id.in_(batch)))
    for batch in in_batches(plan.objects):
        session.execute(delete(StoredObject).where(StoredObject.sha256.in_(batch)))
    for batch in in_batches(plan.xet_files):
        session.execute(delete(XetFileXorb).where(XetFileXorb.file_hash.in_(batch)))
        session.execute(delete(XetFile).where(XetFile.hash.in_(batch)))
    for batch in in_batches(plan.xorbs):
        session.execute(delete(XetDedupChunk).where(XetDedupChunk.xorb_hash.in_(batch)))
        session.execute(delete(XetXorb).where(XetXorb.hash.in_(batch)))


def _spare_new_uses(session: Session, plan: _Plan, reach: Reachable, named: Named) -> None:
    """Inside the write transaction: keep what became reachable, granted or named since the
    plan, and xorbs a Xet file registered since uses (a client may name xorbs it uploaded
    before without asking dedup)."""
    plan.commits -= reach.commits
    plan.folders -= reach.folders
    plan.pages -= reach.pages
    grant_cutoff = utcnow() - timedelta(seconds=get_settings().upload_grant_seconds)
    for batch in in_batches(plan.objects):
        granted = select(ObjectUpload.sha256).where(
            ObjectUpload.sha256.in_(batch), ObjectUpload.uploaded_at >= grant_cutoff
        )
        plan.objects -= set(session.scalars(granted))
    plan.objects -= reach.lfs | named.objects
    gone = set(plan.objects)
    plan.xet_files = {
        file_hash: sha
        for file_hash, sha in plan.xet_files.items()
        if sha not in reach.lfs | named.objects and (sha in gone or not _has_object(session, sha))
    }
    plan.xorbs -= named.xorbs
    for batch in in_batches(plan.xorbs):
        used = session.execute(
            select(XetFileXorb.file_hash, XetFileXorb.xorb_hash).where(
                XetFileXorb.xorb_hash.in_(batch)
            )
        )
        plan.xorbs -= {xorb for file_hash, xorb in used if file_hash not in plan.xet_files}
    keys = plan.keys
    keys["git/"] = [k for k in keys["git/"] if k.key[4:6] + k.key[7:] not in reach.git]
    keys["lfs/"] = [k for k in keys["lfs/"] if not _has_object(session, _name(k), gone)]
    keys["xorbs/"] = [k for k in keys["xorbs/"] if not _has_xorb(session, _name(k), plan.xorbs)]


def _name(item: StoredKey) -> str:
    return item.key.rsplit("/", 1)[-1]


def _has_object(session: Session, sha: str, going: set[str] | None = None) -> bool:
    """Whether an objects row for `sha` stays (one that this collection removes does not)."""
    if going is not None and sha in going:
        return False
    return session.get(StoredObject, sha) is not None


def _has_xorb(session: Session, xorb: str, going: set[str]) -> bool:
    return xorb not in going and session.get(XetXorb, xorb) is not None


def _delete_bytes(
    store: ContentStore, plan: _Plan, report: GcReport, cutoff: float, progress: jobs.Progress
) -> None:
    total = sum(len(keys) for keys in plan.keys.values()) or 1
    done = 0
    for prefix, kind in zip(("git/", "lfs/", "xorbs/", "uploads/", NOTES), BYTE_KINDS, strict=True):
        for item in plan.keys[prefix]:
            done += 1
            if report.dry_run or store.delete_stale(item.key, cutoff):
                report.kinds[kind].count += 1
                report.kinds[kind].bytes += item.size
            progress.step(0.6 + 0.4 * done / total, f"deleting {kind}")


def _count_rows(report: GcReport, plan: _Plan) -> None:
    rows: tuple[Sized, ...] = (
        plan.commits,
        plan.folders,
        plan.pages,
        plan.objects,
        plan.xet_files,
        plan.xorbs,
    )
    for kind, items in zip(ROW_KINDS, rows, strict=True):
        report.kinds[kind].count = len(items)


def _open_store() -> ContentStore:
    try:
        return get_store()
    except OSError as exc:
        raise UnavailableError(f"Cannot open the content store: {exc}") from exc


def unavailable(exc: BaseException) -> UnavailableError | None:
    """The error to stop with when `exc` says the database or store cannot be reached."""
    if isinstance(exc, UnavailableError):
        return exc
    if isinstance(exc, OperationalError):
        return UnavailableError(f"Cannot use the database: {str(exc.orig).splitlines()[0]}")
    if isinstance(exc, OSError):
        return UnavailableError(f"Cannot use the content store: {exc}")
    return None


def collect(*, grace_seconds: float, dry_run: bool, progress: jobs.Progress) -> GcReport:
    """Remove (dry: count) what nothing reaches and is older than `grace_seconds`.

    Raises UnavailableError when the store or database cannot be reached; nothing is
    deleted when that happens before the deleting starts."""
    started = time.time()
    report = GcReport(dry_run=dry_run)
    try:
        _collect(report, started, started - grace_seconds, progress)
    except (OperationalError, OSError) as exc:
        error = unavailable(exc)
        assert error is not None
        raise error from exc
    report.seconds = time.time() - started
    return report


def _collect(report: GcReport, started: float, cutoff: float, progress: jobs.Progress) -> GcReport:
    store = _open_store()
    # Whatever a commit still in flight wrote is younger than its start: spare from there.
    commits = in_flight(store, started)
    cutoff = min(cutoff, commits.since)
    reach = Reachable()
    _milestone(progress, 0.0, "marking what refs reach")
    with read_session() as session:
        mark(session, reach, young=_naive(cutoff))
        _milestone(progress, 0.3, f"{len(reach.commits)} commits reached; listing the store")
        listing = _list_store(store)
        named = read_notes(store, cutoff)
        named.objects |= commits.objects
        plan = _make_plan(session, reach, listing, named, cutoff=cutoff, started=started)
    _milestone(progress, 0.5, "checking what changed meanwhile")
    _spare_in_flight(store, plan, cutoff)
    named = read_notes(store, cutoff)  # answers given while planning
    named.objects |= commits.objects | in_flight(store, started).objects
    # No progress is reported in here: the job's report is a write transaction of its own.
    with write_session() if not report.dry_run else read_session() as session:
        if not report.dry_run:
            _hold_refs(session)
        mark(session, reach, young=_naive(cutoff))  # what changed since the first pass
        _spare_new_uses(session, plan, reach, named)
        if not report.dry_run:
            _delete_rows(session, plan)
    plan.keys[NOTES] = named.stale + commits.crashed
    _count_rows(report, plan)
    _delete_bytes(store, plan, report, cutoff, progress)
    verb = "would free" if report.dry_run else "freed"
    _milestone(progress, 1.0, f"{verb} {report.freed_bytes} bytes")
    return report


def _spare_in_flight(store: ContentStore, plan: _Plan, cutoff: float) -> None:
    """Keep objects a commit in flight names: it wrote or touched their pointer just now."""
    sizes: dict[str, int] = {}
    with read_session() as session:
        for batch in in_batches(plan.objects):
            stmt = select(StoredObject.sha256, StoredObject.size).where(
                StoredObject.sha256.in_(batch)
            )
            sizes.update(session.execute(stmt).tuples().all())
    for sha, size in sizes.items():
        key = git_key(pointer_blob_id(sha, size))
        if any(item.modified >= cutoff for item in store.iter_keys(key)):
            plan.objects.discard(sha)


def _milestone(progress: jobs.Progress, fraction: float, line: str) -> None:
    if not progress.progress(fraction, line):
        raise JobCancelledError("garbage collection was cancelled")


def run_gc_job(job: Job, progress: jobs.Progress) -> dict[str, Any]:
    """The "gc" job's handler (jobs/handlers.py)."""
    grace = float(job.args.get("grace_seconds", get_settings().gc_grace_seconds))
    return collect(grace_seconds=grace, dry_run=False, progress=progress).as_json()


def queue_periodic() -> list[int]:
    """Queue a "gc" job unless one is active or was queued within COMMONS_GC_INTERVAL_SECONDS
    (each worker calls this on that interval; the first to find none due queues it)."""
    interval = get_settings().gc_interval_seconds
    if interval <= 0:
        return []
    with write_session() as session:
        recent = select(Job.id).where(
            Job.kind == "gc",
            (Job.status.in_(jobs.ACTIVE))
            | (Job.created_at >= utcnow() - timedelta(seconds=interval * 0.9)),
        )
        if session.scalar(recent.limit(1)) is not None:
            return []
        job_ids = [jobs.create_job(session, "gc", {}).id]
    jobs.announce(job_ids)
    return job_ids
