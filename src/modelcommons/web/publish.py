"""Publishing in the browser: create a repo, upload files, edit the card, change settings,
like. Every form is CSRF-checked; a refused form is shown again with the reason."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from modelcommons.config import get_settings
from modelcommons.db.engine import read_session, write_session
from modelcommons.errors import CommonsError, InvalidInputError, PayloadTooLargeError
from modelcommons.hub import commits, files, lifecycle, likes, repos
from modelcommons.hub.accounts import Principal, Role
from modelcommons.hub.commits import CARD_PATH, AddFile, AddLfsFile, Operation
from modelcommons.hub.lfs import publish_object, receive_stream
from modelcommons.hub.previews import head_bytes
from modelcommons.hub.refs import DEFAULT_BRANCH
from modelcommons.hub.upload_modes import lfs_patterns, upload_mode
from modelcommons.licensing.terms import LICENSES
from modelcommons.storage import get_store
from modelcommons.web.auth import SignedIn
from modelcommons.web.forms import read_form, text, uploads
from modelcommons.web.rendering import form_page, repo_href
from modelcommons.web.repo_pages import RepoAddress, RepoView, open_repo, read_card

router = APIRouter(include_in_schema=False)
READ_BLOCK = 1024 * 1024
# Regular files go into git whole, so one upload holds them in memory until its commit: the
# API caps their base64 at 512 MiB a commit (MAX_COMMIT_PAYLOAD), the form at this.
MAX_REGULAR_BYTES = 128 * 1024 * 1024
NEW_CARD = "---\nlicense: {license}\n---\n\n# {name}\n\nDescribe what this {kind} is for.\n"


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def owners(principal: Principal) -> list[str]:
    assert principal.user is not None
    orgs = [org for org, role in principal.org_roles.items() if role in ("write", "admin")]
    return [principal.user.name, *sorted(orgs)]


@router.get("/new", response_class=HTMLResponse)
def new_repo_form(request: Request, principal: SignedIn) -> HTMLResponse:
    return _new_repo_page(request, principal, {})


def _new_repo_page(
    request: Request,
    principal: Principal,
    values: dict[str, str],
    error: CommonsError | None = None,
) -> HTMLResponse:
    context = {
        "owners": owners(principal),
        "licenses": sorted(LICENSES.values(), key=lambda t: t.id),
        "values": values,
    }
    return form_page(request, "new_repo.html", context, error)


@router.post("/new")
async def create_repo(request: Request, principal: SignedIn) -> Response:
    form = await read_form(request)
    values = {k: text(form, k) for k in ("owner", "name", "type", "visibility", "license")}
    try:
        if values["type"] not in ("model", "dataset"):
            raise InvalidInputError("Choose whether this is a model or a dataset.")
        if values["license"] and values["license"] not in LICENSES:
            raise InvalidInputError(f"Unknown license {values['license']!r}.")
        repo = await run_in_threadpool(
            lifecycle.create_repo,
            principal,
            repo_type=values["type"],
            repo_id=f"{values['owner']}/{values['name']}",
            private=values["visibility"] == "private",
        )
        if values["license"]:
            card = NEW_CARD.format(license=values["license"], name=repo.name, kind=repo.type)
            await run_in_threadpool(_commit, principal, repo, [AddFile(CARD_PATH, card.encode())])
    except CommonsError as exc:
        return _new_repo_page(request, principal, values, exc)
    return _see_other(repo_href(repo))


def _commit(
    principal: Principal,
    repo: Any,
    operations: list[Operation],
    *,
    summary: str = "",
    parent: str | None = None,
) -> None:
    assert principal.user is not None
    commits.create_commit(
        repo.id,
        branch=DEFAULT_BRANCH,
        author=principal.user.name,
        summary=summary,
        operations=operations,
        parent_commit=parent,
    )


def open_main(principal: Principal, at: RepoAddress, need: Role = "write") -> RepoView:
    """The repo's main branch, if the principal may `need` it."""
    with read_session() as session:
        view = open_repo(session, principal, at, DEFAULT_BRANCH)
        repos.get_repo(session, principal, at.type, view.repo.repo_id, need=need)
        return view


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while block := await upload.read(READ_BLOCK):
        yield block


