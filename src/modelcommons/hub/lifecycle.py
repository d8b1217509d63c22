"""Repo lifecycle: create (with its first commit), move, delete and change settings.

Kept apart from hub.repos (lookup, authorization, listings, tags) so that modules the lifecycle
builds on, such as hub.lineage and hub.commits, can import those without a cycle.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from modelcommons.db.engine import write_session
from modelcommons.db.models import Account, Repo, RepoRedirect, utcnow
from modelcommons.errors import ConflictError, InvalidInputError, NotSupportedError
from modelcommons.hub import refs
from modelcommons.hub.accounts import Principal
from modelcommons.hub.commits import AddFile, CommitResult, create_commit
from modelcommons.hub.lineage import link_new_name
from modelcommons.hub.names import RepoType, split_repo_id
from modelcommons.hub.repos import authorize_namespace, check_supported, get_repo
from modelcommons.hub.upload_modes import DEFAULT_GITATTRIBUTES


def _ensure_namespace(session: Session, namespace: str) -> None:
    if session.scalar(select(Account.id).where(Account.name == namespace)) is None:
        raise InvalidInputError(f"No user or organization named {namespace!r}.")


def _ensure_free(session: Session, repo_type: str, namespace: str, name: str) -> None:
    taken = session.scalar(
        select(Repo).where(
            Repo.type == repo_type,
            func.lower(Repo.namespace) == namespace.lower(),
            func.lower(Repo.name) == name.lower(),
        )
    )
    if taken is not None:
        raise ConflictError(
            f"You already created this {repo_type} repo: {taken.repo_id}", repo_id=taken.repo_id
        )


def new_repo(
    session: Session, principal: Principal, *, repo_type: RepoType, repo_id: str, private: bool
) -> Repo:
    """Insert the repo row; the caller makes its first commit (see create_repo)."""
    repo_type = check_supported(repo_type)
    namespace, name = split_repo_id(repo_id)
    authorize_namespace(principal, namespace, "write")
    _ensure_namespace(session, namespace)
    _ensure_free(session, repo_type, namespace, name)
    repo = Repo(type=repo_type, namespace=namespace, name=name, private=private)
    session.add(repo)
    session.flush()
    return repo


def create_repo(principal: Principal, *, repo_type: RepoType, repo_id: str, private: bool) -> Repo:
    """A new repo with its first commit (a .gitattributes that sends binaries to LFS)."""
    with write_session() as session:
        repo = new_repo(session, principal, repo_type=repo_type, repo_id=repo_id, private=private)
        link_new_name(session, repo)
    assert principal.user is not None
    initial_commit(repo, author=principal.user.name)
    return repo


def initial_commit(repo: Repo, *, author: str) -> CommitResult:
    return create_commit(
        repo.id,
        branch=refs.DEFAULT_BRANCH,
        author=author,
        summary="initial commit",
        operations=[AddFile(".gitattributes", DEFAULT_GITATTRIBUTES.encode())],
        new_branch=True,
    )


def delete_repo(session: Session, principal: Principal, repo_type: RepoType, repo_id: str) -> None:
    repo = get_repo(session, principal, repo_type, repo_id, need="admin")
    session.delete(repo)


def move_repo(
    session: Session, principal: Principal, repo_type: RepoType, from_id: str, to_id: str
) -> Repo:
    repo = get_repo(session, principal, repo_type, from_id, need="admin")
    namespace, name = split_repo_id(to_id)
    authorize_namespace(principal, namespace, "write")
    _ensure_namespace(session, namespace)
    _ensure_free(session, repo.type, namespace, name)
    old_id = repo.repo_id
    session.execute(
        delete(RepoRedirect).where(RepoRedirect.type == repo.type, RepoRedirect.old_id == to_id)
    )
    session.merge(RepoRedirect(type=repo.type, old_id=old_id, repo_id=repo.id))
    repo.namespace, repo.name = namespace, name
    repo.last_modified = utcnow()
    link_new_name(session, repo)
    return repo


def update_settings(
    session: Session,
    principal: Principal,
    repo_type: RepoType,
    repo_id: str,
    *,
    private: bool | None = None,
    gated: object = None,
) -> Repo:
    repo = get_repo(session, principal, repo_type, repo_id, need="admin")
    if gated not in (None, False):
        raise NotSupportedError("Gated repos are not supported yet.")
    if private is not None:
        repo.private = private
    if private is False:
        link_new_name(session, repo)
    return repo
