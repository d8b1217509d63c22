"""The git-LFS batch API and the signed upload/download URLs it hands out.

Part and object PUTs carry no Authorization header (the clients drop it), so each URL is
signed for one object and size; the bytes are verified against the sha256 before they count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from modelcommons.config import get_settings
from modelcommons.db.engine import Session
from modelcommons.errors import (
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    UnauthorizedError,
)
from modelcommons.hub import lfs as hub_lfs
from modelcommons.hub import objects
from modelcommons.hub.accounts import Principal, Role
from modelcommons.hub.names import RepoType
from modelcommons.hub.objects import StoredObject
from modelcommons.hub.repos import Repo, get_repo
from modelcommons.server import signing
from modelcommons.server.bodies import json_object
from modelcommons.server.deps import BaseUrl, CurrentPrincipal, ReadSession
from modelcommons.server.transfer import stream_object
from modelcommons.storage import get_store
from modelcommons.storage.base import upload_part_key

router = APIRouter()
LFS_JSON = "application/vnd.git-lfs+json"
UPLOADS = "/lfs/uploads/{oid}"
# Objects per batch (git-lfs sends 100, huggingface_hub 256): each large upload's answer is a
# signed URL per part, so 100,000 objects of 50 GB in a 10 MB body asked for 9 million URLs,
# gigabytes of answer built in memory; the LFS API's answer to too many objects is a 413.
MAX_BATCH_OBJECTS = 1000


def _signed(base: str, path: str, *parts: object, size: int, **who: int) -> str:
    """A URL valid for one object and size (and uploader, when `who` names one)."""
    query = {"size": size, **who, **signing.sign(*parts, size, *who.values())}
    return f"{base}{path}?{urlencode(query)}"


def _upload_actions(
    base: str, oid: str, size: int, transfers: list[str], uploader: hub_lfs.Uploader
) -> dict[str, Any]:
    """Signed URLs that also name the uploader, so the bytes count as theirs for this repo."""
    settings = get_settings()
    who = {"user": uploader.user_id, "repo": uploader.repo_id}
    if size >= settings.lfs_multipart_threshold and "multipart" in transfers:
        part_size = settings.lfs_part_size
        header: dict[str, str] = {"chunk_size": str(part_size)}
        for number in range(1, math.ceil(size / part_size) + 1):
            header[str(number)] = _signed(
                base, f"/lfs/uploads/{oid}/parts/{number}", "part", oid, number, size=size, **who
            )
        href = _signed(base, f"/lfs/uploads/{oid}/complete", "complete", oid, size=size, **who)
        return {"upload": {"href": href, "header": header}}
    return {"upload": {"href": _signed(base, f"/lfs/uploads/{oid}", "put", oid, size=size, **who)}}


def _invalid(item: Any) -> dict[str, Any] | None:
    """The per-object error git-lfs expects for an item that names no valid object."""
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
    return None


def _upload_answer(
    oid: str, size: int, known: bool, transfers: list[str], base: str, who: hub_lfs.Uploader
) -> dict[str, Any]:
    """No upload for bytes the user can already read; any other object gets upload actions,
    stored elsewhere or not, so the answer says nothing about other repos."""
    if known:
        return {"oid": oid, "size": size}
    return {"oid": oid, "size": size, "actions": _upload_actions(base, oid, size, transfers, who)}


def _download_answer(oid: str, size: int, stored: StoredObject | None, base: str) -> dict[str, Any]:
    if stored is None:
        return {"oid": oid, "size": size, "error": {"code": 404, "message": "Object not found."}}
    href = objects.presigned_url(stored) or _signed(
        base, f"/lfs/objects/{oid}", "get", oid, size=stored.size
    )
    return {"oid": oid, "size": stored.size, "actions": {"download": {"href": href}}}


def _answer_objects(
    session: Session,
    principal: Principal,
    repo: Repo,
    batch: LfsBatch,
    base: str,
) -> list[dict[str, Any]]:
    """Per-object answers: a download serves only objects this repo's commits hold."""
    shas = {item["oid"] for item in batch.objects if _invalid(item) is None}
    known = hub_lfs.known_objects(session, principal, repo.id, batch.operation, shas)
    who = hub_lfs.Uploader(user_id=principal.user.id, repo_id=repo.id) if principal.user else None

    def answer(item: Any) -> dict[str, Any]:
        invalid = _invalid(item)
        if invalid is not None:
            return invalid
        oid, size = item["oid"], item["size"]
        if batch.operation == "download":
            return _download_answer(oid, size, known.get(oid), base)
        assert who is not None  # an upload batch needs write access
        return _upload_answer(oid, size, oid in known, batch.transfers, base, who)

    return [answer(item) for item in batch.objects]


@dataclass(frozen=True)
class LfsBatch:
    operation: str  # "upload" or "download"
    objects: list[Any]  # each checked on its own: a bad one gets its own error in the answer
    transfers: list[str]


async def _batch_request(name: str, request: Request) -> LfsBatch:
    """The batch a client sent to /<repo>.git/info/lfs/objects/batch, read before any
    database work."""
    if not name.endswith(".git"):
        raise NotFoundError("Not found: LFS lives under /<repo>.git/info/lfs.")
    body = await json_object(request)
    operation = body.get("operation")
    if operation not in ("upload", "download") or not isinstance(body.get("objects"), list):
        raise InvalidInputError("An LFS batch needs 'operation' (upload|download) and 'objects'.")
    if len(body["objects"]) > MAX_BATCH_OBJECTS:
        raise PayloadTooLargeError(
            f"An LFS batch names at most {MAX_BATCH_OBJECTS} objects; send the rest in another."
        )
    return LfsBatch(operation, body["objects"], body.get("transfers") or ["basic"])


