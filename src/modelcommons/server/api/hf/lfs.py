"""The git-LFS batch API and the signed upload/download URLs it hands out.

Part and object PUTs carry no Authorization header (the clients drop it), so each URL is
signed for one object and size; the bytes are verified against the sha256 before they count.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from modelcommons.config import get_settings
from modelcommons.db.engine import read_session, write_session
from modelcommons.errors import InvalidInputError, NotFoundError
from modelcommons.hub import lfs as hub_lfs
from modelcommons.hub import objects
from modelcommons.hub.repos import get_repo
from modelcommons.server import signing
from modelcommons.server.bodies import json_object
from modelcommons.server.deps import BaseUrl, CurrentPrincipal
from modelcommons.server.transfer import stream_object
from modelcommons.storage import get_store
from modelcommons.storage.base import upload_part_key

router = APIRouter()
LFS_JSON = "application/vnd.git-lfs+json"
UPLOADS = "/lfs/uploads/{oid}"


def _signed(base: str, path: str, *parts: object, size: int) -> str:
    return f"{base}{path}?{urlencode({'size': size, **signing.sign(*parts, size)})}"


def _upload_actions(base: str, oid: str, size: int, transfers: list[str]) -> dict[str, Any]:
    settings = get_settings()
    if size >= settings.lfs_multipart_threshold and "multipart" in transfers:
        part_size = settings.lfs_part_size
        header: dict[str, str] = {"chunk_size": str(part_size)}
        for number in range(1, math.ceil(size / part_size) + 1):
            header[str(number)] = _signed(
                base, f"/lfs/uploads/{oid}/parts/{number}", "part", oid, number, size=size
            )
        href = _signed(base, f"/lfs/uploads/{oid}/complete", "complete", oid, size=size)
        return {"upload": {"href": href, "header": header}}
    return {"upload": {"href": _signed(base, f"/lfs/uploads/{oid}", "put", oid, size=size)}}


def _batch_object(item: Any, operation: str, transfers: list[str], base: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        return {"oid": "", "size": 0, "error": {"code": 422, "message": "Invalid object."}}
    oid, size = item.get("oid"), item.get("size")
    if (
        not isinstance(oid, str)
        or not hub_lfs.SHA256.match(oid)
        or not isinstance(size, int)
        or size < 0
    ):
        return {
            "oid": str(oid),
            "size": size if isinstance(size, int) else 0,
            "error": {"code": 422, "message": "Objects need a sha256 'oid' and a 'size'."},
        }
    limit = get_settings().max_upload_bytes
    if size > limit:
        return {
            "oid": oid,
            "size": size,
            "error": {
                "code": 413,
                "message": f"Object of {size} bytes exceeds the limit of {limit}.",
            },
        }
    with read_session() as session:
        stored = hub_lfs.find_object(session, oid)
    if operation == "upload":
        if stored is not None:
            return {"oid": oid, "size": size}
        return {"oid": oid, "size": size, "actions": _upload_actions(base, oid, size, transfers)}
    if stored is None:
        return {"oid": oid, "size": size, "error": {"code": 404, "message": "Object not found."}}
    href = objects.presigned_url(stored) or _signed(
        base, f"/lfs/objects/{oid}", "get", oid, size=stored.size
    )
    return {"oid": oid, "size": stored.size, "actions": {"download": {"href": href}}}


async def _batch(
    request: Request,
    principal: CurrentPrincipal,
    base: str,
    repo_type: str,
    namespace: str,
    name: str,
) -> Response:
    body = await json_object(request)
    operation = body.get("operation")
    if operation not in ("upload", "download") or not isinstance(body.get("objects"), list):
        raise InvalidInputError("An LFS batch needs 'operation' (upload|download) and 'objects'.")
    need = "write" if operation == "upload" else "read"

    def answer() -> dict[str, Any]:
        with read_session() as session:
            get_repo(
                session, principal, repo_type, f"{namespace}/{name.removesuffix('.git')}", need=need
            )
        transfers = body.get("transfers") or ["basic"]
        objects = [_batch_object(o, operation, transfers, base) for o in body["objects"]]
        return {
            "transfer": "multipart"
            if any(
                "chunk_size" in o.get("actions", {}).get("upload", {}).get("header", {})
                for o in objects
            )
            else "basic",
            "objects": objects,
            "hash_algo": "sha256",
        }

    return JSONResponse(await run_in_threadpool(answer), media_type=LFS_JSON)


def _batch_route(prefix: str, repo_type: str) -> None:
    @router.post(
        prefix + "/{namespace}/{name}/info/lfs/objects/batch", name=f"lfs_batch_{repo_type}"
    )
    async def batch(
        namespace: str, name: str, request: Request, principal: CurrentPrincipal, base: BaseUrl
    ) -> Response:
        if not name.endswith(".git"):
            raise NotFoundError("Not found: LFS lives under /<repo>.git/info/lfs.")
        return await _batch(request, principal, base, repo_type, namespace, name)


# Typed prefixes first: a model's namespace can never be "datasets" or "spaces" (names.py).
for _prefix, _type in (("/datasets", "dataset"), ("/spaces", "space"), ("", "model")):
    _batch_route(_prefix, _type)


async def _receive_and_publish(request: Request, oid: str, size: int) -> None:
    store = get_store()
    staged, sha256, got = await hub_lfs.receive_stream(store, request.stream(), max_bytes=size)

    def publish() -> None:
        with write_session() as session:
            hub_lfs.publish_object(
                session, store, staged, sha256=sha256, size=got, oid=oid, expected_size=size
            )

    await run_in_threadpool(publish)


@router.put(UPLOADS)
async def upload_object(
    oid: str, request: Request, size: int, exp: str | None = None, sig: str | None = None
) -> dict[str, str]:
    signing.verify("put", oid, size, exp=exp, sig=sig)
    await _receive_and_publish(request, oid, size)
    return {"oid": oid}


@router.put(UPLOADS + "/parts/{number}")
async def upload_part(
    oid: str,
    number: int,
    request: Request,
    size: int,
    exp: str | None = None,
    sig: str | None = None,
) -> Response:
    signing.verify("part", oid, number, size, exp=exp, sig=sig)
    part_size = get_settings().lfs_part_size
    store = get_store()
    staged, sha256, _ = await hub_lfs.receive_stream(store, request.stream(), max_bytes=part_size)
    await run_in_threadpool(store.put_file, upload_part_key(oid, number), staged)
    return Response(status_code=200, headers={"ETag": f'"{sha256}"'})


@router.post(UPLOADS + "/complete")
async def complete_upload(
    oid: str, size: int, exp: str | None = None, sig: str | None = None
) -> dict[str, str]:
    signing.verify("complete", oid, size, exp=exp, sig=sig)
    store, settings = get_store(), get_settings()
    count = math.ceil(size / settings.lfs_part_size)

    def finish() -> None:
        staged, sha256, got = hub_lfs.concatenate_parts(store, oid, count, max_bytes=size)
        with write_session() as session:
            hub_lfs.publish_object(
                session, store, staged, sha256=sha256, size=got, oid=oid, expected_size=size
            )
        hub_lfs.discard_parts(store, oid, range(1, count + 1))

    await run_in_threadpool(finish)
    return {"oid": oid}


@router.get("/lfs/objects/{oid}")
def download_object(
    oid: str, request: Request, size: int, exp: str | None = None, sig: str | None = None
) -> Response:
    signing.verify("get", oid, size, exp=exp, sig=sig)
    with read_session() as session:
        stored = hub_lfs.find_object(session, oid)
    if stored is None:
        raise NotFoundError(f"LFS object {oid} not found.")
    return stream_object(
        request,
        stored.size,
        {"ETag": f'"{oid}"'},
        read=lambda start, end: objects.iter_object(stored, start, end),
        local=objects.local_path(stored),
    )
