"""Reading submitted forms: CSRF checked first, size bounded, fields as plain strings."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import FormData, UploadFile

from modelcommons.config import get_settings
from modelcommons.errors import InvalidInputError, PayloadTooLargeError
from modelcommons.web.auth import check_csrf

MAX_FORM_FILES = 1000


async def read_form(request: Request) -> FormData:
    """The form, once its CSRF token checks out. Uploaded files are spooled to disk by the
    parser (never held whole in memory); the whole request obeys the upload size limit."""
    limit = get_settings().max_upload_bytes
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise PayloadTooLargeError(f"Upload exceeds the limit of {limit} bytes.")
    form = await request.form(max_files=MAX_FORM_FILES, max_fields=1000)
    check_csrf(request, form)
    return form


def text(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidInputError(f"The field {name!r} must be text.")
    return value.strip()


def uploads(form: FormData, name: str) -> list[UploadFile]:
    """The files sent in a file field; an empty file input sends one nameless part."""
    return [f for f in form.getlist(name) if isinstance(f, UploadFile) and f.filename]
