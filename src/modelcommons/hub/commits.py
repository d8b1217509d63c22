"""Making commits: apply operations on a branch head, write git objects, move the ref.

A commit is first built outside any lock (its blobs, trees and index pages) and the branch
moves by compare-and-swap. A client that named its parent gets 412 when it lost that race; a
client that did not is rebuilt on the new head while holding the branch (a row lock on
PostgreSQL, the write lock on SQLite), so the second attempt cannot lose: every commit lands,
once, on one linear history, however many arrive together.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from modelcommons.config import get_settings
from modelcommons.db.engine import read_session, write_session
from modelcommons.db.models import Commit, Repo, utcnow
from modelcommons.errors import (
    ConflictError,
    InvalidInputError,
    PayloadTooLargeError,
    StaleParentError,
)
from modelcommons.hub import cards, evaluations, gc_notes, index, jobs, lineage, refs, scans
from modelcommons.hub.lfs import find_objects, pointer, unknown_object, validate_oid
from modelcommons.hub.names import validate_path
from modelcommons.hub.repos import set_tags
from modelcommons.storage import get_git, get_store

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


def _prepare(session: Session, operations: list[Operation]) -> dict[str, index.Change]:
    """Validate operations and write their blobs (all at once: a store round trip costs more
    than the blob). Path → its new file, or a deletion, in the operations' order."""
    stored = find_objects(
        session, [validate_oid(op.sha256) for op in operations if isinstance(op, AddLfsFile)]
    )
    paths = [
        validate_path(op.path.rstrip("/") if isinstance(op, Delete) else op.path)
        for op in operations
    ]
    contents: list[bytes] = []  # each added file's git blob, in the operations' order
    for op, path in zip(operations, paths, strict=True):
        if isinstance(op, AddFile):
            require_regular_size(path, len(op.content))
            contents.append(op.content)
        elif isinstance(op, AddLfsFile):
            obj = stored.get(op.sha256)
            if obj is None:
                raise unknown_object(op.sha256, path)
            if op.size is not None and op.size != obj.size:
                raise InvalidInputError(
                    f"LFS object {op.sha256} has {obj.size} bytes, not {op.size} as announced."
                )
            contents.append(pointer(op.sha256, obj.size))
    blobs = iter(zip(get_git().add_blobs(contents), contents, strict=True))
    changes: dict[str, index.Change] = {}
    for op, path in zip(operations, paths, strict=True):
        # A file written where this commit deleted something first replaces it.
        earlier = changes.get(path)
        replaces = earlier if isinstance(earlier, index.Delete) else None
        if isinstance(op, AddFile):
            changes[path] = index.NewFile(next(blobs)[0], len(op.content), replaces=replaces)
        elif isinstance(op, AddLfsFile):
            blob_id, data = next(blobs)
            size = stored[op.sha256].size
            changes[path] = index.NewFile(blob_id, size, op.sha256, len(data), replaces)
        else:
            changes[path] = index.DELETE_FOLDER if op.folder else index.DELETE_FILE
    return changes


def _read_card(changes: dict[str, index.Change]) -> tuple[cards.CardMetadata, str]:
    """The card a commit writes and its text. Parsed before the write transaction: parsing
    YAML is slow, and nothing should hold the write lock others wait for."""
    card = changes.get(CARD_PATH)
    text = ""
    if isinstance(card, index.NewFile) and not card.lfs_sha256:
        text = get_git().blob_data(card.blob_id).decode("utf-8", errors="replace")
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


@dataclass(frozen=True)
class _Draft:
    """A commit built on a known head: its git objects are written, its rows are not."""

    head: str | None
    sha: str
    tree_id: str
    built: index.Built


