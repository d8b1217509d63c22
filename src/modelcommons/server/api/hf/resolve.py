"""File downloads: HEAD and GET /{prefix}{ns}/{name}/resolve/{rev}/{path}.

Headers follow the Hub: X-Repo-Commit always; ETag is the git blob id for regular files and
the sha256 for LFS files (with X-Linked-Etag / X-Linked-Size); Range gets 206.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from modelcommons.config import get_settings
from modelcommons.errors import PermissionDeniedError
from modelcommons.hub import files, objects, scans
from modelcommons.hub.files import ResolvedFile
from modelcommons.hub.names import RepoType
from modelcommons.hub.repos import count_download
from modelcommons.server.deps import BaseUrl, CurrentPrincipal, decoded
from modelcommons.server.errors import header_value
from modelcommons.server.transfer import bytes_response, redirect_or_stream
from modelcommons.storage import get_git

router = APIRouter()
# The file whose download counts as one download of the repo, as the Hub counts them.
COUNTED_FILE = {"model": "config.json", "dataset": "README.md"}


def _counts_as_download(found: ResolvedFile, request: Request) -> bool:
    """A GET of the repo's counted file from its start (a resumed download is not another)."""
    return (
        request.method == "GET"
        and found.entry.path == COUNTED_FILE.get(found.repo.type)
        and request.headers.get("range", "bytes=0-").startswith("bytes=0-")
    )


async def _resolve(
    request: Request,
    principal: CurrentPrincipal,
    base: str,
    repo_type: RepoType,
    namespace: str,
    name: str,
    rev: str,
    path: str,
) -> Response:
    found = await run_in_threadpool(
        files.resolve_file, principal, repo_type, f"{namespace}/{name}", decoded(rev), decoded(path)
    )
    repo, sha, entry, stored = found.repo, found.sha, found.entry, found.stored
    headers = {"X-Repo-Commit": sha, "Accept-Ranges": "bytes"}
    if scans.needs_scan(entry.path):
        verdict = await run_in_threadpool(scans.verdict_for, entry.lfs_sha256 or entry.oid)
        if verdict == "unsafe" and get_settings().unsafe_files == "block":
            raise PermissionDeniedError(
                f"{entry.path} failed the pickle scan and this hub blocks unsafe files.",
                commit=sha,
            )
        if verdict != "safe":
            headers["X-HF-Warning"] = header_value(
                f"pickle-scan; {entry.path} pickle scan: {verdict or 'pending'}"
            )
    if _counts_as_download(found, request):
        await run_in_threadpool(count_download, repo)
    if entry.lfs_sha256:
        assert stored is not None, "an LFS file's object is checked at commit time"
        headers.update(
            {
                "ETag": f'"{entry.lfs_sha256}"',
                "X-Linked-Etag": f'"{entry.lfs_sha256}"',
                "X-Linked-Size": str(entry.size),
            }
        )
        if entry.xet_hash:
            headers["X-Xet-Hash"] = entry.xet_hash
            token_url = f"{base}/api/{repo.type}s/{repo.repo_id}/xet-read-token/{sha}"
            headers["Link"] = f'<{token_url}>; rel="xet-auth"'
        return redirect_or_stream(
            request,
            stored.size,
            headers,
            presigned=objects.presigned_url(stored),
            read=lambda start, end: objects.iter_object(stored, start, end),
            local=objects.local_path(stored),
        )
    headers["ETag"] = f'"{entry.oid}"'
    if request.method == "HEAD":
        return Response(headers={**headers, "Content-Length": str(entry.size)})
    data = await run_in_threadpool(get_git().blob_data, entry.oid)
    return bytes_response(request, data, headers)


def _resolve_route(prefix: str, repo_type: RepoType) -> None:
    async def resolve(
        namespace: str,
        name: str,
        rev: str,
        path: str,
        request: Request,
        principal: CurrentPrincipal,
        base: BaseUrl,
    ) -> Response:
        return await _resolve(request, principal, base, repo_type, namespace, name, rev, path)

    # One route per method: a route with both would give them one OpenAPI operationId.
    url = prefix + "/{namespace}/{name}/resolve/{rev}/{path:path}"
    router.get(url, name=f"resolve_{repo_type}")(resolve)
    router.head(url, name=f"resolve_{repo_type}_head")(resolve)


_PREFIXES: tuple[tuple[str, RepoType], ...] = (
    ("/datasets", "dataset"),
    ("/spaces", "space"),
    ("", "model"),
)
for _prefix, _type in _PREFIXES:
    _resolve_route(_prefix, _type)
