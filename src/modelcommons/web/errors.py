"""Errors as pages for people: a browser gets HTML where a client would get JSON."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from modelcommons.errors import RepoMovedError

API_PREFIXES = ("/api/", "/xet/", "/lfs/", "/v1/")


async def redirect_moved(request: Request, exc: Exception) -> Response:
    """A page under a repo's old name: the same page under the new one (308 keeps a POST)."""
    assert isinstance(exc, RepoMovedError)
    path = request.url.path.replace(f"/{exc.old_id}", f"/{exc.new_id}", 1)
    return RedirectResponse(path, status_code=301 if request.method == "GET" else 308)


def wants_html(request: Request) -> bool:
    """A browser navigating: it asks for HTML, and the path is not a protocol route."""
    if request.url.path.startswith(API_PREFIXES) or "/resolve/" in request.url.path:
        return False
    return "text/html" in request.headers.get("accept", "")


def error_page(request: Request, status: int, message: str) -> Response:
    from modelcommons.web.rendering import render

    if status == 401 and request.method == "GET":
        return RedirectResponse("/login?next=" + quote(request.url.path), status_code=303)
    title = {404: "Not found", 403: "Not allowed", 401: "Log in first"}.get(status, "Error")
    context = {"status": status, "title": title, "message": message}
    return render(request, "error.html", context, status=status)
