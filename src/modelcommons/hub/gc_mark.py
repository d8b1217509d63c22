"""What garbage collection must keep: everything some ref reaches, over the paged index.

Refs (every kind in hub.refs.REF_KINDS; a ref of any other kind stops the collection, so a
feature that adds one without listing it finds out at once) → `Commit` rows along
their parents → each commit's git id, root tree and root `IndexFolder` → the folder's pages
→ the `IndexEntry` rows of those pages (git ids, LFS sha256s, sub-folders, recursively).
Commits and folders written within the grace period are roots too: a commit in flight writes
them before any ref reaches them.

Marking extends a `Reachable` in place and never walks what it already holds, so a second
pass (inside the collection's write transaction) costs only what changed since the first.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelcommons.db.engine import in_batches
from modelcommons.db.models import Commit, IndexEntry, IndexFolder, Ref
from modelcommons.errors import CommonsError
from modelcommons.hub.refs import REF_KINDS


@dataclass
class Reachable:
    commits: set[tuple[int, str]] = field(default_factory=set)  # (repo id, sha)
    folders: set[str] = field(default_factory=set)
    pages: set[str] = field(default_factory=set)
    git: set[str] = field(default_factory=set)  # commit, tree and blob ids
    lfs: set[str] = field(default_factory=set)  # sha256s of large files


def mark(session: Session, reach: Reachable, *, young: datetime) -> None:
    """Add to `reach` what refs reach now, and what commits and folders created at or after
    `young` reach."""
    roots: set[tuple[int, str]] = set()
    for repo_id, name, target in session.execute(select(Ref.repo_id, Ref.name, Ref.target)):
        if not name.startswith(REF_KINDS):
            raise CommonsError(
                f"Ref {name!r} is of a kind garbage collection does not know: add its prefix "
                "to hub.refs.REF_KINDS. Nothing was deleted."
            )
        roots.add((repo_id, target))
    recent = select(Commit.repo_id, Commit.sha).where(Commit.created_at >= young)
    roots.update(session.execute(recent).tuples())
    folders = _walk_commits(session, reach, roots)
    folders.update(session.scalars(select(IndexFolder.id).where(IndexFolder.created_at >= young)))
    _walk_folders(session, reach, folders)


def _walk_commits(session: Session, reach: Reachable, roots: set[tuple[int, str]]) -> set[str]:
    """Commits from `roots` along parents; returns the root folders of the new ones."""
    folders: set[str] = set()
    frontier = {root for root in roots if root not in reach.commits}
    while frontier:
        by_repo: dict[int, list[str]] = defaultdict(list)
        for repo_id, sha in frontier:
            by_repo[repo_id].append(sha)
            reach.commits.add((repo_id, sha))
            reach.git.add(sha)  # kept even if its row is missing: a ref names it
        frontier = set()
        for repo_id, shas in by_repo.items():
            for batch in in_batches(shas):
                rows = session.execute(
                    select(Commit.sha, Commit.parents, Commit.tree_sha, Commit.index_root).where(
                        Commit.repo_id == repo_id, Commit.sha.in_(batch)
                    )
                )
                for _sha, parents, tree_sha, index_root in rows:
                    reach.git.add(tree_sha)
                    if index_root:
                        folders.add(index_root)
                    frontier.update(
                        (repo_id, parent)
                        for parent in parents.split()
                        if (repo_id, parent) not in reach.commits
                    )
    return folders


def _walk_folders(session: Session, reach: Reachable, roots: set[str]) -> None:
    frontier = roots - reach.folders
    while frontier:
        reach.folders.update(frontier)
        pages: set[str] = set()
        for batch in in_batches(frontier):
            for folder_pages in session.scalars(
                select(IndexFolder.pages).where(IndexFolder.id.in_(batch))
            ):
                pages.update(str(page[1]) for page in folder_pages)
        pages -= reach.pages
        reach.pages.update(pages)
        frontier = set()
        for batch in in_batches(pages):
            rows = session.execute(
                select(IndexEntry.oid, IndexEntry.lfs_sha256, IndexEntry.folder_id).where(
                    IndexEntry.page_id.in_(batch)
                )
            )
            for oid, lfs_sha256, folder_id in rows:
                reach.git.add(oid)
                if lfs_sha256:
                    reach.lfs.add(lfs_sha256)
                if folder_id and folder_id not in reach.folders:
                    frontier.add(folder_id)
