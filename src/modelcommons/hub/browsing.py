"""A repo as one person browses it: the revision resolved, its branches and tags, whether they
like it and what they may do with it (what every page of a repo shows in its header)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from modelcommons.db.engine import read_session
from modelcommons.hub import likes, refs, repos
from modelcommons.hub.accounts import Principal, Role
from modelcommons.hub.names import RepoType
from modelcommons.hub.refs import DEFAULT_BRANCH, RefInfo
from modelcommons.hub.repos import Repo


@dataclass
class RepoView:
    """A repo at a revision, as the principal sees it."""

    repo: Repo
    rev: str
    sha: str
    branches: list[RefInfo]
    tags: list[RefInfo]
    liked: bool
    can_write: bool
    can_admin: bool

    def as_context(self) -> dict[str, Any]:
        """The names a repo page's template reads it under."""
        return {"view": self, "repo": self.repo, "rev": self.rev, "sha": self.sha}


def open_repo(
    session: Session, principal: Principal, repo_type: RepoType, repo_id: str, rev: str
) -> RepoView:
    """The repo and revision a page shows, as the principal may see them; an old name raises
    RepoMovedError (the page is sent to the new one)."""
    repo = repos.get_repo_by_current_name(session, principal, repo_type, repo_id)
    sha = refs.resolve_revision(session, repo, rev)
    found = refs.list_refs(session, repo)
    role = principal.role_in(repo.namespace)
    return RepoView(
        repo=repo,
        rev=rev,
        sha=sha,
        branches=found["branches"],
        tags=found["tags"],
        liked=likes.likes(session, principal, repo),
        can_write=role in ("write", "admin"),
        can_admin=role == "admin",
    )


def main_view(
    session: Session, principal: Principal, repo_type: RepoType, repo_id: str, *, need: Role
) -> RepoView:
    """The repo's main branch, if the principal may `need` it."""
    view = open_repo(session, principal, repo_type, repo_id, DEFAULT_BRANCH)
    repos.get_repo(session, principal, view.repo.type, view.repo.repo_id, need=need)
    return view


def open_main(principal: Principal, repo_type: RepoType, repo_id: str, *, need: Role) -> RepoView:
    """`main_view` in a read transaction that ends here: a form that uploads is refused
    before its body is read, and no transaction stays open while the body arrives."""
    with read_session() as session:
        return main_view(session, principal, repo_type, repo_id, need=need)
