"""`git clone` over git's "dumb" HTTP protocol: refs from the database, loose objects from the
content store (they are stored in exactly the loose-object format git fetches).

Objects are content-addressed and shared between repos, so each request checks that the
object belongs to the repo asked for; anonymous requests for repos they cannot see get a
Basic challenge (the same for missing and private repos), so git can retry with a token.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from modelcommons.db.engine import read_session
from modelcommons.db.models import Commit, FileEntry, Repo
from modelcommons.errors import NotFoundError, RepoNotFoundError
from modelcommons.hub import refs
from modelcommons.hub.names import RepoType, is_commit_sha
from modelcommons.hub.repos import get_repo
from modelcommons.server.deps import CurrentPrincipal
from modelcommons.storage import get_store
from modelcommons.storage.base import git_key

router = APIRouter()


def _repo(
    session: Session, principal: CurrentPrincipal, repo_type: RepoType, ns: str, name: str
) -> Repo:
    try:
        return get_repo(session, principal, repo_type, f"{ns}/{name.removesuffix('.git')}")
    except RepoNotFoundError as exc:
        if principal.user is None:
            raise RepoNotFoundError("Authentication required.", challenge=True) from exc
        raise


def _holds(session: Session, repo: Repo, sha: str) -> bool:
    commit = select(Commit.sha).where(
        Commit.repo_id == repo.id, (Commit.sha == sha) | (Commit.tree_sha == sha)
    )
    entry = select(FileEntry.oid).where(FileEntry.repo_id == repo.id, FileEntry.oid == sha)
    return session.scalar(commit.limit(1)) is not None or session.scalar(entry.limit(1)) is not None


def _git_routes(prefix: str, repo_type: RepoType) -> None:
    base = prefix + "/{namespace}/{name}"

    @router.get(base + "/info/refs", name=f"git_refs_{repo_type}", include_in_schema=False)
    def info_refs(namespace: str, name: str, principal: CurrentPrincipal) -> Response:
        with read_session() as session:
            repo = _repo(session, principal, repo_type, namespace, name)
            found = refs.list_refs(session, repo)
        lines = sorted(
            f"{r.target}\t{r.ref}\n" for kind in ("branches", "tags") for r in found[kind]
        )
        return Response(
            "".join(lines), media_type="text/plain", headers={"Cache-Control": "no-cache"}
        )

    @router.get(base + "/HEAD", name=f"git_head_{repo_type}", include_in_schema=False)
    def head(namespace: str, name: str, principal: CurrentPrincipal) -> Response:
        with read_session() as session:
            _repo(session, principal, repo_type, namespace, name)
        return Response(f"ref: {refs.HEADS}{refs.DEFAULT_BRANCH}\n", media_type="text/plain")

    @router.get(
        base + "/objects/info/packs", name=f"git_packs_{repo_type}", include_in_schema=False
    )
    def packs(namespace: str, name: str, principal: CurrentPrincipal) -> Response:
        with read_session() as session:
            _repo(session, principal, repo_type, namespace, name)
        return Response("", media_type="text/plain")  # every object is loose

    @router.get(
        base + "/objects/{fanout}/{rest}", name=f"git_object_{repo_type}", include_in_schema=False
    )
    def loose_object(
        namespace: str, name: str, fanout: str, rest: str, principal: CurrentPrincipal
    ) -> Response:
        sha = fanout + rest
        with read_session() as session:
            repo = _repo(session, principal, repo_type, namespace, name)
            if not is_commit_sha(sha) or not _holds(session, repo, sha):
                raise NotFoundError(f"No object {sha} in this repository.")
        return Response(
            get_store().get_bytes(git_key(sha)), media_type="application/x-git-loose-object"
        )


_PREFIXES: tuple[tuple[str, RepoType], ...] = (("/datasets", "dataset"), ("", "model"))
for _prefix, _type in _PREFIXES:
    _git_routes(_prefix, _type)
