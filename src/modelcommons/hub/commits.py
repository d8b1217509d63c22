"""Making commits: apply operations on a branch head, write git objects, move the ref.

Optimistic concurrency: the new commit is built outside any lock, then the branch moves by
compare-and-swap. A client that named its parent gets 412 when it lost the race; a client
that did not is rebased onto the new head and retried, so no writer loses another's commit.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from modelcommons.config import get_settings
from modelcommons.db.engine import read_session, write_session
from modelcommons.db.models import Commit, FileEntry, Repo, utcnow
from modelcommons.db.vocabulary import EntryKind
from modelcommons.errors import (
    ConflictError,
    EntryNotFoundError,
    InvalidInputError,
    PayloadTooLargeError,
    StaleParentError,
)
from modelcommons.hub import cards, evaluations, jobs, lineage, refs, scans
from modelcommons.hub.lfs import find_objects, pointer, unknown_object, validate_oid
from modelcommons.hub.names import validate_path
from modelcommons.hub.repos import set_tags
from modelcommons.storage import get_git
from modelcommons.storage.git import TreeLeaf

MAX_REBASES = 10
CARD_PATH = "README.md"
# Every history page lists 50 titles and every file list one per file, for anyone to read:
# a 1 MB summary made a repo's history page 50 MB. Git has no limit; these leave room for
# any real message.
MAX_SUMMARY_CHARS = 1_000
MAX_DESCRIPTION_CHARS = 100_000


@dataclass(frozen=True)
class AddFile:
    path: str
    content: bytes


@dataclass(frozen=True)
class AddLfsFile:
    path: str
    sha256: str
    size: int | None  # None: a copy of an object already stored; look its size up


@dataclass(frozen=True)
class Delete:
    path: str
    folder: bool = False


Operation = AddFile | AddLfsFile | Delete


@dataclass(frozen=True)
class _Blob:
    """A file of the new tree: its git blob, and what the index row needs."""

    blob_id: str
    size: int
    lfs_sha256: str | None = None
    pointer_size: int | None = None
    xet_hash: str | None = None


def require_message_size(summary: str, description: str) -> None:
    """Refuse a commit message past what its pages show (they show it to anyone who can read)."""
    for what, text, cap in (
        ("summary", summary, MAX_SUMMARY_CHARS),
        ("description", description, MAX_DESCRIPTION_CHARS),
    ):
        if len(text.strip()) > cap:
            raise InvalidInputError(
                f"A commit {what} may be at most {cap:,} characters, this one has "
                f"{len(text.strip()):,}; put the rest in a file."
            )


def require_operation_count(count: int) -> None:
    """Refuse commits past the hub's cap on operations (COMMONS_MAX_COMMIT_OPERATIONS)."""
    cap = get_settings().max_commit_operations
    if count > cap:
        raise PayloadTooLargeError(
            f"A commit may hold at most {cap} operations, this one has {count}; "
            "split it into several commits."
        )


def require_regular_size(path: str, size: int) -> None:
    """Files kept in git are small, as on the Hub (preupload sends larger ones to LFS): git
    blobs are read whole, into memory, for every download and clone of them, so one 380 MB
    regular file in a public repo let anonymous downloads take gigabytes of the server's."""
    from modelcommons.hub.upload_modes import LFS_THRESHOLD

    if size > LFS_THRESHOLD:
        raise PayloadTooLargeError(
            f"{path} has {size} bytes: files over {LFS_THRESHOLD // 2**20} MiB go through "
            "LFS (the client's preupload asks for it), not inline in a commit."
        )


def _prepare(session: Session, operations: list[Operation]) -> dict[str, _Blob | None]:
    """Validate operations and write their blobs. Path → blob, or None for a deletion."""
    git = get_git()
    stored = find_objects(
        session, [validate_oid(op.sha256) for op in operations if isinstance(op, AddLfsFile)]
    )
    changes: dict[str, _Blob | None] = {}
    for op in operations:
        path = validate_path(op.path.rstrip("/") if isinstance(op, Delete) else op.path)
        if isinstance(op, AddFile):
            require_regular_size(path, len(op.content))
            changes[path] = _Blob(git.add_blob(op.content), len(op.content))
        elif isinstance(op, AddLfsFile):
            obj = stored.get(op.sha256)
            if obj is None:
                raise unknown_object(op.sha256, path)
            if op.size is not None and op.size != obj.size:
                raise InvalidInputError(
                    f"LFS object {op.sha256} has {obj.size} bytes, not {op.size} as announced."
                )
            data = pointer(op.sha256, obj.size)
            xet_hash = obj.location if obj.kind == "xet" else None
            changes[path] = _Blob(git.add_blob(data), obj.size, op.sha256, len(data), xet_hash)
        else:
            changes[path + ("/" if op.folder else "")] = None
    return changes


