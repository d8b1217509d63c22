"""Reading a repo in the browser: its card, files, file viewer, history and commits."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from modelcommons.config import get_settings
from modelcommons.db.engine import Session
from modelcommons.errors import CommonsError, EntryNotFoundError
from modelcommons.hub import (
    accounting,
    browsing,
    cards,
    cursors,
    evaluations,
    files,
    history,
    lineage,
    previews,
    refs,
)
from modelcommons.hub.accounts import Principal
from modelcommons.hub.commits import CARD_PATH
from modelcommons.hub.files import FileEntry
from modelcommons.hub.names import RepoType, whole_number
from modelcommons.hub.refs import DEFAULT_BRANCH
from modelcommons.hub.repos import Repo
from modelcommons.server.deps import ReadSession, base_url, decoded
from modelcommons.web.auth import WebPrincipal
from modelcommons.web.rendering import (
    card_start,
    highlight_file,
    render,
    render_markdown,
    rendered,
)
from modelcommons.web.snippets import snippets_for

router = APIRouter(include_in_schema=False)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp")
COMMITS_PER_PAGE = 50
TREE_PAGE = 200  # entries on one page of the file browser


@dataclass(frozen=True)
class RepoAddress:
    """The repo a page's URL names (maybe by an old name)."""

    type: RepoType
    namespace: str
    name: str

    @property
    def id(self) -> str:
        return f"{self.namespace}/{self.name}"


def read_card(session: Session, repo: Repo, sha: str) -> str | None:
    """README.md's text at a commit, when it exists and is not an LFS file."""
    try:
        entry = files.get_file(session, repo, sha, CARD_PATH)
    except EntryNotFoundError:
        return None
    if entry.lfs_sha256:
        return None
    return previews.head_bytes(session, entry).decode("utf-8", errors="replace")


def card_html(session: Session, repo: Repo, sha: str) -> tuple[Markup | None, bool]:
    """README.md rendered (once per blob in this process) and whether it was cut short:
    a card is rendered for every anonymous view, so its size and cost are bounded."""
    try:
        entry = files.get_file(session, repo, sha, CARD_PATH)
    except EntryNotFoundError:
        return None, False
    if entry.lfs_sha256 or entry.size == 0:
        return None, False
    limit = get_settings().max_card_bytes
    text, whole = cards.card_body(previews.head_text(session, entry, limit)), entry.size <= limit
    shown, cut = card_start(text, limit)
    html = rendered(("card", entry.oid, limit), lambda: render_markdown(shown))
    return html, cut or not whole


def card_strings(meta: dict[str, Any], key: str) -> list[str]:
    """A front matter field shown as a list of words (tags, languages): a card is written by
    anyone, and `tags: 5` or `language: [[1, 2]]` must not break its page."""
    value = meta.get(key)
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        return []
    return [str(v) for v in value if isinstance(v, str | int | float) and not isinstance(v, bool)]


# Files looked at for a dataset's preview table: a page view costs the same at 100,000 files.
TABLE_SEARCH_FILES = 10_000


def _first_table(session: Session, repo: Repo, sha: str) -> FileEntry | None:
    """The shallowest table among the first files in listing order."""
    seen = islice(files.iter_files(session, repo, sha), TABLE_SEARCH_FILES)
    tables = [e for e in seen if previews.is_table(e.path)]
    return min(tables, key=lambda e: (e.path.count("/"), e.path), default=None)


def _preview(session: Session, entry: FileEntry | None) -> tuple[Any, str | None]:
    if entry is None:
        return None, None
    try:
        return previews.preview_table(session, entry), None
    except CommonsError as exc:
        return None, exc.message


