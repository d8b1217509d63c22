"""Errors as pages for people: a browser gets HTML where a client would get JSON."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

API_PREFIXES = ("/api/", "/xet/", "/lfs/", "/v1/")


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