def _ancestors(path: str) -> Iterator[str]:
    """The folders holding a path, nearest first, ending with the root ("")."""
    while path:
        path = path.rpartition("/")[0]
        yield path


class _Tree:
    """A commit's files with each folder's direct entries, so that every operation costs
    the depth of its path (a deleted folder, its own size) instead of a scan of all files."""

    def __init__(self, files: dict[str, _Blob]) -> None:
        self.files: dict[str, _Blob] = {}
        self.entries: dict[str, set[str]] = {"": set()}
        for path, blob in files.items():
            self._link(path)
            self.files[path] = blob

    def _link(self, path: str) -> None:
        for folder in _ancestors(path):
            known = folder in self.entries
            self.entries.setdefault(folder, set()).add(path)
            if known:
                return
            path = folder

    def _unlink(self, path: str) -> None:
        for folder in _ancestors(path):
            entries = self.entries[folder]
            entries.discard(path)
            if entries or not folder:
                return
            del self.entries[folder]  # git has no empty folders
            path = folder

    def add(self, path: str, blob: _Blob) -> None:
        if path in self.entries:
            raise ConflictError(f"Cannot add file {path}: a folder of that name exists.")
        clash = next((f for f in _ancestors(path) if f in self.files), None)
        if clash is not None:
            raise ConflictError(f"Cannot add file {path}: {clash} is a file.")
        if path not in self.files:
            self._link(path)
        self.files[path] = blob

    def delete_file(self, path: str) -> None:
        if self.files.pop(path, None) is None:
            raise EntryNotFoundError(f"A file with this name doesn't exist: {path}")
        self._unlink(path)

    def delete_folder(self, folder: str) -> None:
        if folder not in self.entries or not folder:
            raise EntryNotFoundError(f"A folder with this name doesn't exist: {folder}/")
        pending = [folder]
        while pending:
            for entry in self.entries.pop(pending.pop()):
                if entry in self.files:
                    del self.files[entry]
                else:
                    pending.append(entry)
        self._unlink(folder)


def _apply(
    parent_files: dict[str, FileEntry], changes: dict[str, _Blob | None]
) -> dict[str, _Blob]:
    tree = _Tree(
        {
            path: _Blob(e.oid, e.size, e.lfs_sha256, e.pointer_size, e.xet_hash)
            for path, e in parent_files.items()
        }
    )
    for path, blob in changes.items():
        if blob is not None:
            tree.add(path, blob)
        elif path.endswith("/"):
            tree.delete_folder(path.removesuffix("/"))
        else:
            tree.delete_file(path)
    return tree.files


def _index_rows(
    repo: Repo,
    sha: str,
    files: dict[str, _Blob],
    tree_ids: dict[str, str],
    parent_rows: dict[str, FileEntry],
) -> list[dict[str, object]]:
    """One row per file and folder; unchanged ones keep the commit that last touched them."""

    def row(path: str, kind: EntryKind, oid: str, blob: _Blob | None) -> dict[str, object]:
        before = parent_rows.get(path)
        unchanged = before is not None and before.oid == oid
        return {
            "repo_id": repo.id,
            "commit_sha": sha,
            "path": path,
            "dir": path.rpartition("/")[0],
            "kind": kind,
            "oid": oid,
            "size": blob.size if blob else 0,
            "lfs_sha256": blob.lfs_sha256 if blob else None,
            "pointer_size": blob.pointer_size if blob else None,
            "xet_hash": blob.xet_hash if blob else None,
            "last_commit_sha": (before.last_commit_sha or sha) if before and unchanged else sha,
        }

    rows = [row(path, "file", blob.blob_id, blob) for path, blob in files.items()]
    rows += [row(path, "directory", tree_id, None) for path, tree_id in tree_ids.items() if path]
    return rows


