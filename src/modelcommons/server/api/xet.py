"""Native Xet: the hub's token routes and the CAS API (under /xet), as hf_xet speaks them.

Tokens: GET /api/{type}s/{ns}/{name}/xet-(read|write)-token/{rev}, answered in X-Xet-* headers.
CAS:    POST /xet/v1/xorbs/default/{hash}, POST /xet/v1/shards,
        GET /xet/v1/reconstructions/{file}, GET /xet/v1/chunks/default/{chunk} (global dedup),
        and signed GET /xet/xorbs/{hash} for the byte ranges a reconstruction names.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from modelcommons.db.engine import Session
from modelcommons.errors import (
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    UnauthorizedError,
)
from modelcommons.hub.accounts import Scope
from modelcommons.hub.lfs import Uploader
from modelcommons.hub.repos import get_repo
from modelcommons.hub.xet import cas, format, tokens
from modelcommons.server import signing
from modelcommons.server.deps import BaseUrl, CurrentPrincipal, ReadSession, RepoInUrl
from modelcommons.server.ranges import parse_range
from modelcommons.server.transfer import read_body, stream_object
from modelcommons.storage import get_store

router = APIRouter()
CAS = "/xet"
MAX_SHARD_BYTES = 64 * 1024 * 1024


def _token_response(
    session: Session, repo: RepoInUrl, principal: CurrentPrincipal, base: str, scope: Scope
) -> Response:
    found = get_repo(session, principal, repo.type, repo.id, need=scope)
    user_id = principal.user.id if principal.user else None
    token, expires = tokens.issue(found.id, scope, user_id=user_id)
    headers = {
        "X-Xet-Cas-Url": f"{base}{CAS}",
        "X-Xet-Access-Token": token,
        "X-Xet-Token-Expiration": str(expires),
    }
    body = {"casUrl": f"{base}{CAS}", "accessToken": token, "exp": expires}
    return JSONResponse(body, headers=headers)


@router.get("/api/{types}/{namespace}/{name}/xet-read-token/{rev}")
def xet_read_token(
    rev: str, repo: RepoInUrl, principal: CurrentPrincipal, base: BaseUrl, session: ReadSession
) -> Response:
    """`rev` is declared for the schema only: a Xet token is scoped to the repo, not a revision."""
    return _token_response(session, repo, principal, base, "read")


@router.get("/api/{types}/{namespace}/{name}/xet-write-token/{rev}")
def xet_write_token(
    rev: str, repo: RepoInUrl, principal: CurrentPrincipal, base: BaseUrl, session: ReadSession
) -> Response:
    """`rev` is declared for the schema only: a Xet token is scoped to the repo, not a revision."""
    return _token_response(session, repo, principal, base, "write")


def cas_grant(request: Request) -> tokens.CasGrant:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise UnauthorizedError("The CAS needs a Xet token: Authorization: Bearer <token>.")
    return tokens.verify(token.strip())


Grant = Annotated[tokens.CasGrant, Depends(cas_grant)]


@router.post(CAS + "/v1/xorbs/{prefix}/{hash_hex}")
async def upload_xorb(
    prefix: str, hash_hex: str, request: Request, grant: Grant
) -> dict[str, bool]:
    grant.require("write")
    if prefix != "default":
        raise InvalidInputError(f"Unknown xorb prefix {prefix!r}; use 'default'.")
    format.from_hex(hash_hex)
    body = await read_body(request, cas.MAX_XORB_BYTES, what="xorb")
    return {"was_inserted": await run_in_threadpool(cas.ingest_xorb, hash_hex, body)}


@router.head(CAS + "/v1/xorbs/{prefix}/{hash_hex}")
def xorb_exists(prefix: str, hash_hex: str, grant: Grant, session: ReadSession) -> Response:
    found = cas.find_xorb(session, hash_hex) is not None
    return Response(status_code=200 if found else 404)


@router.post(CAS + "/v1/shards")
async def upload_shard(request: Request, grant: Grant) -> dict[str, int]:
    grant.require("write")
    body = await read_body(request, MAX_SHARD_BYTES, what="shard")
    uploader = None if grant.user_id is None else Uploader(grant.user_id, grant.repo_id)
    return {"result": await run_in_threadpool(cas.register_shard, body, uploader=uploader)}


@router.get(CAS + "/v1/chunks/{prefix}/{hash_hex}")
def global_dedup(prefix: str, hash_hex: str, grant: Grant) -> Response:
    """Which stored xorb holds this chunk: a shard whose chunk hashes are keyed (see format)."""
    shard = cas.dedup_shard(hash_hex)
    if shard is None:
        raise NotFoundError("Chunk not tracked by global deduplication.")
    return Response(shard, media_type="application/octet-stream")


@router.post(CAS + "/v1/telemetry")
@router.post("/v1/telemetry", include_in_schema=False)  # where hf_xet 1.8 sends it
def telemetry() -> dict[str, str]:
    """Transfer telemetry is fire-and-forget for clients; this hub keeps none of it."""
    return {}


@router.get(CAS + "/v1/reconstructions/{file_hex}")
def reconstruction(
    file_hex: str, request: Request, grant: Grant, base: BaseUrl, session: ReadSession
) -> Any:
    format.from_hex(file_hex)
    file = cas.repo_file(session, grant.repo_id, file_hex)
    wanted = parse_range(request.headers.get("range"), file.size)
    start, end = (wanted.start, wanted.end) if wanted else (0, file.size)
    terms, skip = cas.plan(session, file.segments, start, end)
    fetch: dict[str, list[dict[str, Any]]] = {}
    for term in terms:
        # Through this server, never a store's presigned URL: the URL must be good for the
        # term's bytes only, as a xorb also holds chunks of the other files uploaded with
        # it, which may be private; a presigned URL opens the whole object.
        first, last = term.byte_start, term.byte_end - 1
        signed = {"start": first, "end": last, **signing.sign("xorb", term.xorb, first, last)}
        url = f"{base}{CAS}/xorbs/{term.xorb}?{urlencode(signed)}"
        fetch.setdefault(term.xorb, []).append(
            {
                "range": {"start": term.chunk_start, "end": term.chunk_end},
                "url": url,
                "url_range": {"start": term.byte_start, "end": term.byte_end - 1},
            }
        )
    return {
        "offset_into_first_range": skip,
        "terms": [
            {
                "hash": t.xorb,
                "unpacked_length": t.size,
                "range": {"start": t.chunk_start, "end": t.chunk_end},
            }
            for t in terms
        ],
        "fetch_info": fetch,
    }


@router.get(CAS + "/xorbs/{hash_hex}")
def fetch_xorb(
    hash_hex: str,
    request: Request,
    start: int | None = None,
    end: int | None = None,
    exp: str | None = None,
    sig: str | None = None,
    *,
    session: ReadSession,
) -> Response:
    """The bytes [start, end] of a xorb that a reconstruction signed, asked for by Range
    (as hf_xet does): never the rest of the xorb, which holds other files' chunks."""
    if start is None or end is None:
        raise UnauthorizedError("This URL is not signed.")
    signing.verify("xorb", hash_hex, start, end, exp=exp, sig=sig)
    xorb = cas.find_xorb(session, hash_hex)
    if xorb is None:
        raise NotFoundError(f"No xorb {hash_hex}.")
    wanted = parse_range(request.headers.get("range"), xorb.size)
    if wanted is None or not start <= wanted.start < wanted.end <= end + 1:
        raise PermissionDeniedError(
            f"This URL is good for bytes {start}-{end} of the xorb: ask for them with Range."
        )
    key, store = cas.xorb_key(hash_hex), get_store()
    return stream_object(
        request,
        xorb.size,
        {},
        read=lambda s, e: store.iter_range(key, s, e),
        local=store.local_path(key),
    )
