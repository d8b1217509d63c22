"""A repo's commits as its pages show them: the last commit of each file, and one commit with
what it changed."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelcommons.db.models import Commit, Repo
from modelcommons.errors import RevisionNotFoundError
from modelcommons.hub import files
from modelcommons.hub.diffs import Change, changes_between


def commits_by_sha(session: Session, repo: Repo, shas: Collection[str]) -> dict[str, Commit]:
    """The repo's commits among `shas`, by sha (a file list names each file's last commit)."""
    if not shas:
        return {}
    stmt = select(Commit).where(Commit.repo_id == repo.id, Commit.sha.in_(shas))
    return {c.sha: c for c in session.scalars(stmt)}


@dataclass(frozen=True)
class CommitChanges:
    """A commit, its first parent, and the files it changed (diffed within the page's bounds)."""

    commit: Commit
    parent: str | None
    changes: list[Change]


def commit_changes(
    session: Session, repo: Repo, sha: str, *, max_lines: int, max_file_bytes: int
) -> CommitChanges:
    """What the commit `sha` changed against its first parent."""
    commit = session.get(Commit, (repo.id, sha))
    if commit is None:
        raise RevisionNotFoundError(f"No commit {sha} in {repo.repo_id}.")
    parent = commit.parents.split()[0] if commit.parents else None
    changed = files.changed_files(session, repo, parent, sha)
    before = {path: old for path, (old, _) in changed.items() if old is not None}
    after = {path: new for path, (_, new) in changed.items() if new is not None}
    changes = changes_between(before, after, max_lines=max_lines, max_file_bytes=max_file_bytes)
    return CommitChanges(commit, parent, changes)
