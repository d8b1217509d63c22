"""The web: server-rendered pages over the same hub services as the API (no SPA, no build
step). Routes are registered after the API's, most specific first: static files and fixed
paths, then dataset pages, then model pages, then `/{name}` for users and organizations."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from modelcommons.errors import RepoMovedError
from modelcommons.server.deps import ReadSession
from modelcommons.web import account, browse, jobs, publish, repo_pages
from modelcommons.web.auth import WebPrincipal
from modelcommons.web.errors import redirect_moved
from modelcommons.web.rendering import HERE, pygments_css

_first = APIRouter(include_in_schema=False)
_last = APIRouter(include_in_schema=False)


@_first.get("/static/highlight.css")
def highlight_css() -> Response:
    return Response(
        pygments_css(), media_type="text/css", headers={"Cache-Control": "max-age=86400"}
    )


@_last.get("/{name}", response_class=HTMLResponse)
def account_page(
    request: Request, principal: WebPrincipal, name: str, session: ReadSession
) -> HTMLResponse:
    return browse.account_page(request, principal, name, session)


def install_web(app: FastAPI) -> None:
    app.add_exception_handler(RepoMovedError, redirect_moved)  # picked over CommonsError's
    app.include_router(_first)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (account, browse, jobs, repo_pages, publish):
        app.include_router(module.router)
    app.include_router(jobs.model_router)
    app.include_router(_last)
