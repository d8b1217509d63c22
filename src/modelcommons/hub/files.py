"""Reading the per-commit file index: tree listings, paths-info and single entries.

Read routes never walk git trees; they read these rows (ARCHITECTURE.md, "Decisions").
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from modelcommons.db.models import FileEntry as FileEntry  # re-exported: edges name it
from modelcommons.db.models import Repo
from modelcommons.errors import EntryNotFoundError
from modelcommons.hub.names import escape_like


def get_entry(session: Session, repo: Repo, sha: str, path: str) -> FileEntry:
    entry = session.get(FileEntry, (repo.id, sha, path))
    if entry is None:
        raise EntryNotFoundError(f"{path} does not exist in {repo.repo_id} at {sha}.", commit=sha)
    return entry


def get_file(session: Session, repo: Repo, sha: str, path: str) -> FileEntry:
    entry = get_entry(session, repo, sha, path.rstrip("/"))
    if entry.kind != "file":
        raise EntryNotFoundError(f"{path} is a folder in {repo.repo_id}, not a file.", commit=sha)
    return entry


def list_tree(
    session: Session,
    repo: Repo,
    sha: str,
    *,
    path: str = "",
    recursive: bool = False,
    after: str | None = None,
    limit: int = 1000,
) -> list[FileEntry]:
    """Entries under `path` ('' = root) in path order, paginated by the last path seen."""
    path = path.strip("/")
    if path:
        folder = get_entry(session, repo, sha, path)
        if folder.kind != "directory":
            raise EntryNotFoundError(f"{path} is a file, not a folder.", commit=sha)
    stmt = select(FileEntry).where(FileEntry.repo_id == repo.id, FileEntry.commit_sha == sha)
    if recursive and path:
        stmt = stmt.where(
            or_(FileEntry.dir == path, FileEntry.dir.like(escape_like(path) + "/%", escape="\\"))
        )
    elif not recursive:
        stmt = stmt.where(FileEntry.dir == path)
    if after is not None:
        stmt = stmt.where(FileEntry.path > after)
    return list(session.scalars(stmt.order_by(FileEntry.path).limit(limit)))


# Paths looked up per query: databases bound the number of parameters in one statement.
_PATHS_PER_QUERY = 500


def paths_info(session: Session, repo: Repo, sha: str, paths: Sequence[str]) -> list[FileEntry]:
    """Entries for the given paths that exist; missing ones are left out, as the Hub does."""
    wanted = sorted({p.strip("/") for p in paths if p.strip("/")})
    found: list[FileEntry] = []
    for start in range(0, len(wanted), _PATHS_PER_QUERY):
        chunk = wanted[start : start + _PATHS_PER_QUERY]
        stmt = select(FileEntry).where(
            FileEntry.repo_id == repo.id, FileEntry.commit_sha == sha, FileEntry.path.in_(chunk)
        )
        found.extend(session.scalars(stmt))
    return sorted(found, key=lambda entry: entry.path)


def files_at(session: Session, repo: Repo, sha: str) -> dict[str, FileEntry]:
    """Every file (not folder) of a commit, by path."""
    stmt = select(FileEntry).where(
        FileEntry.repo_id == repo.id, FileEntry.commit_sha == sha, FileEntry.kind == "file"
    )
    return {e.path: e for e in session.scalars(stmt)}
