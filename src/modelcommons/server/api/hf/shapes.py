"""JSON shapes of the HF protocol, built from our rows (field names as the clients read them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from modelcommons.db.engine import Session
from modelcommons.hub import scans
from modelcommons.hub.files import FileEntry
from modelcommons.hub.refs import Commit
from modelcommons.hub.repos import Repo

URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def repo_url(base: str, repo: Repo) -> str:
    return f"{base}/{URL_PREFIX[repo.type]}{repo.repo_id}"


def repo_summary(repo: Repo, tags: list[str]) -> dict[str, Any]:
    """What listings return for each repo."""
    info: dict[str, Any] = {
        "_id": str(repo.id),
        "id": repo.repo_id,
        "author": repo.namespace,
        "private": repo.private,
        "gated": False,
        "disabled": False,
        "downloads": repo.downloads,
        "likes": repo.likes,
        "tags": tags,
        "createdAt": iso(repo.created_at),
        "lastModified": iso(repo.last_modified),
    }
    if repo.type == "model":
        info["pipeline_tag"] = repo.pipeline_tag
        info["library_name"] = repo.library_name
        info["modelId"] = repo.repo_id
    return info


def repo_info(
    repo: Repo,
    tags: list[str],
    *,
    sha: str,
    files: list[FileEntry],
    used_storage: int,
    blobs: bool,
) -> dict[str, Any]:
    info = repo_summary(repo, tags)
    info["sha"] = sha
    info["cardData"] = repo.card_data or {}
    info["siblings"] = [sibling(f, blobs=blobs) for f in files]
    info["usedStorage"] = used_storage
    if repo.card_error:
        info["cardError"] = repo.card_error
    return info


def sibling(entry: FileEntry, *, blobs: bool) -> dict[str, Any]:
    item: dict[str, Any] = {"rfilename": entry.path}
    if blobs:
        item["size"] = entry.size
        item["blobId"] = entry.oid
        if entry.lfs_sha256:
            item["lfs"] = {
                "size": entry.size,
                "sha256": entry.lfs_sha256,
                "pointerSize": entry.pointer_size,
            }
    return item


def tree_entry(
    session: Session, entry: FileEntry, *, expand: bool, commits: dict[str, Commit]
) -> dict[str, Any]:
    if entry.kind == "directory":
        item: dict[str, Any] = {"type": "directory", "oid": entry.oid, "path": entry.path}
    else:
        item = {"type": "file", "oid": entry.oid, "size": entry.size, "path": entry.path}
        if entry.lfs_sha256:
            item["lfs"] = {
                "oid": entry.lfs_sha256,
                "size": entry.size,
                "pointerSize": entry.pointer_size,
            }
        if entry.xet_hash:
            item["xetHash"] = entry.xet_hash
    if expand:
        last = commits.get(entry.last_commit_sha or "")
        if last is not None:
            item["lastCommit"] = {"id": last.sha, "title": last.title, "date": iso(last.created_at)}
        if entry.kind == "file":
            item["securityFileStatus"] = scans.scan_status(
                session, entry.path, entry.lfs_sha256 or entry.oid
            )
    return item


def commit_entry(commit: Commit, *, formatted: bool) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": commit.sha,
        "authors": [{"user": commit.author}],
        "date": iso(commit.created_at),
        "title": commit.title,
        "message": commit.message,
    }
    if formatted:
        item["formatted"] = {"title": commit.title, "message": commit.message}
    return item