def _repo_page(
    request: Request, principal: Principal, at: RepoAddress, session: Session
) -> HTMLResponse:
    view = browsing.open_repo(session, principal, at.type, at.id, DEFAULT_BRANCH)
    card, card_cut = card_html(session, view.repo, view.sha)
    table_file = _first_table(session, view.repo, view.sha) if at.type == "dataset" else None
    table, table_error = _preview(session, table_file)
    file_count, _ = files.folder_counts(session, view.repo, view.sha)
    up = lineage.ancestors(session, principal, view.repo, depth=lineage.MAX_DEPTH)
    down = lineage.descendants(session, principal, view.repo, depth=1)
    results = evaluations.model_evaluations(session, principal, view.repo)
    license_check = lineage.license_check_for(session, principal, view.repo)
    heads = [r.target for r in view.branches + view.tags]
    storage = accounting.repo_stats_at(session, view.repo, heads)
    return render(
        request,
        "repo.html",
        {
            **view.as_context(),
            "tab": "card",
            "ancestors": up,
            "children": down,
            "counts": lineage.relation_counts(down),
            "evaluations": results,
            "license_check": license_check,
            "storage": storage,
            "card_html": card,
            "card_cut": card_cut,
            "languages": card_strings(view.repo.card_data or {}, "language"),
            "tags": card_strings(view.repo.card_data or {}, "tags"),
            "table_file": table_file,
            "table": table,
            "table_error": table_error,
            "file_count": file_count,
            "snippets": snippets_for(view.repo, base_url(request)),
        },
    )


def _breadcrumbs(path: str) -> list[tuple[str, str]]:
    parts = [p for p in path.split("/") if p]
    return [(part, "/".join(parts[: i + 1])) for i, part in enumerate(parts)]


def _tree_page(
    request: Request, principal: Principal, at: RepoAddress, rev: str, path: str, session: Session
) -> HTMLResponse:
    """One page of a folder, in the index's name order; its next page is a signed cursor."""
    view = browsing.open_repo(session, principal, at.type, at.id, rev)
    listing = cursors.Listing(view.repo.id, path.strip("/"), recursive=False)
    token = request.query_params.get("cursor")
    start = cursors.read(listing, token) if token is not None else cursors.START
    # One entry more than the page tells whether there is a next one.
    entries = files.list_tree(
        session, view.repo, view.sha, path=listing.path, after=start.after, limit=TREE_PAGE + 1
    )
    page = entries[:TREE_PAGE]
    following = start.then(page[-1].path, len(page)) if len(entries) > TREE_PAGE else None
    commits = history.commits_by_sha(
        session, view.repo, {e.last_commit_sha for e in page if e.last_commit_sha}
    )
    return render(
        request,
        "tree.html",
        {
            **view.as_context(),
            "tab": "files",
            "path": listing.path,
            "crumbs": _breadcrumbs(listing.path),
            "entries": page,
            "commits": commits,
            "counts": files.folder_counts(session, view.repo, view.sha, listing.path),
            "shown": start.shown,
            "paged": start.after is not None,
            "next_cursor": cursors.issue(listing, following) if following else None,
        },
    )


def _blob_page(
    request: Request, principal: Principal, at: RepoAddress, rev: str, path: str, session: Session
) -> HTMLResponse:
    view = browsing.open_repo(session, principal, at.type, at.id, rev)
    entry = files.get_file(session, view.repo, view.sha, path)
    kind, content, truncated = "binary", None, False
    table, table_error = None, None
    if path.lower().endswith(IMAGE_SUFFIXES):
        kind = "image"
    else:
        head = previews.head_bytes(session, entry, previews.TEXT_BYTES)
        if b"\0" not in head[:8192]:
            kind, truncated = "text", entry.size > len(head)
            text = previews.decode_head(head, complete=not truncated)
            if previews.is_table(path):
                table, table_error = _preview(session, entry)
            # The lexer is chosen by the file's name, so the name is part of the key.
            key = ("file " + path.rsplit("/", 1)[-1], entry.oid, len(text))
            content = rendered(key, lambda: highlight_file(path, text))
        elif previews.is_table(path):
            kind = "table"
            table, table_error = _preview(session, entry)
    last = history.commits_by_sha(session, view.repo, {entry.last_commit_sha or ""})
    return render(
        request,
        "blob.html",
        {
            **view.as_context(),
            "tab": "files",
            "path": path,
            "crumbs": _breadcrumbs(path),
            "entry": entry,
            "kind": kind,
            "content": content,
            "truncated": truncated,
            "text_bytes": previews.TEXT_BYTES,
            "table": table,
            "table_error": table_error,
            "last_commit": last.get(entry.last_commit_sha or ""),
        },
    )


