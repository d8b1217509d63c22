"""Repositories: find (with visibility), authorize, list, search and tag.

Creating, moving, deleting and settings live in hub.lifecycle, which builds on this module.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, func, or_, select, true, update
from sqlalchemy.orm import Session

from modelcommons.config import get_settings
from modelcommons.db.engine import read_session, write_session
from modelcommons.db.models import Repo as Repo  # re-exported: edges name it, not db.models
from modelcommons.db.models import RepoRedirect, RepoTag
from modelcommons.errors import (
    InvalidInputError,
    NotSupportedError,
    PermissionDeniedError,
    RepoMovedError,
    RepoNotFoundError,
    UnauthorizedError,
)
from modelcommons.hub.accounts import Principal, Role
from modelcommons.hub.names import MAX_INTEGER, RepoType, escape_like, validate_repo_type

_LEVELS: dict[Role, int] = {"read": 0, "write": 1, "admin": 2}


def check_supported(repo_type: str) -> RepoType:
    """The repo type, refused if it is unknown or one we do not host (Spaces)."""
    repo_type = validate_repo_type(repo_type)
    if repo_type == "space":
        raise NotSupportedError("Spaces are not supported by Model Commons; use a model repo.")
    return repo_type


def can_see(principal: Principal, repo: Repo) -> bool:
    return not repo.private or principal.role_in(repo.namespace) is not None


def authorize_namespace(principal: Principal, namespace: str, need: Role) -> None:
    """Refuse unless the principal may act with `need` ('write' or 'admin') on a namespace."""
    if principal.user is None:
        raise UnauthorizedError("You must be authenticated with a token to do this.")
    if principal.token_role != "write":
        raise PermissionDeniedError("This token is read-only; use a token with the write role.")
    role = principal.role_in(namespace)
    if role is None or _LEVELS[role] < _LEVELS[need]:
        raise PermissionDeniedError(f"You have no {need} access to the namespace {namespace!r}.")


def find_repo(session: Session, repo_type: RepoType, repo_id: str) -> Repo | None:
    """The repo by id or old name, whoever asks (callers check visibility)."""
    namespace, _, name = repo_id.partition("/")
    return _find(session, repo_type, namespace, name) if name else None


def _find(session: Session, repo_type: RepoType, namespace: str, name: str) -> Repo | None:
    repo = session.scalar(
        select(Repo).where(Repo.type == repo_type, Repo.namespace == namespace, Repo.name == name)
    )
    if repo is None:
        redirect = session.get(RepoRedirect, (repo_type, f"{namespace}/{name}"))
        if redirect is not None:
            repo = session.get(Repo, redirect.repo_id)
    return repo


def get_repo(
    session: Session,
    principal: Principal,
    repo_type: RepoType,
    repo_id: str,
    *,
    need: Role = "read",
) -> Repo:
    """The repo if the principal may `need` it; a private repo one cannot see does not exist."""
    repo_type = check_supported(repo_type)
    namespace, _, name = repo_id.partition("/")
    repo = _find(session, repo_type, namespace, name)
    if repo is None or not can_see(principal, repo):
        raise RepoNotFoundError(f"Repository {repo_id!r} not found ({repo_type}).")
    if need != "read":
        authorize_namespace(principal, repo.namespace, need)
    return repo


@dataclass(frozen=True)
class RepoQuery:
    search: str | None = None
    author: str | None = None
    filters: tuple[str, ...] = ()
    sort: str | None = None
    limit: int = 1000
    offset: int = 0


_SORTS = {
    "lastModified": Repo.last_modified,
    "last_modified": Repo.last_modified,
    "createdAt": Repo.created_at,
    "created_at": Repo.created_at,
    "downloads": Repo.downloads,
    "likes": Repo.likes,
    "trendingScore": Repo.downloads,
    "id": None,
}


def _visible_to(principal: Principal) -> ColumnElement[bool]:
    if principal.user and principal.user.is_admin:
        return true()
    mine = [principal.user.name, *principal.org_roles] if principal.user else []
    return or_(Repo.private.is_(False), Repo.namespace.in_(mine))


def readable_by(principal: Principal) -> ColumnElement[bool]:
    """The repos the principal may read, as a condition on Repo rows (can_see, in SQL)."""
    return _visible_to(principal)


FACETS = {"task": Repo.pipeline_tag, "library": Repo.library_name, "license": Repo.license}


def facet_counts(
    session: Session, principal: Principal, repo_type: RepoType, *, top: int = 12
) -> dict[str, list[tuple[str, int]]]:
    """The most common tasks, libraries and licenses among the repos one can see."""
    counts = {}
    for facet, column in FACETS.items():
        stmt = (
            select(column, func.count())
            .where(Repo.type == repo_type, column.is_not(None), _visible_to(principal))
            .group_by(column)
            .order_by(func.count().desc(), column)
            .limit(top)
        )
        counts[facet] = [(str(value), int(n)) for value, n in session.execute(stmt)]
    return counts


def _check_query(query: RepoQuery) -> None:
    """Refuse queries no database should be asked: each word and filter adds a condition."""
    most = get_settings().max_query_terms
    if len((query.search or "").split()) > most:
        raise InvalidInputError(f"Search for at most {most} words at once.")
    if len(query.filters) > most:
        raise InvalidInputError(f"Filter by at most {most} values at once.")
    if not 0 <= query.offset <= MAX_INTEGER:
        raise InvalidInputError(f"The offset must be between 0 and {MAX_INTEGER}.")


def list_repos(
    session: Session, principal: Principal, repo_type: RepoType, query: RepoQuery
) -> tuple[list[Repo], bool]:
    """One page of repos visible to the principal; second value: whether more follow."""
    repo_type = check_supported(repo_type)
    _check_query(query)
    stmt = select(Repo).where(Repo.type == repo_type, _visible_to(principal))
    full_id = func.lower(Repo.namespace + "/" + Repo.name)
    for term in (query.search or "").lower().split():
        pattern = "%" + escape_like(term) + "%"
        stmt = stmt.where(
            or_(
                full_id.like(pattern, escape="\\"),
                Repo.search_text.like(pattern, escape="\\"),
            )
        )
    if query.author:
        stmt = stmt.where(Repo.namespace == query.author)
    for tag in query.filters:
        stmt = stmt.where(
            select(RepoTag.repo_id).where(RepoTag.repo_id == Repo.id, RepoTag.tag == tag).exists()
        )
    if query.sort is not None and query.sort not in _SORTS:
        raise InvalidInputError(f"Invalid sort {query.sort!r}: use one of {', '.join(_SORTS)}.")
    column = _SORTS.get(query.sort or "id")
    order = [column.desc()] if column is not None else []
    stmt = stmt.order_by(*order, Repo.namespace, Repo.name)
    rows = list(session.scalars(stmt.offset(query.offset).limit(query.limit + 1)))
    return rows[: query.limit], len(rows) > query.limit


def set_tags(session: Session, repo: Repo, tags: list[str]) -> None:
    session.execute(delete(RepoTag).where(RepoTag.repo_id == repo.id))
    session.add_all(RepoTag(repo_id=repo.id, tag=tag) for tag in tags)


def repo_tags(session: Session, repo: Repo) -> list[str]:
    return list(session.scalars(select(RepoTag.tag).where(RepoTag.repo_id == repo.id)))


def get_repo_by_current_name(
    session: Session, principal: Principal, repo_type: RepoType, repo_id: str
) -> Repo:
    """The repo as `get_repo` finds it, but refused with RepoMovedError when `repo_id` is an
    old name: a page's address should name the repo as it is called now."""
    repo = get_repo(session, principal, repo_type, repo_id)
    if repo.repo_id != repo_id:
        raise RepoMovedError(repo_id, repo.repo_id)
    return repo


def tags_by_repo(session: Session, repos: list[Repo]) -> dict[int, list[str]]:
    """The tags of each repo of a listing, in one query."""
    tags: dict[int, list[str]] = {r.id: [] for r in repos}
    rows = session.execute(
        select(RepoTag.repo_id, RepoTag.tag).where(RepoTag.repo_id.in_(list(tags)))
    )
    for repo_id, tag in rows:
        tags[repo_id].append(tag)
    return tags


def authorized_repo(
    principal: Principal, repo_type: RepoType, repo_id: str, *, need: Role = "read"
) -> Repo:
    """`get_repo` in a transaction of its own, for a caller that next does slow work (reading
    a request body, a commit) that no transaction should span."""
    with read_session() as session:
        return get_repo(session, principal, repo_type, repo_id, need=need)


def count_download(repo: Repo) -> None:
    """One more download of the repo, in a write transaction of its own (a download's bytes
    are sent after it ends)."""
    with write_session() as session:
        session.execute(update(Repo).where(Repo.id == repo.id).values(downloads=Repo.downloads + 1))
