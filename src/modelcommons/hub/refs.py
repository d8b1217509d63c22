"""Branches, tags and revisions. A ref moves only by compare-and-swap on its database row."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Integer, String, cast, delete, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from modelcommons.db.engine import read_session
from modelcommons.db.models import Commit as Commit  # re-exported: edges name it
from modelcommons.db.models import IndexEntry, Ref, Repo
from modelcommons.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RevisionNotFoundError,
)
from modelcommons.hub.accounts import Principal
from modelcommons.hub.names import RepoType, is_commit_sha, validate_ref_name
from modelcommons.hub.repos import get_repo

DEFAULT_BRANCH = "main"
HEADS, TAGS, PRS = "refs/heads/", "refs/tags/", "refs/pr/"
# Every kind of ref the hub keeps; features that add one (mirror pins, ...) extend this list.
# Garbage collection keeps what refs of these kinds reach, and stops at a ref of any other.
REF_KINDS: tuple[str, ...] = (HEADS, TAGS, PRS)


def branch_ref(rev: str) -> str:
    """The full ref name of a branch given as 'x' or 'refs/heads/x'."""
    return rev if rev.startswith(HEADS) else HEADS + rev


def resolve_revision(session: Session, repo: Repo, rev: str) -> str:
    """The commit id a revision (commit id, branch, tag, full ref name) points at now."""
    if is_commit_sha(rev):
        if session.get(Commit, (repo.id, rev)) is not None:
            return rev
    candidates = [rev] if rev.startswith("refs/") else [HEADS + rev, TAGS + rev]
    for name in candidates:
        target = session.scalar(select(Ref.target).where(Ref.repo_id == repo.id, Ref.name == name))
        if target is not None:
            return target
    raise RevisionNotFoundError(
        f"Invalid rev id: {rev} (not a branch, tag or commit of {repo.repo_id})"
    )


def branch_head(session: Session, repo: Repo, branch: str) -> str:
    """The commit a branch points at; refuses revisions that are not branches."""
    if branch.startswith(PRS):
        raise InvalidInputError("Pull requests are not supported yet.")
    if is_commit_sha(branch) or branch.startswith(TAGS):
        raise InvalidInputError(f"Commits can only be made on a branch, not on {branch!r}.")
    ref = branch_ref(branch)
    target = session.scalar(select(Ref.target).where(Ref.repo_id == repo.id, Ref.name == ref))
    if target is None:
        raise RevisionNotFoundError(f"Branch {branch!r} not found in {repo.repo_id}.")
    return target


def lock_branch(session: Session, repo: Repo, branch: str) -> str:
    """The branch's head, held until the transaction ends: no other commit moves it meanwhile
    (a row lock on PostgreSQL; on SQLite the write transaction already holds the database)."""
    ref = branch_ref(branch)
    target = session.scalar(
        select(Ref.target).where(Ref.repo_id == repo.id, Ref.name == ref).with_for_update()
    )
    if target is None:
        raise RevisionNotFoundError(f"Branch {branch!r} not found in {repo.repo_id}.")
    return target


def compare_and_swap(session: Session, repo: Repo, ref: str, *, old: str | None, new: str) -> bool:
    """Point `ref` at `new` if it still points at `old` (None: if it does not exist yet)."""
    if old is None:
        try:
            with session.begin_nested():
                session.execute(insert(Ref).values(repo_id=repo.id, name=ref, target=new))
        except IntegrityError:
            return False
        return True
    result = session.execute(
        update(Ref)
        .where(Ref.repo_id == repo.id, Ref.name == ref, Ref.target == old)
        .values(target=new)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class RefInfo:
    name: str
    ref: str
    target: str


def list_refs(session: Session, repo: Repo) -> dict[str, list[RefInfo]]:
    refs: dict[str, list[RefInfo]] = {"branches": [], "tags": [], "pullRequests": []}
    rows = session.scalars(select(Ref).where(Ref.repo_id == repo.id).order_by(Ref.name))
    for row in rows:
        for prefix, kind in ((HEADS, "branches"), (TAGS, "tags"), (PRS, "pullRequests")):
            if row.name.startswith(prefix):
                refs[kind].append(RefInfo(row.name.removeprefix(prefix), row.name, row.target))
    return refs


def _create_ref(session: Session, repo: Repo, ref: str, target: str, what: str) -> None:
    if not compare_and_swap(session, repo, ref, old=None, new=target):
        raise ConflictError(f"{what} {ref.rsplit('/', 1)[-1]!r} already exists in {repo.repo_id}.")


def _delete_ref(session: Session, repo: Repo, ref: str, what: str) -> None:
    result = session.execute(delete(Ref).where(Ref.repo_id == repo.id, Ref.name == ref))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise RevisionNotFoundError(f"{what} {ref!r} not found in {repo.repo_id}.")


def create_branch(session: Session, repo: Repo, branch: str, *, starting_point: str | None) -> None:
    validate_ref_name(branch.removeprefix(HEADS))
    target = resolve_revision(session, repo, starting_point or DEFAULT_BRANCH)
    _create_ref(session, repo, branch_ref(branch), target, "Branch")


def delete_branch(session: Session, repo: Repo, branch: str) -> None:
    if branch.removeprefix(HEADS) == DEFAULT_BRANCH:
        raise PermissionDeniedError("The main branch cannot be deleted.")
    _delete_ref(session, repo, branch_ref(branch), "Branch")


def create_tag(session: Session, repo: Repo, tag: str, *, revision: str) -> None:
    validate_ref_name(tag.removeprefix(TAGS))
    target = resolve_revision(session, repo, revision)
    _create_ref(session, repo, TAGS + tag.removeprefix(TAGS), target, "Tag")


def delete_tag(session: Session, repo: Repo, tag: str) -> None:
    _delete_ref(session, repo, TAGS + tag.removeprefix(TAGS), "Tag")


# Commits one query reads along a chain of first parents: a page of history is a few
# queries, whatever the length of the repo's history.
_CHAIN_BATCH = 200
# Commits a history page may skip: each costs an id read, and anyone may ask for page 10**9.
MAX_HISTORY_SKIP = 100_000


@dataclass(frozen=True)
class HistoryPage:
    """One page of a branch's history, and whether more commits follow it."""

    commits: list[Commit]
    more: bool


