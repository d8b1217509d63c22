"""Reading submitted forms: CSRF checked first, size bounded, fields as plain strings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData, UploadFile
from starlette.types import Message, Receive

from modelcommons.config import get_settings
from modelcommons.errors import InvalidInputError, PayloadTooLargeError
from modelcommons.web.auth import check_csrf

MAX_FORM_FILES = 1000
MAX_FORM_FIELDS = 50  # the longest form (tune) has a dozen fields


def _bounded(receive: Receive, limit: int) -> Receive:
    """The request's body, refused once more than `limit` bytes of it have arrived: a body
    sent in chunks declares no length, and the multipart parser keeps every text field in
    memory and every file on disk for as long as the body lasts."""
    received = 0

    async def bounded() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise PayloadTooLargeError(f"This form exceeds the limit of {limit} bytes.")
        return message

    return bounded


async def read_form(request: Request, *, files: bool = False) -> FormData:
    """The form, once its CSRF token checks out. Only forms that upload (`files`) may carry
    files, up to the upload size limit, spooled to disk by the parser (never held whole in
    memory); any other form is as small as a JSON body (COMMONS_MAX_JSON_BYTES). The bytes
    received are counted, whatever the request declares."""
    settings = get_settings()
    limit = settings.max_upload_bytes if files else settings.max_json_bytes
    length = request.headers.get("content-length")
    if length and length.isascii() and length.isdigit() and int(length) > limit:
        raise PayloadTooLargeError(f"This form exceeds the limit of {limit} bytes.")
    counted = Request(request.scope, _bounded(request.receive, limit))
    form = await counted.form(max_files=MAX_FORM_FILES if files else 0, max_fields=MAX_FORM_FIELDS)
    check_csrf(request, form)
    return form


def text(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidInputError(f"The field {name!r} must be text.")
    return value.strip()


def uploaded_files(form: FormData, name: str) -> list[UploadFile]:
    """The files sent in a file field; an empty file input sends one nameless part."""
    return [f for f in form.getlist(name) if isinstance(f, UploadFile) and f.filename]


async def submitted_form(request: Request) -> FormData:
    """A small form as a dependency: pages that take it before their WriteSession have read
    the body (however slowly the client sends it) before the write lock is taken."""
    return await read_form(request)


SubmittedForm = Annotated[FormData, Depends(submitted_form)]
