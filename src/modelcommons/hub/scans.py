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


def needs_scan(path: str) -> bool:
    return PurePosixPath(path).suffix.lower() in PICKLE_EXTENSIONS


def content_key(file: _FileLike) -> str:
    return file.lfs_sha256 or file.blob_id


def queue_scans(session: Session, files: Sequence[tuple[str, _FileLike]]) -> list[int]:
    """Record pending scans for new pickle-format content; returns the jobs to dispatch."""
    job_ids = []
    for path, file in files:
        key = content_key(file)
        if not needs_scan(path) or session.get(Scan, key) is not None:
            continue
        session.add(Scan(content_key=key, status="pending"))
        job = jobs.create_job(
            session, "scan", {"content_key": key, "lfs": bool(file.lfs_sha256), "path": path}
        )
        job_ids.append(job.id)
    return job_ids


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


def run_scan(job: Job, progress: jobs.Progress) -> dict[str, Any]:
    """The "scan" job's handler (jobs/handlers.py): the verdict on one content's imports."""
    key, path = job.args["content_key"], job.args["path"]
    if job.args["lfs"]:
        with read_session() as session:
            stored = session.get(StoredObject, key)
        if stored is None:
            raise NotFoundError(f"The object {key} to scan is gone.")
        local = objects.local_path(stored)
        if local is not None:
            with open(local, "rb") as f:
                verdict = _scan_bytes(f, path)
        else:
            verdict = _scan_bytes(io.BytesIO(b"".join(objects.iter_object(stored))), path)
    else:
        verdict = _scan_bytes(io.BytesIO(get_git().blob_data(key)), path)
    with write_session() as session:
        scan = session.get(Scan, key) or Scan(content_key=key)
        scan.status, scan.detail, scan.scanned_at = verdict["status"], verdict, utcnow()
        session.merge(scan)
    progress.progress(1.0, f"{path}: {verdict['status']}")
    return verdict


def verdict_for(key: str) -> str | None:
    with read_session() as session:
        scan = session.get(Scan, key)
        return scan.status if scan else None
