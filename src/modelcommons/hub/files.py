"""Reading the paged file index (hub/index.py): tree listings, paths-info and single entries.

Read routes never walk git trees; they read index rows (ARCHITECTURE.md, "Decisions"), and
each costs what it returns: the folders on a path, and the pages a listing shows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelcommons.db.engine import in_batches, read_session
from modelcommons.db.models import Ref, Repo, StoredObject
from modelcommons.db.vocabulary import EntryKind
from modelcommons.errors import EntryNotFoundError, InvalidInputError
from modelcommons.hub import index, refs
from modelcommons.hub.accounts import Principal
from modelcommons.hub.lfs import find_object
from modelcommons.hub.names import RepoType
from modelcommons.hub.repos import get_repo
from modelcommons.hub.upload_modes import lfs_patterns
from modelcommons.storage import get_git


@dataclass(frozen=True)
class FileEntry:
    """A file or folder of a commit, as listings, paths-info and downloads describe it."""

    path: str
    kind: EntryKind
    oid: str  # git blob id (file) or tree id (folder)
    size: int
    lfs_sha256: str | None
    pointer_size: int | None
    xet_hash: str | None  # set when the file's bytes are stored as Xet
    last_commit_sha: str | None

    @property
    def dir(self) -> str:
        return self.path.rpartition("/")[0]


def _entries(session: Session, found: Sequence[tuple[str, index.Row]]) -> list[FileEntry]:
    """Index rows → entries, with the Xet hash of each large file (one query for them all)."""
    xet: dict[str, str] = {}
    for chunk in in_batches(row.lfs_sha256 for _, row in found if row.lfs_sha256):
        stmt = select(StoredObject.sha256, StoredObject.location).where(
            StoredObject.sha256.in_(chunk), StoredObject.kind == "xet"
        )
        xet.update(session.execute(stmt).tuples().all())  # a Result has keys(): not a mapping
    return [
        FileEntry(
            path,
            row.kind,
            row.oid,
            row.size,
            row.lfs_sha256,
            row.pointer_size,
            xet.get(row.lfs_sha256) if row.lfs_sha256 else None,
            row.last_commit_sha,
        )
        for path, row in found
    ]


def get_entry(session: Session, repo: Repo, sha: str, path: str) -> FileEntry:
    row = index.find(session, index.root_of(session, repo.id, sha), path) if path else None
    if row is None:
        raise EntryNotFoundError(f"{path} does not exist in {repo.repo_id} at {sha}.", commit=sha)
    return _entries(session, [(path, row)])[0]


def get_file(session: Session, repo: Repo, sha: str, path: str) -> FileEntry:
    entry = get_entry(session, repo, sha, path.rstrip("/"))
    if entry.kind != "file":
        raise EntryNotFoundError(f"{path} is a folder in {repo.repo_id}, not a file.", commit=sha)
    return entry


def _folder_id(session: Session, repo: Repo, sha: str, path: str) -> str:
    root = index.root_of(session, repo.id, sha)
    if not path:
        return root
    row = index.find(session, root, path)
    if row is None:
        raise EntryNotFoundError(f"{path} does not exist in {repo.repo_id} at {sha}.", commit=sha)
    if row.kind != "directory" or row.folder_id is None:
        raise EntryNotFoundError(f"{path} is a file, not a folder.", commit=sha)
    return row.folder_id


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
    """Entries under `path` ('' = root), a page of `limit` from right after the path `after`.

    Each folder lists in name order; recursively, a folder's contents follow it.
    """
    path = path.strip("/")
    folder = _folder_id(session, repo, sha, path)
    prefix = path + "/" if path else ""
    resume = None
    if after is not None:
        if not after.startswith(prefix) or after == prefix:
            raise InvalidInputError(f"The cursor does not belong to a listing of {path or '/'}.")
        resume = after.removeprefix(prefix).split("/")
        if not recursive and len(resume) > 1:
            raise InvalidInputError(f"The cursor does not belong to a listing of {path or '/'}.")
    walked = index.walk(session, folder, prefix, recursive=recursive, after=resume)
    return _entries(session, list(islice(walked, limit)))


def iter_files(session: Session, repo: Repo, sha: str, *, batch: int = 1000) -> Iterator[FileEntry]:
    """Every file (not folder) of a commit, in listing order, read a batch at a time."""
    walked = (
        item
        for item in index.walk(session, index.root_of(session, repo.id, sha), "", recursive=True)
        if item[1].kind == "file"
    )
    while chunk := list(islice(walked, batch)):
        yield from _entries(session, chunk)


def folder_counts(session: Session, repo: Repo, sha: str, path: str = "") -> tuple[int, int]:
    """(files, bytes) below a folder, recursively, as its index row keeps them."""
    folder = index.get_folder(session, _folder_id(session, repo, sha, path.strip("/")))
    return folder.file_count, folder.total_bytes


def paths_info(session: Session, repo: Repo, sha: str, paths: Sequence[str]) -> list[FileEntry]:
    """Entries for the given paths that exist; missing ones are left out, as the Hub does."""
    wanted = sorted({p.strip("/") for p in paths if p.strip("/")})
    found = index.find_many(session, index.root_of(session, repo.id, sha), wanted)
    return _entries(session, sorted(found.items()))


def changed_files(
    session: Session, repo: Repo, before: str | None, after: str
) -> dict[str, tuple[FileEntry | None, FileEntry | None]]:
    """The files that differ between two commits, (old, new) by path; reads only the folders
    and pages that differ."""
    old_root = index.root_of(session, repo.id, before) if before else None
    changed = list(index.diff(session, old_root, index.root_of(session, repo.id, after)))
    olds = {e.path: e for e in _entries(session, [(p, a) for p, a, _ in changed if a])}
    news = {e.path: e for e in _entries(session, [(p, b) for p, _, b in changed if b])}
    return {path: (olds.get(path), news.get(path)) for path, _, _ in changed}


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
        if repo.id in heads:
            total = index.get_folder(session, index.root_of(session, repo.id, heads[repo.id]))
            if count and listed + total.file_count > max_files:
                return repos[:count], files
            files[repo.id] = (heads[repo.id], list(iter_files(session, repo, heads[repo.id])))
            listed += total.file_count
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
    """A branch's head commit, its entries for some paths, and its .gitattributes' LFS patterns."""

    sha: str
    files: dict[str, FileEntry]
    lfs_patterns: list[str]


def branch_files(
    principal: Principal, repo_type: RepoType, repo_id: str, branch: str, paths: Sequence[str]
) -> BranchFiles:
    """What a preupload is answered from, for a writer: the branch's entries for the paths
    asked about (not its every file); the .gitattributes is read after the transaction ends."""
    with read_session() as session:
        repo = get_repo(session, principal, repo_type, repo_id, need="write")
        sha = refs.branch_head(session, repo, branch)
        found = paths_info(session, repo, sha, [*paths, ".gitattributes"])
    current = {e.path: e for e in found if e.kind == "file"}
    attributes = current.get(".gitattributes")
    patterns = (
        lfs_patterns(get_git().blob_data(attributes.oid).decode(errors="replace"))
        if (attributes and not attributes.lfs_sha256)
        else []
    )
    return BranchFiles(sha, current, patterns)
