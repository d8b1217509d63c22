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
from modelcommons.db.engine import Session
from modelcommons.errors import CommonsError, InvalidInputError, PayloadTooLargeError
from modelcommons.hub import browsing, commits, lifecycle, likes, repos, uploads
from modelcommons.hub.accounts import Principal, Role
from modelcommons.hub.browsing import RepoView
from modelcommons.hub.commits import CARD_PATH, AddFile, AddLfsFile, Operation
from modelcommons.hub.names import RepoType
from modelcommons.hub.refs import DEFAULT_BRANCH
from modelcommons.hub.upload_modes import upload_mode
from modelcommons.licensing.terms import LICENSES
from modelcommons.server.deps import ReadSession, WriteSession
from modelcommons.web.auth import SignedIn
from modelcommons.web.forms import SubmittedForm, read_form, text, uploaded_files
from modelcommons.web.rendering import form_page, repo_href
from modelcommons.web.repo_pages import RepoAddress, read_card

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


_CREATABLE: dict[str, RepoType] = {"model": "model", "dataset": "dataset"}  # not spaces


@router.post("/new")
async def create_repo(request: Request, principal: SignedIn) -> Response:
    form = await read_form(request)
    values = {k: text(form, k) for k in ("owner", "name", "type", "visibility", "license")}
    try:
        repo_type = _CREATABLE.get(values["type"])
        if repo_type is None:
            raise InvalidInputError("Choose whether this is a model or a dataset.")
        if values["license"] and values["license"] not in LICENSES:
            raise InvalidInputError(f"Unknown license {values['license']!r}.")
        repo = await run_in_threadpool(
            lifecycle.create_repo,
            principal,
            repo_type=repo_type,
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
    """The repo's main branch, if the principal may `need` it (read in a transaction that
    ends before the page reads its form)."""
    return browsing.open_main(principal, at.type, at.id, need=need)


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
    max_bytes = get_settings().max_upload_bytes
    sha256, size = await uploads.store_lfs_file(_chunks(upload), max_bytes=max_bytes)
    return AddLfsFile(path, sha256, size)


def _upload_page(
    request: Request, view: RepoView, error: CommonsError | None = None
) -> HTMLResponse:
    return form_page(request, "upload.html", {**view.as_context(), "tab": "files"}, error)


def _edit_page(
    request: Request, view: RepoView, content: str, error: CommonsError | None = None
) -> HTMLResponse:
    context = {**view.as_context(), "tab": "card", "content": content}
    return form_page(request, "edit_card.html", context, error)


def _settings_page(
    request: Request, view: RepoView, error: CommonsError | None = None
) -> HTMLResponse:
    return form_page(request, "settings.html", {**view.as_context(), "tab": "settings"}, error)


def _upload_routes(base: str, repo_type: RepoType) -> None:
    @router.get(base + "/upload", response_class=HTMLResponse)
    def upload_form(
        request: Request, principal: SignedIn, namespace: str, name: str, session: ReadSession
    ) -> Any:
        repo_id = f"{namespace}/{name}"
        view = browsing.main_view(session, principal, repo_type, repo_id, need="write")
        return _upload_page(request, view)

    @router.post(base + "/upload")
    async def upload(request: Request, principal: SignedIn, namespace: str, name: str) -> Any:
        at = RepoAddress(repo_type, namespace, name)
        view = await run_in_threadpool(open_main, principal, at)
        form = await read_form(request, files=True)
        try:
            chosen = uploaded_files(form, "files")
            if not chosen:
                raise InvalidInputError("Choose at least one file to upload.")
            folder = text(form, "folder").strip("/")
            patterns = await run_in_threadpool(uploads.lfs_patterns_at, view.repo, view.sha)
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
            return _upload_page(request, view, exc)
        return _see_other(repo_href(view.repo, "tree", DEFAULT_BRANCH, folder))


def _card_routes(base: str, repo_type: RepoType) -> None:
    @router.get(base + "/edit", response_class=HTMLResponse)
    def edit_form(
        request: Request, principal: SignedIn, namespace: str, name: str, session: ReadSession
    ) -> Any:
        repo_id = f"{namespace}/{name}"
        view = browsing.main_view(session, principal, repo_type, repo_id, need="write")
        content = read_card(session, view.repo, view.sha)
        if content is None:
            content = NEW_CARD.format(license="apache-2.0", name=view.repo.name, kind=repo_type)
        return _edit_page(request, view, content)

    @router.post(base + "/edit")
    async def edit(request: Request, principal: SignedIn, namespace: str, name: str) -> Any:
        at = RepoAddress(repo_type, namespace, name)
        view = await run_in_threadpool(open_main, principal, at)
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
            return _edit_page(request, view, content, exc)
        return _see_other(repo_href(view.repo))


def _settings_routes(base: str, repo_type: RepoType) -> None:
    @router.post(base + "/like")
    def like(
        principal: SignedIn, namespace: str, name: str, form: SubmittedForm, session: WriteSession
    ) -> Any:
        repo = repos.get_repo(session, principal, repo_type, f"{namespace}/{name}")
        likes.set_like(session, principal, repo, liked=text(form, "liked") == "1")
        return _see_other(repo_href(repo))

    @router.get(base + "/settings", response_class=HTMLResponse)
    def settings_form(
        request: Request, principal: SignedIn, namespace: str, name: str, session: ReadSession
    ) -> Any:
        repo_id = f"{namespace}/{name}"
        view = browsing.main_view(session, principal, repo_type, repo_id, need="admin")
        return _settings_page(request, view)

    @router.post(base + "/settings")
    def settings(
        request: Request,
        principal: SignedIn,
        namespace: str,
        name: str,
        form: SubmittedForm,
        session: WriteSession,
    ) -> Any:
        repo_id = f"{namespace}/{name}"
        view = browsing.main_view(session, principal, repo_type, repo_id, need="admin")
        action = text(form, "action")
        actions: dict[str, Callable[[], str]] = {
            "visibility": lambda: _set_visibility(
                session, principal, view, text(form, "visibility")
            ),
            "rename": lambda: _rename(session, principal, view, text(form, "new_id")),
            "delete": lambda: _delete(session, principal, view, text(form, "confirm")),
        }
        try:
            if action not in actions:
                raise InvalidInputError(f"Unknown action {action!r}.")
            target = actions[action]()
        except CommonsError as exc:
            session.rollback()  # a refused form keeps nothing
            return _settings_page(request, view, exc)
        return _see_other(target)


def _set_visibility(session: Session, principal: Principal, view: RepoView, visibility: str) -> str:
    if visibility not in ("public", "private"):
        raise InvalidInputError("Visibility must be public or private.")
    repo = lifecycle.update_settings(
        session, principal, view.repo.type, view.repo.repo_id, private=visibility == "private"
    )
    return repo_href(repo, "settings")


def _rename(session: Session, principal: Principal, view: RepoView, new_id: str) -> str:
    if "/" not in new_id:
        new_id = f"{view.repo.namespace}/{new_id}"
    repo = lifecycle.move_repo(session, principal, view.repo.type, view.repo.repo_id, new_id)
    return repo_href(repo)


def _delete(session: Session, principal: Principal, view: RepoView, confirm: str) -> str:
    if confirm != view.repo.repo_id:
        raise InvalidInputError(f"Type {view.repo.repo_id} exactly to confirm the deletion.")
    namespace = view.repo.namespace
    lifecycle.delete_repo(session, principal, view.repo.type, view.repo.repo_id)
    return f"/{namespace}"


_PREFIXES: tuple[tuple[str, RepoType], ...] = (("/datasets", "dataset"), ("", "model"))
for _prefix, _type in _PREFIXES:
    for _routes in (_upload_routes, _card_routes, _settings_routes):
        _routes(_prefix + "/{namespace}/{name}", _type)
