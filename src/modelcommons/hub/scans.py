"""Pickle scanning: files that unpickle on load are scanned in the job worker.

A scan verdict belongs to content (sha256 for LFS files, git blob id otherwise), so the same
bytes are scanned once whatever repo or path they appear under. Files that cannot be parsed
are treated as unsafe: what cannot be checked must not be called safe.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelcommons.db.engine import read_session, write_session
from modelcommons.db.models import Job, Scan, StoredObject, utcnow
from modelcommons.errors import NotFoundError
from modelcommons.hub import jobs, objects
from modelcommons.storage import get_git

PICKLE_EXTENSIONS = frozenset(
    {
        ".bin",
        ".pt",
        ".pth",
        ".ckpt",
        ".pkl",
        ".pickle",
        ".joblib",
        ".dat",
        ".data",
        ".npy",
        ".npz",
        ".zip",
        ".7z",
    }
)


class _FileLike(Protocol):
    @property
    def blob_id(self) -> str: ...

    @property
    def lfs_sha256(self) -> str | None: ...

    @property
    def size(self) -> int: ...


# What one scan job takes on: a commit of 10,000 pickle-format files queues 100 jobs, not
# 10,000, and a job of a few very large files still leaves the others to other workers.
SCAN_BATCH_FILES = 100
SCAN_BATCH_BYTES = 2 * 1024**3
_KEYS_PER_QUERY = 500  # databases bound the parameters of one statement


def needs_scan(path: str) -> bool:
    return PurePosixPath(path).suffix.lower() in PICKLE_EXTENSIONS


def content_key(file: _FileLike) -> str:
    return file.lfs_sha256 or file.blob_id


def _scanned(session: Session, keys: list[str]) -> set[str]:
    """Of `keys`, those with a verdict or a scan under way already."""
    known: set[str] = set()
    for start in range(0, len(keys), _KEYS_PER_QUERY):
        chunk = keys[start : start + _KEYS_PER_QUERY]
        known.update(session.scalars(select(Scan.content_key).where(Scan.content_key.in_(chunk))))
    return known


def queue_scans(session: Session, files: Sequence[tuple[str, _FileLike]]) -> list[int]:
    """Record pending scans for new pickle-format content, a batch of contents per job;
    returns the jobs to dispatch."""
    todo: dict[str, tuple[str, _FileLike]] = {}
    for path, file in files:
        if needs_scan(path):
            todo.setdefault(content_key(file), (path, file))
    for key in _scanned(session, sorted(todo)):
        del todo[key]
    batches: list[list[dict[str, Any]]] = []
    batch_bytes = 0
    for key, (path, file) in todo.items():
        session.add(Scan(content_key=key, status="pending"))
        full = batches and (
            len(batches[-1]) >= SCAN_BATCH_FILES or batch_bytes + file.size > SCAN_BATCH_BYTES
        )
        if not batches or full:
            batches.append([])
            batch_bytes = 0
        batches[-1].append({"content_key": key, "lfs": bool(file.lfs_sha256), "path": path})
        batch_bytes += file.size
    return [jobs.create_job(session, "scan", {"items": batch}).id for batch in batches]


def scan_status(session: Session, path: str, key: str) -> dict[str, Any]:
    """`securityFileStatus` as tree listings with expand=true return it."""
    if not needs_scan(path):
        return {
            "status": "safe",
            "avScan": None,
            "pickleImportScan": None,
            "reason": "not a pickle format",
        }
    scan = session.get(Scan, key)
    if scan is None:
        return {"status": "pending", "avScan": None, "pickleImportScan": None}
    detail = scan.detail or {}
    return {
        "status": scan.status,
        "avScan": None,  # no antivirus runs here; only the pickle import scan
        "pickleImportScan": {"status": scan.status, "imports": detail.get("imports", [])}
        if scan.status != "pending"
        else None,
        "reason": detail.get("reason"),
    }


def _scan_bytes(data: io.BufferedIOBase | io.BytesIO, path: str) -> dict[str, Any]:
    from picklescan.scanner import SafetyLevel, scan_bytes

    result = scan_bytes(data, path, PurePosixPath(path).suffix.lower())
    imports = [
        {"module": g.module, "name": g.name, "safety": g.safety.value} for g in result.globals
    ]
    dangerous = any(g.safety == SafetyLevel.Dangerous for g in result.globals)
    if result.scan_err:
        return {
            "status": "unsafe",
            "imports": imports,
            "reason": "could not be parsed; not verified",
        }
    if dangerous or result.infected_files:
        return {"status": "unsafe", "imports": imports, "reason": "dangerous imports"}
    return {"status": "safe", "imports": imports, "reason": None}


def _scan_one(key: str, lfs: bool, path: str) -> dict[str, Any]:
    if lfs:
        with read_session() as session:
            stored = session.get(StoredObject, key)
        if stored is None:
            raise NotFoundError(f"The object {key} to scan is gone.")
        local = objects.local_path(stored)
        if local is not None:
            with open(local, "rb") as f:
                return _scan_bytes(f, path)
        return _scan_bytes(io.BytesIO(b"".join(objects.iter_object(stored))), path)
    return _scan_bytes(io.BytesIO(get_git().blob_data(key)), path)


def _pending(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items still without a verdict: a retried job skips what it already scanned."""
    with read_session() as session:
        keys = [item["content_key"] for item in items]
        done = set(
            session.scalars(
                select(Scan.content_key).where(Scan.content_key.in_(keys), Scan.status != "pending")
            )
        )
    return [item for item in items if item["content_key"] not in done]


def run_scan(job: Job, progress: jobs.Progress) -> dict[str, Any]:
    """The "scan" job's handler (jobs/handlers.py): the verdict on each content's imports,
    recorded as each is reached. Jobs queued before batching name one content at the top
    level of their arguments."""
    items: list[dict[str, Any]] = job.args.get("items") or [job.args]
    todo = _pending(items)
    verdicts: dict[str, str] = {}
    failed: list[str] = []
    for number, item in enumerate(todo):
        key, path = item["content_key"], item["path"]
        progress.step(number / max(len(todo), 1), f"scanning {path}")
        try:
            verdict = _scan_one(key, bool(item["lfs"]), path)
        except (OSError, NotFoundError) as exc:  # the others still get their verdicts
            failed.append(f"{path}: {exc}")
            continue
        with write_session() as session:
            scan = session.get(Scan, key) or Scan(content_key=key)
            scan.status, scan.detail, scan.scanned_at = verdict["status"], verdict, utcnow()
            session.merge(scan)
        verdicts[path] = verdict["status"]
    if failed:
        raise NotFoundError("Could not scan " + "; ".join(failed))
    progress.progress(1.0, f"{len(verdicts)} scanned, {len(items) - len(todo)} already done")
    return {"verdicts": verdicts}


def verdict_for(key: str) -> str | None:
    with read_session() as session:
        scan = session.get(Scan, key)
        return scan.status if scan else None
