"""Reading the per-commit file index: tree listings, paths-info and single entries.

Read routes never walk git trees; they read these rows (ARCHITECTURE.md, "Decisions").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from modelcommons.db.engine import read_session
from modelcommons.db.models import FileEntry as FileEntry  # re-exported: edges name it
from modelcommons.db.models import Ref, Repo, StoredObject
from modelcommons.errors import EntryNotFoundError
from modelcommons.hub import refs
from modelcommons.hub.accounts import Principal
from modelcommons.hub.lfs import find_object
from modelcommons.hub.names import RepoType, escape_like
from modelcommons.hub.repos import get_repo
from modelcommons.hub.upload_modes import lfs_patterns
from modelcommons.storage import get_git


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


def main_files(
    session: Session, repos: list[Repo], *, max_files: int
) -> tuple[list[Repo], dict[int, tuple[str, list[FileEntry]]]]:
    """The repos of a listing whose main-branch files fit in `max_files` (the first always
    does), and for each its head and files."""
    heads = dict(
        session.execute(
            select(Ref.repo_id, Ref.target).where(
                Ref.repo_id.in_([r.id for r in repos]), Ref.name == refs.HEADS + refs.DEFAULT_BRANCH
            )
        ).all()
    )
    files: dict[int, tuple[str, list[FileEntry]]] = {}
    listed = 0
    for count, repo in enumerate(repos):
        if listed >= max_files:
            return repos[:count], files
        if repo.id in heads:
            files[repo.id] = (
                heads[repo.id],
                list(files_at(session, repo, heads[repo.id]).values()),
            )
            listed += len(files[repo.id][1])
    return repos, files


@dataclass(frozen=True)
class ResolvedFile:
    """A file a download names: its repo, the commit the revision points at, its index row,
    and for a large file the stored object behind it."""

    repo: Repo
    sha: str
    entry: FileEntry
    stored: StoredObject | None


def resolve_file(
    principal: Principal, repo_type: RepoType, repo_id: str, rev: str, path: str
) -> ResolvedFile:
    """The file at `path` in `rev`, in a transaction of its own: a download's bytes are sent
    after it ends."""
    with read_session() as session:
        repo = get_repo(session, principal, repo_type, repo_id)
        sha = refs.resolve_revision(session, repo, rev)
        entry = get_file(session, repo, sha, path)
        stored = find_object(session, entry.lfs_sha256) if entry.lfs_sha256 else None
        return ResolvedFile(repo, sha, entry, stored)


@dataclass(frozen=True)
class BranchFiles:
    """A branch's head commit, its files by path, and the LFS patterns of its .gitattributes."""

    sha: str
    files: dict[str, FileEntry]
    lfs_patterns: list[str]


def branch_files(
    principal: Principal, repo_type: RepoType, repo_id: str, branch: str
) -> BranchFiles:
    """What a preupload is answered from, for a writer; the .gitattributes is read from the
    store after the transaction ends."""
    with read_session() as session:
        repo = get_repo(session, principal, repo_type, repo_id, need="write")
        sha = refs.branch_head(session, repo, branch)
        current = files_at(session, repo, sha)
    attributes = current.get(".gitattributes")
    patterns = (
        lfs_patterns(get_git().blob_data(attributes.oid).decode(errors="replace"))
        if (attributes and not attributes.lfs_sha256)
        else []
    )
    return BranchFiles(sha, current, patterns)
