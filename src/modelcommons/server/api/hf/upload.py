"""Uploads: validate-yaml, preupload (regular or LFS?) and the NDJSON commit."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from modelcommons.config import get_settings
from modelcommons.errors import InvalidInputError, NotSupportedError, PayloadTooLargeError
from modelcommons.hub import cards, commits, lfs
from modelcommons.hub.files import branch_files
from modelcommons.hub.names import validate_path
from modelcommons.hub.repos import authorized_repo
from modelcommons.hub.upload_modes import upload_mode
from modelcommons.server.api.hf import shapes
from modelcommons.server.api.hf.common import is_true
from modelcommons.server.bodies import check_json
from modelcommons.server.deps import BaseUrl, CurrentPrincipal, JsonBody, RepoInUrl, decoded
from modelcommons.server.transfer import read_body

router = APIRouter()
REPO = "/api/{types}/{namespace}/{name}"
MAX_COMMIT_PAYLOAD = 512 * 1024 * 1024


@router.post("/api/validate-yaml")
def validate_yaml(body: JsonBody) -> dict[str, Any]:
    """Card problems come back as warnings: a bad front matter never blocks a commit."""
    content = body.get("content")
    if not isinstance(content, str):
        raise InvalidInputError("Missing 'content' (the README text) in the request body.")
    return {"errors": [], "warnings": [{"message": m} for m in cards.validate_card(content)]}


def _preupload_file(item: Any) -> tuple[str, int, bytes]:
    if not isinstance(item, dict):
        raise InvalidInputError("Each entry of 'files' must be an object.")
    path, size, sample = item.get("path"), item.get("size"), item.get("sample", "")
    if not isinstance(path, str) or not isinstance(size, int) or size < 0:
        raise InvalidInputError("Each file needs a 'path' string and a non-negative 'size'.")
    try:
        return validate_path(path), size, base64.b64decode(sample or "", validate=True)
    except binascii.Error as exc:
        raise InvalidInputError(f"The sample of {path} is not valid base64.") from exc


@router.post(REPO + "/preupload/{rev}")
def preupload(
    repo: RepoInUrl, rev: str, principal: CurrentPrincipal, body: JsonBody
) -> dict[str, Any]:
    items = body.get("files")
    if not isinstance(items, list):
        raise InvalidInputError("Missing 'files' list in the request body.")
    wanted = [_preupload_file(item) for item in items]
    limit = get_settings().max_upload_bytes
    for path, size, _ in wanted:
        if size > limit:
            raise PayloadTooLargeError(
                f"{path} has {size} bytes; this hub accepts at most {limit}."
            )
    branch = branch_files(principal, repo.type, repo.id, decoded(rev), [p for p, _, _ in wanted])
    answer = []
    for path, size, sample in wanted:
        mode = upload_mode(path, size=size, sample=sample, patterns=branch.lfs_patterns)
        existing = branch.files.get(path)
        oid = (existing.lfs_sha256 or existing.oid) if existing else None
        answer.append({"path": path, "uploadMode": mode, "shouldIgnore": False, "oid": oid})
    return {"files": answer, "commitOid": branch.sha}


def _parse_operation(key: Any, value: Any, line: int, limit: int) -> commits.Operation:
    if not isinstance(value, dict) or not isinstance(value.get("path"), str):
        raise InvalidInputError(f"Line {line}: '{key}' needs a value with a 'path'.")
    path = value["path"]
    if key == "file":
        if value.get("encoding", "base64") != "base64" or not isinstance(value.get("content"), str):
            raise InvalidInputError(f"Line {line}: file content must be a base64 string.")
        try:
            content = base64.b64decode(value["content"], validate=True)
        except binascii.Error as exc:
            raise InvalidInputError(f"Line {line}: file content is not valid base64.") from exc
        if len(content) > limit:
            raise PayloadTooLargeError(f"{path} has {len(content)} bytes; the limit is {limit}.")
        commits.require_regular_size(path, len(content))  # at its line, not after them all
        return commits.AddFile(path, content)
    if key == "lfsFile":
        oid, size = value.get("oid"), value.get("size")
        if value.get("algo", "sha256") != "sha256" or not isinstance(oid, str):
            raise InvalidInputError(f"Line {line}: lfsFile needs a sha256 'oid'.")
        lfs.validate_oid(oid)  # before anything looks it up
        if size is not None and (not isinstance(size, int) or size < 0):
            raise InvalidInputError(f"Line {line}: lfsFile 'size' must be a non-negative integer.")
        return commits.AddLfsFile(path, oid, size)
    if key in ("deletedFile", "deletedFolder"):
        return commits.Delete(path, folder=key == "deletedFolder")
    raise InvalidInputError(f"Line {line}: unknown operation {key!r}.")


def parse_commit_payload(
    payload: bytes, limit: int
) -> tuple[dict[str, Any], list[commits.Operation]]:
    header: dict[str, Any] | None = None
    operations: list[commits.Operation] = []
    for number, raw in enumerate(payload.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except (ValueError, RecursionError) as exc:  # bad JSON or UTF-8, or absurdly deep
            raise InvalidInputError(f"Malformed NDJSON: line {number} is not JSON.") from exc
        try:
            check_json(line)
        except ValueError as exc:
            raise InvalidInputError(f"Malformed NDJSON: line {number}: {exc}.") from exc
        if not isinstance(line, dict) or "key" not in line:
            raise InvalidInputError(f"Malformed NDJSON: line {number} has no 'key'.")
        if line["key"] == "header":
            if not isinstance(line.get("value"), dict):
                raise InvalidInputError(f"Line {number}: the header needs a value object.")
            header = line["value"]
        else:
            operations.append(_parse_operation(line["key"], line.get("value"), number, limit))
            commits.require_operation_count(len(operations))  # stop parsing past the cap
    if header is None:
        raise InvalidInputError("Malformed NDJSON: the commit has no header line.")
    return header, operations


# The body is read by hand: NDJSON, one of these objects a line (the header, then the
# operations), as huggingface_hub sends it; declared as the list of lines for the schema.
_COMMIT_LINE_VALUE = {
    name: {"type": kind}
    for name, kind in (
        ("summary", "string"),
        ("description", "string"),
        ("parentCommit", "string"),
        ("path", "string"),
        ("content", "string"),
        ("encoding", "string"),
        ("oid", "string"),
        ("size", "integer"),
        ("algo", "string"),
    )
}
_COMMIT_LINE = {
    "type": "object",
    "required": ["key", "value"],
    "properties": {
        "key": {"enum": ["header", "file", "lfsFile", "deletedFile", "deletedFolder"]},
        "value": {"type": "object", "properties": _COMMIT_LINE_VALUE},
    },
}
_COMMIT_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/x-ndjson": {"schema": {"type": "array", "items": _COMMIT_LINE}}},
    }
}


@router.post(REPO + "/commit/{rev}", openapi_extra=_COMMIT_BODY)
async def commit(
    repo: RepoInUrl, rev: str, request: Request, principal: CurrentPrincipal, base: BaseUrl
) -> dict[str, Any]:
    if is_true(request.query_params.get("create_pr")):
        raise NotSupportedError("Pull requests are not supported yet; commit to a branch.")

    # Before the body: a client that may not write is refused before it sends the payload.
    target = await run_in_threadpool(
        lambda: authorized_repo(principal, repo.type, repo.id, need="write")
    )
    limit = get_settings().max_upload_bytes
    payload = await read_body(
        request, min(limit * 4 // 3 + 2**20, MAX_COMMIT_PAYLOAD), what="commit payload"
    )
    header, operations = parse_commit_payload(payload, limit)
    summary, description = header.get("summary") or "", header.get("description") or ""
    if not isinstance(summary, str) or not isinstance(description, str):
        raise InvalidInputError("The commit summary and description must be strings.")
    parent = header.get("parentCommit")
    if parent is not None and not isinstance(parent, str):
        raise InvalidInputError("The commit's parentCommit must be a commit id.")
    assert principal.user is not None
    author = principal.user.name
    # A client names LFS objects by sha256 alone; only the ones it may use get through.
    wanted = {op.path: op.sha256 for op in operations if isinstance(op, commits.AddLfsFile)}
    await run_in_threadpool(lfs.require_usable, principal, target.id, wanted)
    result = await run_in_threadpool(
        lambda: commits.create_commit(
            target.id,
            branch=decoded(rev),
            author=author,
            summary=summary,
            description=description,
            operations=operations,
            parent_commit=parent,
        )
    )
    return {
        "commitUrl": f"{shapes.repo_url(base, target)}/commit/{result.sha}",
        "commitOid": result.sha,
        "pullRequestUrl": None,
    }
