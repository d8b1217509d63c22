"""The one place where domain errors become HTTP responses."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from modelcommons.errors import CommonsError
from modelcommons.web.errors import error_page, wants_html

log = logging.getLogger("modelcommons.server")

# Keys of CommonsError.extra that go into the JSON body (the rest are for headers).
_BODY_KEYS = ("url",)

# What HTTP allows in a header value, as latin-1: visible ASCII, space, and obs-text.
_NOT_IN_HEADER = re.compile(r"[^\x20-\x7e\x80-\xff]")


def header_value(text: str, *, limit: int = 500) -> str:
    """Text that may hold a client's input (a path, a revision, a field name), made safe for
    a header: a CR, LF or other control character there would make the server drop the
    connection instead of answering, and so would leading or trailing white space under
    some HTTP implementations. The JSON body keeps the text as it is."""
    return _NOT_IN_HEADER.sub("?", text[:limit].replace("\n", " ")).strip()


def error_response(
    status: int, message: str, *, code: str | None = None, **extra: object
) -> JSONResponse:
    headers = {"X-Error-Message": header_value(message)}
    if code:
        headers["X-Error-Code"] = code
    if extra.get("challenge"):
        headers["WWW-Authenticate"] = 'Basic realm="Model Commons (user name, then a token)"'
        status = 401
    commit = extra.get("commit")
    if isinstance(commit, str):
        headers["X-Repo-Commit"] = commit
    body = {"error": message, **{k: v for k, v in extra.items() if k in _BODY_KEYS}}
    return JSONResponse(body, status_code=status, headers=headers)


async def _commons_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CommonsError)
    if wants_html(request):
        response = error_page(request, exc.status, exc.message)
    else:
        response = error_response(exc.status, exc.message, code=exc.code, **exc.extra)
    retry_after = exc.extra.get("retry_after")  # a 429 says when to come back
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    range_size = exc.extra.get("range_size")  # a 416 says how many bytes there are
    if range_size is not None:
        response.headers["Content-Range"] = f"bytes */{range_size}"
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if wants_html(request):
        message = "There is no page at this address." if exc.status_code == 404 else exc.detail
        return error_page(request, exc.status_code, str(message))
    return error_response(exc.status_code, str(exc.detail))


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    message = "Internal server error; the hub's log has the details."
    if wants_html(request):
        return error_page(request, 500, message)
    return error_response(500, message)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
    )
    return error_response(400, f"Invalid request: {problems}")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CommonsError, _commons_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
