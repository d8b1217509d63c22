"""`git clone` over git's "dumb" HTTP protocol: refs from the database, loose objects from the
content store (they are stored in exactly the loose-object format git fetches).

Objects are content-addressed and shared between repos, so each request checks that the
object belongs to the repo asked for; anonymous requests for repos they cannot see get a
Basic challenge (the same for missing and private repos), so git can retry with a token.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter, Response

from modelcommons.errors import RepoNotFoundError
from modelcommons.hub import refs
from modelcommons.hub.accounts import Principal
from modelcommons.hub.names import RepoType
from modelcommons.hub.repos import get_repo
from modelcommons.server.deps import CurrentPrincipal, ReadSession
from modelcommons.storage import get_store
from modelcommons.storage.base import git_key

router = APIRouter()


def _repo_id(namespace: str, name: str) -> str:
    return f"{namespace}/{name.removesuffix('.git')}"


@contextmanager
def _challenged(principal: Principal) -> Iterator[None]:
    """A repo an anonymous client cannot see gets a Basic challenge, so git retries with a
    token (the same answer for missing and private repos)."""
    try:
        yield
    except RepoNotFoundError as exc:
        if principal.user is None:
            raise RepoNotFoundError("Authentication required.", challenge=True) from exc
        raise


def _git_routes(prefix: str, repo_type: RepoType) -> None:
    base = prefix + "/{namespace}/{name}"

    @router.get(base + "/info/refs", name=f"git_refs_{repo_type}", include_in_schema=False)
    def info_refs(
        namespace: str, name: str, principal: CurrentPrincipal, session: ReadSession
    ) -> Response:
        with _challenged(principal):
            repo = get_repo(session, principal, repo_type, _repo_id(namespace, name))
        found = refs.list_refs(session, repo)
        lines = sorted(
            f"{r.target}\t{r.ref}\n" for kind in ("branches", "tags") for r in found[kind]
        )
        return Response(
            "".join(lines), media_type="text/plain", headers={"Cache-Control": "no-cache"}
        )

    @router.get(base + "/HEAD", name=f"git_head_{repo_type}", include_in_schema=False)
    def head(
        namespace: str, name: str, principal: CurrentPrincipal, session: ReadSession
    ) -> Response:
        with _challenged(principal):
            get_repo(session, principal, repo_type, _repo_id(namespace, name))
        return Response(f"ref: {refs.HEADS}{refs.DEFAULT_BRANCH}\n", media_type="text/plain")

    @router.get(
        base + "/objects/info/packs", name=f"git_packs_{repo_type}", include_in_schema=False
    )
    def packs(
        namespace: str, name: str, principal: CurrentPrincipal, session: ReadSession
    ) -> Response:
        with _challenged(principal):
            get_repo(session, principal, repo_type, _repo_id(namespace, name))
        return Response("", media_type="text/plain")  # every object is loose

    @router.get(
        base + "/objects/{fanout}/{rest}", name=f"git_object_{repo_type}", include_in_schema=False
    )
    def loose_object(
        namespace: str, name: str, fanout: str, rest: str, principal: CurrentPrincipal
    ) -> Response:
        sha = fanout + rest
        with _challenged(principal):  # the object is read after the transaction ends
            refs.require_git_object(principal, repo_type, _repo_id(namespace, name), sha)
        return Response(
            get_store().get_bytes(git_key(sha)), media_type="application/x-git-loose-object"
        )


_PREFIXES: tuple[tuple[str, RepoType], ...] = (("/datasets", "dataset"), ("", "model"))
for _prefix, _type in _PREFIXES:
    _git_routes(_prefix, _type)
