"""One Range parser on every route that serves bytes: resolve (a file kept in git, an LFS
object on disk, a Xet file) and the Xet CAS's reconstruction and xorb routes, each form."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from modelcommons.hub.xet import format
from tests.integration.xet_upload import (
    bearer,
    build_shard,
    build_xorb,
    commit_lfs,
    upload_xorb,
    xet_cas,
)

DATA = b"0123456789"
# (Range header, status, bytes of DATA): the three single-range forms, an end past the
# file, the 416s, and the headers answered whole (several ranges, odd syntax, another unit).
CASES = [
    ("bytes=2-5", 206, DATA[2:6]),
    ("bytes=7-", 206, DATA[7:]),
    ("bytes=-3", 206, DATA[-3:]),
    ("bytes=2-999", 206, DATA[2:]),
    ("bytes=10-", 416, b""),
    ("bytes=-0", 416, b""),
    ("bytes=0-1,4-5", 200, DATA),
    ("bytes=abc", 200, DATA),
    ("items=0-5", 200, DATA),
]


def _upload_lfs(hub: str, token: str, repo_id: str, data: bytes) -> str:
    """Bytes sent through the LFS batch API (so they are one blob in the store)."""
    oid = hashlib.sha256(data).hexdigest()
    batch = httpx.post(
        f"{hub}/{repo_id}.git/info/lfs/objects/batch",
        json={"operation": "upload", "objects": [{"oid": oid, "size": len(data)}]},
        headers={**bearer(token), "Accept": "application/vnd.git-lfs+json"},
    )
    assert batch.status_code == 200, batch.text
    [answer] = batch.json()["objects"]
    if "actions" in answer:
        put = httpx.put(answer["actions"]["upload"]["href"], content=data)
        assert put.status_code == 200, put.text
    return oid


@pytest.fixture
def files(hub, alice, repo_id) -> dict[str, str]:
    """The same ten bytes as a file kept in git, an LFS blob and a Xet file: their URLs."""
    body, chunks, xorb = build_xorb(1, compressible=False)
    xet_data = body[8 : 8 + 4096]
    cas, write = xet_cas(hub, alice.token, repo_id, "write")
    upload_xorb(cas, write, body, xorb)
    assert httpx.post(
        f"{cas}/v1/shards", content=build_shard(xorb, [chunks]), headers=write
    ).is_success
    _upload_lfs(hub, alice.token, repo_id, DATA)
    commit_lfs(hub, alice.token, repo_id, {"blob.dat": DATA, "xet.dat": xet_data})
    r = httpx.post(
        f"{hub}/api/models/{repo_id}/commit/main",
        content=b'{"key":"header","value":{"summary":"small"}}\n'
        b'{"key":"file","value":{"path":"git.txt","content":"MDEyMzQ1Njc4OQ=="}}',
        headers={**bearer(alice.token), "Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 200, r.text
    base = f"{hub}/{repo_id}/resolve/main"
    return {"git": f"{base}/git.txt", "blob": f"{base}/blob.dat", "xet": f"{base}/xet.dat"}


@pytest.mark.parametrize("kind", ["git", "blob"])
@pytest.mark.parametrize(("header", "status", "content"), CASES)
def test_resolve_answers_each_form(files, alice, kind, header, status, content):
    # ?stream=true: on S3 a blob is otherwise a redirect to the store, whose parser answers.
    headers = {**bearer(alice.token), "Range": header}
    r = httpx.get(files[kind], headers=headers, params={"stream": "true"})
    assert r.status_code == status, r.text
    if status == 416:
        assert r.headers["content-range"] == f"bytes */{len(DATA)}"
    else:
        assert r.content == content
    if status == 206:
        start = DATA.index(content)
        assert r.headers["content-range"] == f"bytes {start}-{start + len(content) - 1}/10"


def test_resolve_of_a_xet_file_answers_suffix_and_open_ended_ranges(files, alice):
    whole = httpx.get(files["xet"], headers=bearer(alice.token)).content
    assert len(whole) == 4096
    for header, expected in (("bytes=4000-", whole[4000:]), ("bytes=-96", whole[-96:])):
        r = httpx.get(files["xet"], headers={**bearer(alice.token), "Range": header})
        assert (r.status_code, r.content) == (206, expected)
    r = httpx.get(files["xet"], headers={**bearer(alice.token), "Range": "bytes=4096-"})
    assert r.status_code == 416 and r.headers["content-range"] == "bytes */4096"


def _xet_file(hub, alice, repo_id, count: int) -> tuple[str, dict[str, str], str, bytes]:
    """A Xet file of `count` chunks, all of one xorb, committed: (cas, read auth, hex, xorb)."""
    body, chunks, xorb = build_xorb(count, compressible=False)
    data = b"".join(body[8 + i * 4104 : 8 + i * 4104 + 4096] for i in range(count))
    cas, write = xet_cas(hub, alice.token, repo_id, "write")
    upload_xorb(cas, write, body, xorb)
    assert httpx.post(
        f"{cas}/v1/shards", content=build_shard(xorb, [chunks]), headers=write
    ).is_success
    commit_lfs(hub, alice.token, repo_id, {"x.dat": data})
    _, read = xet_cas(hub, alice.token, repo_id, "read")
    return cas, read, format.to_hex(format.file_hash(chunks)), body


def test_a_reconstruction_answers_each_form(hub, alice, repo_id):
    cas, read, file_hex, _ = _xet_file(hub, alice, repo_id, 3)
    url = f"{cas}/v1/reconstructions/{file_hex}"

    def chunks(header: str) -> dict[str, int]:
        r = httpx.get(url, headers={**read, "Range": header})
        assert r.status_code == 200, r.text
        [term] = r.json()["terms"]
        return {**term["range"], "skip": r.json()["offset_into_first_range"]}

    assert chunks("bytes=0-4095") == {"start": 0, "end": 1, "skip": 0}
    assert chunks("bytes=8192-") == {"start": 2, "end": 3, "skip": 0}  # open-ended
    assert chunks("bytes=-100") == {"start": 2, "end": 3, "skip": 4096 - 100}  # suffix
    assert chunks("bytes=0-1,5-6") == {"start": 0, "end": 3, "skip": 0}  # ignored: whole
    r = httpx.get(url, headers={**read, "Range": "bytes=12288-"})
    assert r.status_code == 416 and r.headers["content-range"] == "bytes */12288"


def test_a_xorb_url_answers_each_form_within_its_span(hub, alice, repo_id):
    cas, read, file_hex, body = _xet_file(hub, alice, repo_id, 2)
    plan = httpx.get(f"{cas}/v1/reconstructions/{file_hex}", headers=read).json()
    [fetch] = next(iter(plan["fetch_info"].values()))
    url, size = fetch["url"], len(body)
    assert fetch["url_range"] == {"start": 0, "end": size - 1}  # the whole xorb is this file
    for header, expected in (
        ("bytes=0-99", body[:100]),
        ("bytes=100-", body[100:]),
        ("bytes=-50", body[-50:]),
    ):
        r = httpx.get(url, headers={"Range": header})
        assert (r.status_code, r.content) == (206, expected), header
    r = httpx.get(url, headers={"Range": f"bytes={size}-"})
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{size}"
    # A URL is good for a range only: a header answered whole is refused, as is none.
    assert httpx.get(url, headers={"Range": "bytes=0-1,4-5"}).status_code == 403
    assert httpx.get(url).status_code == 403