def _commits_page(
    request: Request, principal: Principal, at: RepoAddress, rev: str, session: Session
) -> HTMLResponse:
    page = whole_number(request.query_params.get("p", "0"), what="The page number")
    view = browsing.open_repo(session, principal, at.type, at.id, rev)
    found = refs.commit_history(
        session, view.repo, view.sha, skip=page * COMMITS_PER_PAGE, limit=COMMITS_PER_PAGE
    )
    return render(
        request,
        "commits.html",
        {
            **view.as_context(),
            "tab": "history",
            "commits": found.commits,
            "page": page,
            "more": found.more,
        },
    )


def _commit_page(
    request: Request, principal: Principal, at: RepoAddress, sha: str, session: Session
) -> HTMLResponse:
    view = browsing.open_repo(session, principal, at.type, at.id, sha)
    settings = get_settings()
    found = history.commit_changes(
        session,
        view.repo,
        view.sha,
        max_lines=settings.diff_lines,
        max_file_bytes=settings.diff_file_bytes,
    )
    return render(
        request,
        "commit.html",
        {
            **view.as_context(),
            "tab": "history",
            "commit": found.commit,
            "parent": found.parent,
            "changes": found.changes,
        },
    )


def _lineage_page(
    request: Request, principal: Principal, at: RepoAddress, session: Session
) -> HTMLResponse:
    view = browsing.open_repo(session, principal, at.type, at.id, DEFAULT_BRANCH)
    up = lineage.ancestors(session, principal, view.repo, depth=lineage.MAX_DEPTH)
    down = lineage.descendants(session, principal, view.repo, depth=lineage.MAX_DEPTH)
    context = {**view.as_context(), "tab": "lineage", "ancestors": up, "descendants": down}
    return render(request, "lineage.html", context)


def _routes(prefix: str, repo_type: RepoType) -> None:
    base = prefix + "/{namespace}/{name}"

    def at(namespace: str, name: str) -> RepoAddress:
        return RepoAddress(repo_type, namespace, name)

    @router.get(base, response_class=HTMLResponse, name=f"web_repo_{repo_type}")
    def repo_page(
        request: Request, principal: WebPrincipal, namespace: str, name: str, session: ReadSession
    ) -> Any:
        return _repo_page(request, principal, at(namespace, name), session)

    @router.get(base + "/lineage", response_class=HTMLResponse)
    def lineage_page(
        request: Request, principal: WebPrincipal, namespace: str, name: str, session: ReadSession
    ) -> Any:
        return _lineage_page(request, principal, at(namespace, name), session)

    @router.get(base + "/tree/{rev}", response_class=HTMLResponse, name=f"web_root_{repo_type}")
    def tree_root(
        request: Request,
        principal: WebPrincipal,
        namespace: str,
        name: str,
        rev: str,
        session: ReadSession,
    ) -> Any:
        return _tree_page(request, principal, at(namespace, name), decoded(rev), "", session)

    @router.get(base + "/tree/{rev}/{path:path}", response_class=HTMLResponse)
    def tree(
        request: Request,
        principal: WebPrincipal,
        namespace: str,
        name: str,
        rev: str,
        path: str,
        session: ReadSession,
    ) -> Any:
        where = at(namespace, name)
        return _tree_page(request, principal, where, decoded(rev), decoded(path), session)

    @router.get(base + "/blob/{rev}/{path:path}", response_class=HTMLResponse)
    def blob(
        request: Request,
        principal: WebPrincipal,
        namespace: str,
        name: str,
        rev: str,
        path: str,
        session: ReadSession,
    ) -> Any:
        where = at(namespace, name)
        return _blob_page(request, principal, where, decoded(rev), decoded(path), session)

    @router.get(base + "/commits/{rev}", response_class=HTMLResponse)
    def commits(
        request: Request,
        principal: WebPrincipal,
        namespace: str,
        name: str,
        rev: str,
        session: ReadSession,
    ) -> Any:
        return _commits_page(request, principal, at(namespace, name), decoded(rev), session)

    @router.get(base + "/commit/{sha}", response_class=HTMLResponse)
    def commit(
        request: Request,
        principal: WebPrincipal,
        namespace: str,
        name: str,
        sha: str,
        session: ReadSession,
    ) -> Any:
        return _commit_page(request, principal, at(namespace, name), sha, session)


# Dataset pages first: routes are matched in order, the most specific first.
PAGE_PREFIXES: tuple[tuple[str, RepoType], ...] = (("/datasets", "dataset"), ("", "model"))
for _prefix, _type in PAGE_PREFIXES:
    _routes(_prefix, _type)