async def _operation(
    upload: UploadFile, path: str, patterns: list[str], regular_bytes: int
) -> Operation:
    """A regular file's bytes go into git; an LFS file streams to the store, hashed on the
    way, and only its pointer goes into git. `regular_bytes`: those of the files before."""
    sample = await upload.read(512)
    size = upload.size if upload.size is not None else 0
    await upload.seek(0)
    if upload_mode(path, size=size, sample=sample, patterns=patterns) == "regular":
        if regular_bytes + size > MAX_REGULAR_BYTES:
            raise PayloadTooLargeError(
                f"One upload takes at most {MAX_REGULAR_BYTES // 2**20} MiB of small text "
                "files (each under 10 MiB, kept in git); upload the rest in another one."
            )
        return AddFile(path, await upload.read())
    store = get_store()
    staged, sha256, size = await receive_stream(
        store, _chunks(upload), max_bytes=get_settings().max_upload_bytes
    )

    def publish() -> None:
        with write_session() as session:
            publish_object(
                session, store, staged, sha256=sha256, size=size, oid=sha256, expected_size=size
            )

    await run_in_threadpool(publish)
    return AddLfsFile(path, sha256, size)


def _gitattributes(view: RepoView) -> str:
    with read_session() as session:
        try:
            entry = files.get_file(session, view.repo, view.sha, ".gitattributes")
        except CommonsError:
            return ""
        return head_bytes(session, entry).decode("utf-8", errors="replace")


