"""Streaming stored bytes to clients, with Range support (server/ranges.py), without loading
them whole."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from fastapi import Request
from fastapi.responses import FileResponse, Response, StreamingResponse

from modelcommons.errors import PayloadTooLargeError
from modelcommons.server.ranges import ByteRange, parse_range


class LargeChunkFileResponse(FileResponse):
    chunk_size = 1024 * 1024  # fewer event-loop hops than Starlette's 64 KiB


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
    if local is not None and "range" not in request.headers:
        # Starlette would read a Range itself, its own way: ranges go through ours, below.
        return LargeChunkFileResponse(
            local,
            headers=headers,
            content_disposition_type="inline",
            media_type="application/octet-stream",
        )
    wanted = parse_range(request.headers.get("range"), size)
    headers = {**headers, "Accept-Ranges": "bytes"}
    if wanted is None:
        return StreamingResponse(
            read(0, None),
            headers={**headers, "Content-Length": str(size)},
            media_type="application/octet-stream",
        )
    return StreamingResponse(
        read(wanted.start, wanted.end),
        status_code=206,
        headers={**headers, **_partial(wanted)},
        media_type="application/octet-stream",
    )


def _partial(wanted: ByteRange) -> dict[str, str]:
    return {"Content-Range": wanted.content_range(), "Content-Length": str(wanted.length)}


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
    wanted = parse_range(request.headers.get("range"), len(data))
    headers = {**headers, "Accept-Ranges": "bytes"}
    if wanted is None:
        return Response(data, headers=headers, media_type="application/octet-stream")
    return Response(
        data[wanted.start : wanted.end],
        status_code=206,
        headers={**headers, "Content-Range": wanted.content_range()},
        media_type="application/octet-stream",
    )