def _draft(
    session: Session, repo: Repo, head: str | None, plan: dict[str, Any], message: str, author: str
) -> _Draft:
    """Build the commit on `head`: only the folders and pages the changes touch are read."""
    parent = session.get(Commit, (repo.id, head)) if head else None
    git = get_git()
    built = index.build(
        session,
        git,
        root=parent.index_root if parent else None,
        tree_id=parent.tree_sha if parent else None,
        changes=plan,
    )
    sha = git.write_commit(
        tree_id=built.tree_id,
        parents=[head] if head else [],
        author=author,
        message=message,
        timestamp=int(time.time()),
    )
    return _Draft(head, sha, built.tree_id, built)


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
    named = [op.sha256 for op in operations if isinstance(op, AddLfsFile)]
    with gc_notes.commit_in_flight(get_store(), named):
        return _create_commit(
            repo_id,
            ref,
            branch,
            author,
            summary,
            description,
            operations,
            parent_commit,
            new_branch,
        )


def _create_commit(
    repo_id: int,
    ref: str,
    branch: str,
    author: str,
    summary: str,
    description: str,
    operations: list[Operation],
    parent_commit: str | None,
    new_branch: bool,
) -> CommitResult:
    with read_session() as session:
        changes = _prepare(session, operations)
    plan = index.plan(changes)
    message = summary.strip() + ("\n\n" + description.strip() if description.strip() else "")
    message += "\n"
    on_main = ref == refs.HEADS + refs.DEFAULT_BRANCH
    with read_session() as session:
        repo = session.get(Repo, repo_id)
        assert repo is not None
        head = None if new_branch else refs.branch_head(session, repo, branch)
        if parent_commit is not None and parent_commit != head:
            raise StaleParentError(
                f"The branch {branch} moved: its head is {head}, not {parent_commit}. "
                "Fetch the new head and try again."
            )
        draft = _draft(session, repo, head, plan, message, author)
    card = _read_card(changes) if on_main and (CARD_PATH in changes or head is None) else None
    for locked in (False, True):
        with write_session() as session:
            repo = session.get(Repo, repo_id)
            assert repo is not None
            if locked:
                # Lost the race: hold the branch and build again on its head, which cannot move
                # until this transaction ends.
                head = None if new_branch else refs.lock_branch(session, repo, branch)
                if card is None and on_main and CARD_PATH in changes:
                    card = _read_card(changes)
                draft = _draft(session, repo, head, plan, message, author)
            if not refs.compare_and_swap(session, repo, ref, old=draft.head, new=draft.sha):
                session.rollback()
                if parent_commit is not None:
                    raise StaleParentError(f"The branch {branch} moved while committing; retry.")
                if new_branch:
                    raise ConflictError(f"Branch {branch!r} already exists in {repo.repo_id}.")
                assert not locked, "a held branch cannot move"
                continue
            _require_objects_still_stored(session, changes)
            _record(session, repo, draft, author, summary, description)
            if on_main:
                repo.last_modified = utcnow()
                if card is not None:
                    _index_card(session, repo, *card)
            added = [(p, c) for p, c in changes.items() if isinstance(c, index.NewFile)]
            job_ids = scans.queue_scans(session, added)
        jobs.announce(job_ids)
        return CommitResult(sha=draft.sha, parent=draft.head)
    raise AssertionError("unreachable: the locked attempt always lands")


def _require_objects_still_stored(session: Session, changes: dict[str, index.Change]) -> None:
    """Look the commit's LFS objects up again inside its write transaction: garbage
    collection may have taken an unreachable one after the commit's first look (past its
    grace period), and an entry must never name bytes that are gone."""
    wanted = {
        c.lfs_sha256: p
        for p, c in changes.items()
        if isinstance(c, index.NewFile) and c.lfs_sha256 is not None
    }
    stored = find_objects(session, wanted)
    for sha, path in wanted.items():
        if sha not in stored:
            raise unknown_object(sha, path)


def _record(
    session: Session, repo: Repo, draft: _Draft, author: str, summary: str, description: str
) -> None:
    """The commit's row and its new index rows (none when the same commit exists already)."""
    if session.get(Commit, (repo.id, draft.sha)) is not None:
        return
    root = index.record(session, repo.id, draft.built, draft.sha)
    session.add(
        Commit(
            repo_id=repo.id,
            sha=draft.sha,
            parents=draft.head or "",
            tree_sha=draft.tree_id,
            index_root=root,
            author=author,
            title=summary.strip(),
            message=description.strip(),
        )
    )
