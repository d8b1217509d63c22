"""Finding things: the home page, model and dataset lists with search and filters, and the
pages of users and organizations."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from modelcommons.db.engine import Session
from modelcommons.errors import CommonsError, InvalidInputError
from modelcommons.hub import accounts, evaluations, likes
from modelcommons.hub.accounts import Principal
from modelcommons.hub.names import RepoType, whole_number
from modelcommons.hub.repos import Repo, RepoQuery, can_see, facet_counts, list_repos
from modelcommons.server.deps import ReadSession
from modelcommons.web.auth import WebPrincipal
from modelcommons.web.rendering import form_page, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 30
LIST_TYPES: dict[str, RepoType] = {"models": "model", "datasets": "dataset"}
SORTS = {
    "downloads": "Most downloads",
    "likes": "Most likes",
    "lastModified": "Recently updated",
    "createdAt": "Recently created",
}
# Query parameter → how its value is spelled as an indexed tag (hub.cards.index_tags).
TAG_FILTERS = {"task": "{}", "library": "{}", "license": "license:{}", "language": "{}"}


def _top(
    session: Session, principal: Principal, repo_type: RepoType, sort: str, count: int = 6
) -> list[Repo]:
    return list_repos(session, principal, repo_type, RepoQuery(sort=sort, limit=count))[0]


@router.get("/", response_class=HTMLResponse)
def home(request: Request, principal: WebPrincipal, session: ReadSession) -> HTMLResponse:
    sections = [
        (f"{label} {kind}", kind, sort, _top(session, principal, repo_type, sort))
        for kind, repo_type in LIST_TYPES.items()
        for sort, label in (
            ("lastModified", "Recently updated"),
            ("downloads", "Most downloaded"),
            ("likes", "Most liked"),
        )
    ]
    tasks = facet_counts(session, principal, "model")["task"]
    return render(request, "home.html", {"sections": sections, "tasks": tasks})


def _filters(request: Request) -> tuple[dict[str, str], tuple[str, ...]]:
    chosen = {
        key: request.query_params[key].strip()
        for key in (*TAG_FILTERS, "tag", "author")
        if request.query_params.get(key, "").strip()
    }
    tags = [TAG_FILTERS[k].format(v) for k, v in chosen.items() if k in TAG_FILTERS]
    if "tag" in chosen:
        tags.append(chosen["tag"])
    return chosen, tuple(tags)


def _page_number(request: Request) -> int:
    return whole_number(request.query_params.get("page", "1"), what="The page number", least=1)


def _list_page(request: Request, principal: Principal, kind: str, session: Session) -> HTMLResponse:
    repo_type = LIST_TYPES[kind]
    chosen, tags = _filters(request)
    search = request.query_params.get("search", "").strip()
    sort = request.query_params.get("sort") or "downloads"
    if sort not in SORTS:
        raise InvalidInputError(f"Unknown sort {sort!r}: use one of {', '.join(SORTS)}.")
    page = _page_number(request)
    query = RepoQuery(
        search=search or None,
        author=chosen.get("author"),
        filters=tags,
        sort=sort,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    repos, more = list_repos(session, principal, repo_type, query)
    facets = facet_counts(session, principal, repo_type)
    return render(
        request,
        "list.html",
        {
            "kind": kind,
            "repos": repos,
            "more": more,
            "page": page,
            "search": search,
            "sort": sort,
            "sorts": SORTS,
            "chosen": chosen,
            "facets": facets,
        },
    )


@router.get("/models", response_class=HTMLResponse)
def models(request: Request, principal: WebPrincipal, session: ReadSession) -> HTMLResponse:
    return _list_page(request, principal, "models", session)


@router.get("/datasets", response_class=HTMLResponse)
def datasets(request: Request, principal: WebPrincipal, session: ReadSession) -> HTMLResponse:
    return _list_page(request, principal, "datasets", session)


@router.get("/leaderboards", response_class=HTMLResponse)
def leaderboards(request: Request, principal: WebPrincipal, session: ReadSession) -> HTMLResponse:
    found = evaluations.boards(session, principal)
    return render(request, "leaderboards.html", {"boards": found})


@router.get("/leaderboards/view", response_class=HTMLResponse)
def leaderboard(
    request: Request,
    principal: WebPrincipal,
    task: str,
    dataset: str,
    metric: str,
    verified: bool = False,
    order: str = "",
    *,
    session: ReadSession,
) -> HTMLResponse:
    """One leaderboard, sortable; verified and self-reported results told apart."""
    query = evaluations.BoardQuery(task, dataset, metric, verified, order)
    entries = evaluations.board_entries(session, principal, query)
    context = {
        "task": task,
        "dataset": dataset,
        "metric": metric,
        "verified": verified,
        "order": "asc" if query.ascending else "desc",
        "entries": entries,
    }
    return render(request, "leaderboard.html", context)


def account_page(
    request: Request,
    principal: Principal,
    name: str,
    session: Session,
    *,
    error: CommonsError | None = None,
) -> HTMLResponse:
    """A user's or an organization's page: repos one may see, members or organizations; an
    organization's admins also manage its members here."""
    account = accounts.get_account(session, name)
    repos = {
        kind: list_repos(session, principal, repo_type, RepoQuery(author=name, sort="likes"))[0]
        for kind, repo_type in LIST_TYPES.items()
    }
    if account.kind == "org":
        people = accounts.members(session, account)
        orgs: list[str] = []
        liked: list[Repo] = []
    else:
        people = []
        orgs = sorted(accounts.org_roles(session, account))
        liked = [r for r, _ in likes.liked_repos(session, account.id) if can_see(principal, r)]
    context = {
        "account": account,
        "repos": repos,
        "people": people,
        "orgs": orgs,
        "liked": liked,
        "can_manage": account.kind == "org" and principal.role_in(name) == "admin",
        "roles": accounts.ROLES,
    }
    return form_page(request, "account.html", context, error)
