"""Making commits: apply operations on a branch head, write git objects, move the ref.

Optimistic concurrency: the new commit is built outside any lock, then the branch moves by
compare-and-swap. A client that named its parent gets 412 when it lost the race; a client
that did not is rebased onto the new head and retried, so no writer loses another's commit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from modelcommons.db.engine import read_session, write_session
from modelcommons.db.models import Commit, FileEntry, Repo, utcnow
from modelcommons.errors import (
    ConflictError,
    EntryNotFoundError,
    InvalidInputError,
    StaleParentError,
)
from modelcommons.hub import cards, evaluations, jobs, lineage, refs, scans
from modelcommons.hub.accounts import Principal
from modelcommons.hub.lfs import find_object, pointer, validate_oid
from modelcommons.hub.names import validate_path
from modelcommons.hub.repos import new_repo, set_tags
from modelcommons.storage import get_git
from modelcommons.storage.git import TreeLeaf

MAX_REBASES = 10
CARD_PATH = "README.md"


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


def _prepare(session: Session, operations: list[Operation]) -> dict[str, _Blob | None]:
    """Validate operations and write their blobs. Path → blob, or None for a deletion."""
    git = get_git()
    changes: dict[str, _Blob | None] = {}
    for op in operations:
        path = validate_path(op.path.rstrip("/") if isinstance(op, Delete) else op.path)
        if isinstance(op, AddFile):
            changes[path] = _Blob(git.add_blob(op.content), len(op.content))
        elif isinstance(op, AddLfsFile):
            validate_oid(op.sha256)
            obj = find_object(session, op.sha256)
            if obj is None:
                raise InvalidInputError(
                    f"LFS object {op.sha256} for {path} was never uploaded; upload it first."
                )
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


def _apply(
    parent_files: dict[str, FileEntry], changes: dict[str, _Blob | None]
) -> dict[str, _Blob]:
    files = {
        path: _Blob(e.oid, e.size, e.lfs_sha256, e.pointer_size, e.xet_hash)
        for path, e in parent_files.items()
    }
    for path, blob in changes.items():
        if blob is not None:
            if any(f.startswith(path + "/") for f in files):
                raise ConflictError(f"Cannot add file {path}: a folder of that name exists.")
            files[path] = blob
        elif path.endswith("/"):
            doomed = [f for f in files if f.startswith(path)]
            if not doomed:
                raise EntryNotFoundError(f"A folder with this name doesn't exist: {path}")
            for f in doomed:
                del files[f]
        elif files.pop(path, None) is None:
            raise EntryNotFoundError(f"A file with this name doesn't exist: {path}")
    return files


def _index_rows(
    repo: Repo,
    sha: str,
    files: dict[str, _Blob],
    tree_ids: dict[str, str],
    parent_rows: dict[str, FileEntry],
) -> list[dict[str, object]]:
    """One row per file and folder; unchanged ones keep the commit that last touched them."""

    def row(path: str, kind: str, oid: str, blob: _Blob | None) -> dict[str, object]:
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


def _index_card(session: Session, repo: Repo, files: dict[str, _Blob]) -> None:
    card_blob = files.get(CARD_PATH)
    text = ""
    if card_blob is not None and not card_blob.lfs_sha256:
        text = get_git().blob_data(card_blob.blob_id).decode("utf-8", errors="replace")
    card = cards.parse_card(text)
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
    ref = refs.branch_ref(branch)
    with read_session() as session:
        repo = session.get(Repo, repo_id)
        assert repo is not None
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
            if ref == refs.HEADS + refs.DEFAULT_BRANCH:
                repo.last_modified = utcnow()
                if CARD_PATH in changes or head is None:
                    _index_card(session, repo, files)
            added = [p for p, b in changes.items() if b is not None]
            job_ids = scans.queue_scans(session, [(p, files[p]) for p in added])
        jobs.dispatch(job_ids)
        return CommitResult(sha=sha, parent=head)
    raise ConflictError(f"The branch {branch} is too busy; retry the commit.")


def create_repo(principal: Principal, *, repo_type: str, repo_id: str, private: bool) -> Repo:
    """A new repo with its first commit (a .gitattributes that sends binaries to LFS)."""
    with write_session() as session:
        repo = new_repo(session, principal, repo_type=repo_type, repo_id=repo_id, private=private)
        lineage.link_new_name(session, repo)
    assert principal.user is not None
    initial_commit(repo, author=principal.user.name)
    return repo


def initial_commit(repo: Repo, *, author: str) -> CommitResult:
    from modelcommons.hub.upload_modes import DEFAULT_GITATTRIBUTES

    return create_commit(
        repo.id,
        branch=refs.DEFAULT_BRANCH,
        author=author,
        summary="initial commit",
        operations=[AddFile(".gitattributes", DEFAULT_GITATTRIBUTES.encode())],
        new_branch=True,
    )