def _page_routes(prefix: str, repo_type: str) -> None:
    base = prefix + "/{namespace}/{name}"

    def at(namespace: str, name: str) -> RepoAddress:
        return RepoAddress(repo_type, namespace, name)

    def upload_page(
        request: Request, view: RepoView, error: CommonsError | None = None
    ) -> HTMLResponse:
        return form_page(request, "upload.html", {**view.as_context(), "tab": "files"}, error)

    @router.get(base + "/upload", response_class=HTMLResponse)
    def upload_form(request: Request, principal: SignedIn, namespace: str, name: str) -> Any:
        return upload_page(request, open_main(principal, at(namespace, name)))

    @router.post(base + "/upload")
    async def upload(request: Request, principal: SignedIn, namespace: str, name: str) -> Any:
        view = await run_in_threadpool(open_main, principal, at(namespace, name))
        form = await read_form(request, files=True)
        try:
            chosen = uploads(form, "files")
            if not chosen:
                raise InvalidInputError("Choose at least one file to upload.")
            folder = text(form, "folder").strip("/")
            patterns = lfs_patterns(await run_in_threadpool(_gitattributes, view))
            operations: list[Operation] = []
            regular = 0
            for f in chosen:
                path = f"{folder}/{f.filename}" if folder else str(f.filename)
                operations.append(await _operation(f, path, patterns, regular))
                if isinstance(operations[-1], AddFile):
                    regular += f.size or 0
            names = ", ".join(str(f.filename) for f in chosen)
            summary = text(form, "summary") or f"Upload {names}"[:200]
            await run_in_threadpool(_commit, principal, view.repo, operations, summary=summary)
        except CommonsError as exc:
            return upload_page(request, view, exc)
        return _see_other(repo_href(view.repo, "tree", DEFAULT_BRANCH, folder))

    def edit_page(
        request: Request, view: RepoView, content: str, error: CommonsError | None = None
    ) -> HTMLResponse:
        context = {**view.as_context(), "tab": "card", "content": content}
        return form_page(request, "edit_card.html", context, error)

    @router.get(base + "/edit", response_class=HTMLResponse)
    def edit_form(request: Request, principal: SignedIn, namespace: str, name: str) -> Any:
        view = open_main(principal, at(namespace, name))
        with read_session() as session:
            content = read_card(session, view.repo, view.sha)
        if content is None:
            content = NEW_CARD.format(license="apache-2.0", name=view.repo.name, kind=repo_type)
        return edit_page(request, view, content)

    @router.post(base + "/edit")
    async def edit(request: Request, principal: SignedIn, namespace: str, name: str) -> Any:
        view = await run_in_threadpool(open_main, principal, at(namespace, name))
        form = await read_form(request)
        content = text(form, "content").replace("\r\n", "\n") + "\n"
        try:
            await run_in_threadpool(
                _commit,
                principal,
                view.repo,
                [AddFile(CARD_PATH, content.encode())],
                summary=text(form, "summary") or "Update README.md",
                parent=text(form, "parent") or None,
            )
        except CommonsError as exc:
            return edit_page(request, view, content, exc)
        return _see_other(repo_href(view.repo))

    @router.post(base + "/like")
    async def like(request: Request, principal: SignedIn, namespace: str, name: str) -> Any:
        form = await read_form(request)

        def toggle() -> str:
            with write_session() as session:
                repo = repos.get_repo(session, principal, repo_type, f"{namespace}/{name}")
                likes.set_like(session, principal, repo, liked=text(form, "liked") == "1")
                return repo_href(repo)

        return _see_other(await run_in_threadpool(toggle))

    def settings_page(
        request: Request, view: RepoView, error: CommonsError | None = None
    ) -> HTMLResponse:
        return form_page(request, "settings.html", {**view.as_context(), "tab": "settings"}, error)

    @router.get(base + "/settings", response_class=HTMLResponse)
    def settings_form(request: Request, principal: SignedIn, namespace: str, name: str) -> Any:
        return settings_page(request, open_main(principal, at(namespace, name), "admin"))

    @router.post(base + "/settings")
    async def settings(request: Request, principal: SignedIn, namespace: str, name: str) -> Any:
        view = await run_in_threadpool(open_main, principal, at(namespace, name), "admin")
        form = await read_form(request)
        action = text(form, "action")
        actions: dict[str, Callable[[], str]] = {
            "visibility": lambda: _set_visibility(principal, view, text(form, "visibility")),
            "rename": lambda: _rename(principal, view, text(form, "new_id")),
            "delete": lambda: _delete(principal, view, text(form, "confirm")),
        }
        try:
            if action not in actions:
                raise InvalidInputError(f"Unknown action {action!r}.")
            target = await run_in_threadpool(actions[action])
        except CommonsError as exc:
            return settings_page(request, view, exc)
        return _see_other(target)


def _set_visibility(principal: Principal, view: RepoView, visibility: str) -> str:
    if visibility not in ("public", "private"):
        raise InvalidInputError("Visibility must be public or private.")
    with write_session() as session:
        repo = lifecycle.update_settings(
            session, principal, view.repo.type, view.repo.repo_id, private=visibility == "private"
        )
        return repo_href(repo, "settings")


def _rename(principal: Principal, view: RepoView, new_id: str) -> str:
    if "/" not in new_id:
        new_id = f"{view.repo.namespace}/{new_id}"
    with write_session() as session:
        repo = lifecycle.move_repo(session, principal, view.repo.type, view.repo.repo_id, new_id)
        return repo_href(repo)


def _delete(principal: Principal, view: RepoView, confirm: str) -> str:
    if confirm != view.repo.repo_id:
        raise InvalidInputError(f"Type {view.repo.repo_id} exactly to confirm the deletion.")
    with write_session() as session:
        lifecycle.delete_repo(session, principal, view.repo.type, view.repo.repo_id)
    return f"/{view.repo.namespace}"


for _prefix, _type in (("/datasets", "dataset"), ("", "model")):
    _page_routes(_prefix, _type)