def _batch(
    session: Session,
    batch: LfsBatch,
    principal: Principal,
    base: str,
    repo_type: RepoType,
    repo_id: str,
) -> Response:
    need: Role = "write" if batch.operation == "upload" else "read"
    repo = get_repo(session, principal, repo_type, repo_id, need=need)
    objects = _answer_objects(session, principal, repo, batch, base)
    multipart = any(
        "chunk_size" in o.get("actions", {}).get("upload", {}).get("header", {}) for o in objects
    )
    answer = {
        "transfer": "multipart" if multipart else "basic",
        "objects": objects,
        "hash_algo": "sha256",
    }
    return JSONResponse(answer, media_type=LFS_JSON)


# The body is read by hand (json_object); declared so that schema tools send batches.
_BATCH_OBJECT = {
    "type": "object",
    "required": ["oid", "size"],
    "properties": {"oid": {"type": "string"}, "size": {"type": "integer"}},
}
_BATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            LFS_JSON: {
                "schema": {
                    "type": "object",
                    "required": ["operation", "objects"],
                    "properties": {
                        "operation": {"type": "string", "enum": ["upload", "download"]},
                        "transfers": {"type": "array", "items": {"type": "string"}},
                        "objects": {"type": "array", "items": _BATCH_OBJECT},
                    },
                }
            }
        },
    }
}


def _batch_route(prefix: str, repo_type: RepoType) -> None:
    @router.post(
        prefix + "/{namespace}/{name}/info/lfs/objects/batch",
        name=f"lfs_batch_{repo_type}",
        openapi_extra=_BATCH_BODY,
    )
    def batch(
        namespace: str,
        name: str,
        principal: CurrentPrincipal,
        base: BaseUrl,
        body: Annotated[LfsBatch, Depends(_batch_request)],
        session: ReadSession,
    ) -> Response:
        repo_id = f"{namespace}/{name.removesuffix('.git')}"
        return _batch(session, body, principal, base, repo_type, repo_id)


# Typed prefixes first: a model's namespace can never be "datasets" or "spaces" (names.py).
_PREFIXES: tuple[tuple[str, RepoType], ...] = (
    ("/datasets", "dataset"),
    ("/spaces", "space"),
    ("", "model"),
)
for _prefix, _type in _PREFIXES:
    _batch_route(_prefix, _type)


@dataclass(frozen=True)
class UploadSignature:
    """The query of an upload URL this hub handed out: for whom, into which repo, until when,
    and the signature over all of it (part URLs carry no Authorization header)."""

    user: int | None = None
    repo: int | None = None
    exp: str | None = None
    sig: str | None = None


SignedQuery = Annotated[UploadSignature, Depends()]


def _signed_uploader(signed: UploadSignature, *parts: object) -> hub_lfs.Uploader:
    """The uploader an upload URL was signed for; 401 for any URL this hub did not sign."""
    if signed.user is None or signed.repo is None:
        raise UnauthorizedError("This URL is not signed.")
    signing.verify(*parts, signed.user, signed.repo, exp=signed.exp, sig=signed.sig)
    return hub_lfs.Uploader(user_id=signed.user, repo_id=signed.repo)


def _upload_id(oid: str, who: hub_lfs.Uploader) -> str:
    """Parts are kept per uploader and repo: nobody else's parts can mix into an upload."""
    return f"{oid}-{who.user_id}-{who.repo_id}"


@router.put(UPLOADS)
async def upload_object(
    oid: str,
    request: Request,
    size: int,
    signed: SignedQuery,
) -> dict[str, str]:
    who = _signed_uploader(signed, "put", oid, size)
    staged, sha256, got = await hub_lfs.receive_stream(
        get_store(), request.stream(), max_bytes=size
    )
    await run_in_threadpool(
        lambda: hub_lfs.publish_upload(
            get_store(), staged, sha256=sha256, size=got, oid=oid, expected_size=size, uploader=who
        )
    )
    return {"oid": oid}


@router.put(UPLOADS + "/parts/{number}")
async def upload_part(
    oid: str,
    number: int,
    request: Request,
    size: int,
    signed: SignedQuery,
) -> Response:
    who = _signed_uploader(signed, "part", oid, number, size)
    upload_id = _upload_id(oid, who)
    part_size = get_settings().lfs_part_size
    store = get_store()
    staged, sha256, _ = await hub_lfs.receive_stream(store, request.stream(), max_bytes=part_size)
    await run_in_threadpool(store.put_file, upload_part_key(upload_id, number), staged)
    return Response(status_code=200, headers={"ETag": f'"{sha256}"'})


@router.post(UPLOADS + "/complete")
async def complete_upload(
    oid: str,
    size: int,
    signed: SignedQuery,
) -> dict[str, str]:
    who = _signed_uploader(signed, "complete", oid, size)
    store, upload_id = get_store(), _upload_id(oid, who)
    count = math.ceil(size / get_settings().lfs_part_size)

    def finish() -> None:
        staged, sha256, got = hub_lfs.concatenate_parts(store, upload_id, count, max_bytes=size)
        hub_lfs.publish_upload(
            store, staged, sha256=sha256, size=got, oid=oid, expected_size=size, uploader=who
        )
        hub_lfs.discard_parts(store, upload_id, range(1, count + 1))

    await run_in_threadpool(finish)
    return {"oid": oid}


@router.get("/lfs/objects/{oid}")
def download_object(
    oid: str,
    request: Request,
    size: int,
    exp: str | None = None,
    sig: str | None = None,
    *,
    session: ReadSession,
) -> Response:
    signing.verify("get", oid, size, exp=exp, sig=sig)
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
