"""Streaming stored bytes to clients, with Range support, without loading them whole."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

from fastapi import Request
from fastapi.responses import FileResponse, Response, StreamingResponse

from modelcommons.errors import PayloadTooLargeError

_RANGE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$")


class LargeChunkFileResponse(FileResponse):
    chunk_size = 1024 * 1024  # fewer event-loop hops than Starlette's 64 KiB


RANGE_INFINITY = 2**63  # past any object's size: bytes=0-<huge> asks for the rest


def range_number(digits: str) -> int:
    """A byte position from a Range header, as ASCII digits (the pattern says so), capped:
    int() refuses numbers of thousands of digits, which made the download a 500."""
    return RANGE_INFINITY if len(digits) > 18 else int(digits)


def _parse_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """(start, end-exclusive), None for the whole object, or 'invalid' (→ 416)."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        return None  # multi-range or odd syntax: send the whole object, which is allowed
    if match.group(1):
        start = range_number(match.group(1))
        end = range_number(match.group(2)) + 1 if match.group(2) else size
    else:
        start, end = max(0, size - range_number(match.group(2))), size
    end = min(end, size)
    if start >= size or start >= end:
        return "invalid"
    return start, end


def requested_range(request: Request, size: int) -> tuple[int, int] | None | str:
    """The one byte range a request asks of `size` bytes (start, end exclusive), None for
    all of them (no Range, or one this server answers whole), or 'invalid'."""
    return _parse_range(request.headers.get("range"), size)


def wants_stream(request: Request) -> bool:
    """`?stream=true` asks the server for the bytes itself instead of a redirect to the store."""
    return request.query_params.get("stream", "").lower() in ("1", "true", "yes")


def redirect_or_stream(
    request: Request,
    size: int,
    headers: dict[str, str],
    *,
    presigned: str | None,
    read: Callable[[int, int | None], Iterator[bytes]],
    local: Path | None = None,
) -> Response:
    """Send the client to the store's presigned URL when there is one (the store then serves
    the bytes and their ranges), unless it asked the server to stream them."""
    if presigned is not None and not wants_stream(request):
        return Response(status_code=302, headers={**headers, "Location": presigned})
    return stream_object(request, size, headers, read=read, local=local)


def stream_object(
    request: Request,
    size: int,
    headers: dict[str, str],
    *,
    read: Callable[[int, int | None], Iterator[bytes]],
    local: Path | None = None,
) -> Response:
    """Bytes of a stored object: from a local file (sendfile-like) or streamed from `read`."""
    if request.method == "HEAD":
        return Response(headers={**headers, "Accept-Ranges": "bytes", "Content-Length": str(size)})
    if local is not None:
        return LargeChunkFileResponse(
            local,
            headers=headers,
            content_disposition_type="inline",
            media_type="application/octet-stream",
        )
    wanted = _parse_range(request.headers.get("range"), size)
    headers = {**headers, "Accept-Ranges": "bytes"}
    if wanted == "invalid":
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    if wanted is None:
        return StreamingResponse(
            read(0, None),
            headers={**headers, "Content-Length": str(size)},
            media_type="application/octet-stream",
        )
    assert isinstance(wanted, tuple)
    start, end = wanted
    headers.update(
        {"Content-Range": f"bytes {start}-{end - 1}/{size}", "Content-Length": str(end - start)}
    )
    return StreamingResponse(
        read(start, end),
        status_code=206,
        headers=headers,
        media_type="application/octet-stream",
    )


async def read_body(request: Request, cap: int, *, what: str) -> bytes:
    """A request body held in memory, refused once it passes `cap` bytes."""
    blocks, size = [], 0
    async for block in request.stream():
        blocks.append(block)
        size += len(block)
        if size > cap:
            raise PayloadTooLargeError(f"The {what} exceeds {cap} bytes.")
    return b"".join(blocks)


def bytes_response(request: Request, data: bytes, headers: dict[str, str]) -> Response:
    wanted = _parse_range(request.headers.get("range"), len(data))
    headers = {**headers, "Accept-Ranges": "bytes"}
    if wanted == "invalid":
        return Response(
            status_code=416, headers={**headers, "Content-Range": f"bytes */{len(data)}"}
        )
    if wanted is None:
        return Response(data, headers=headers, media_type="application/octet-stream")
    assert isinstance(wanted, tuple)
    start, end = wanted
    headers["Content-Range"] = f"bytes {start}-{end - 1}/{len(data)}"
    return Response(
        data[start:end], status_code=206, headers=headers, media_type="application/octet-stream"
    )