def _first_parents(session: Session, repo: Repo, sha: str, count: int) -> dict[str, str]:
    """`sha` and up to `count - 1` of its first parents → their parents, in one recursive
    query (only ids: the commits a page skips are walked, never loaded)."""
    step = cast(func.substr(Commit.parents, 1, 40), String(40))
    chain = select(
        cast(literal(sha), String(40)).label("sha"), cast(literal(1), Integer).label("depth")
    ).cte("chain", recursive=True)
    chain = chain.union_all(
        select(step, chain.c.depth + 1).where(
            Commit.repo_id == repo.id,
            Commit.sha == chain.c.sha,
            Commit.parents != "",
            chain.c.depth < count,
        )
    )
    rows = (
        select(Commit.sha, Commit.parents)
        .join(chain, Commit.sha == chain.c.sha)
        .where(Commit.repo_id == repo.id)
    )
    return dict(session.execute(rows).tuples().all())


def commit_history(
    session: Session, repo: Repo, head: str, *, skip: int = 0, limit: int = 100
) -> HistoryPage:
    """Commits reachable from `head`, newest first (depth-first along first parents), from
    the `skip`th on. Parents are read a chain at a time as the walk reaches them, so a page
    costs the ids of the commits up to its end and the rows of its own commits only."""
    if skip > MAX_HISTORY_SKIP:
        raise InvalidInputError(
            f"History pages reach back {MAX_HISTORY_SKIP:,} commits; ask for an earlier page "
            "or a commit further back as the revision."
        )
    wanted = skip + limit + 1  # one more than the page tells whether another follows
    parents: dict[str, str] = {}
    seen: set[str] = set()
    stack, walked = [head], list[str]()
    while stack and len(walked) < wanted:
        sha = stack.pop()
        if sha in seen:
            continue
        if sha not in parents:
            parents.update(
                _first_parents(session, repo, sha, min(wanted - len(walked), _CHAIN_BATCH))
            )
            if sha not in parents:
                continue
        seen.add(sha)
        walked.append(sha)
        stack.extend(reversed(parents[sha].split()))
    page = walked[skip : skip + limit]
    rows = {
        c.sha: c
        for c in session.scalars(
            select(Commit).where(Commit.repo_id == repo.id, Commit.sha.in_(page))
        )
    }
    return HistoryPage([rows[sha] for sha in page], len(walked) > skip + limit)


def holds_git_object(session: Session, repo: Repo, sha: str) -> bool:
    """Whether a commit of the repo is, or has as its tree or a file or folder, the git
    object `sha` (objects are content-addressed and shared between repos)."""
    commit = select(Commit.sha).where(
        Commit.repo_id == repo.id, (Commit.sha == sha) | (Commit.tree_sha == sha)
    )
    entry = select(IndexEntry.oid).where(IndexEntry.repo_id == repo.id, IndexEntry.oid == sha)
    return session.scalar(commit.limit(1)) is not None or session.scalar(entry.limit(1)) is not None


def require_git_object(principal: Principal, repo_type: RepoType, repo_id: str, sha: str) -> None:
    """Refuse (404) a git object the repo does not hold, in a transaction of its own: the
    object is read from the store after it ends."""
    with read_session() as session:
        repo = get_repo(session, principal, repo_type, repo_id)
        if not is_commit_sha(sha) or not holds_git_object(session, repo, sha):
            raise NotFoundError(f"No object {sha} in this repository.")