def _all_rows(session: Session, repo: Repo, sha: str | None) -> dict[str, FileEntry]:
    if sha is None:
        return {}
    stmt = select(FileEntry).where(FileEntry.repo_id == repo.id, FileEntry.commit_sha == sha)
    return {e.path: e for e in session.scalars(stmt)}


def _read_card(files: dict[str, _Blob]) -> tuple[cards.CardMetadata, str]:
    """The card of a commit's files and its text. Parsed before the write transaction:
    parsing YAML is slow, and nothing should hold the write lock others wait for."""
    card_blob = files.get(CARD_PATH)
    text = ""
    if card_blob is not None and not card_blob.lfs_sha256:
        text = get_git().blob_data(card_blob.blob_id).decode("utf-8", errors="replace")
    return cards.parse_card(text), text


def _index_card(session: Session, repo: Repo, card: cards.CardMetadata, text: str) -> None:
    lineage_before = (repo.license, repo.base_models, repo.datasets)
    repo.card_data, repo.card_error = card.data, card.error
    repo.license, repo.pipeline_tag, repo.library_name = (
        card.license,
        card.pipeline_tag,
        card.library_name,
    )
    repo.base_models, repo.base_model_relation = card.base_models, card.base_model_relation
    repo.datasets = card.datasets
    repo.search_text = cards.search_text(card, text)
    set_tags(session, repo, card.tags)
    lineage.index_lineage(session, repo)
    evaluations.index_self_reported(session, repo)
    changed = (repo.license, repo.base_models, repo.datasets) != lineage_before
    lineage.check_licenses(session, repo, enforce=changed)


@dataclass(frozen=True)
class CommitResult:
    sha: str
    parent: str | None


def create_commit(
    repo_id: int,
    *,
    branch: str,
    author: str,
    summary: str,
    description: str = "",
    operations: list[Operation],
    parent_commit: str | None = None,
    new_branch: bool = False,
) -> CommitResult:
    """Commit `operations` on `branch`; see the module docstring for concurrency."""
    if not summary.strip():
        summary = "Update files"
    require_message_size(summary, description)
    ref = refs.branch_ref(branch)
    require_operation_count(len(operations))
    with read_session() as session:
        changes = _prepare(session, operations)
    for _attempt in range(MAX_REBASES):
        with read_session() as session:
            repo = session.get(Repo, repo_id)
            assert repo is not None
            head = None if new_branch else refs.branch_head(session, repo, branch)
            if parent_commit is not None and parent_commit != head:
                raise StaleParentError(
                    f"The branch {branch} moved: its head is {head}, not {parent_commit}. "
                    "Fetch the new head and try again."
                )
            parent_rows = _all_rows(session, repo, head)
        files = _apply({p: e for p, e in parent_rows.items() if e.kind == "file"}, changes)
        git = get_git()
        tree_ids = git.write_trees({p: TreeLeaf(b.blob_id) for p, b in files.items()})
        message = summary.strip() + ("\n\n" + description.strip() if description.strip() else "")
        sha = git.write_commit(
            tree_id=tree_ids[""],
            parents=[head] if head else [],
            author=author,
            message=message + "\n",
            timestamp=int(time.time()),
        )
        on_main = ref == refs.HEADS + refs.DEFAULT_BRANCH
        card = _read_card(files) if on_main and (CARD_PATH in changes or head is None) else None
        with write_session() as session:
            repo = session.get(Repo, repo_id)
            assert repo is not None
            if not refs.compare_and_swap(session, repo, ref, old=head, new=sha):
                session.rollback()
                if parent_commit is not None:
                    raise StaleParentError(f"The branch {branch} moved while committing; retry.")
                continue
            if session.get(Commit, (repo.id, sha)) is None:
                session.add(
                    Commit(
                        repo_id=repo.id,
                        sha=sha,
                        parents=head or "",
                        tree_sha=tree_ids[""],
                        author=author,
                        title=summary.strip(),
                        message=description.strip(),
                    )
                )
                session.execute(
                    insert(FileEntry), _index_rows(repo, sha, files, tree_ids, parent_rows)
                )
            if on_main:
                repo.last_modified = utcnow()
                if card is not None:
                    _index_card(session, repo, *card)
            added = [p for p, b in changes.items() if b is not None]
            job_ids = scans.queue_scans(session, [(p, files[p]) for p in added])
        jobs.announce(job_ids)
        return CommitResult(sha=sha, parent=head)
    raise ConflictError(f"The branch {branch} is too busy; retry the commit.")
