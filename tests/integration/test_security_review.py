"""A second security review of the API and protocol side, as a hostile stranger: each test
here failed before its fix (see the commit that added it)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import lz4.frame
import pytest

from modelcommons.hub.xet import format
from modelcommons.jobs.sandbox import child_env, child_task
from tests.integration.conftest import make_user
from tests.integration.xet_upload import (
    bearer,
    build_shard,
    build_xorb,
    commit_lfs,
    upload_xorb,
    xet_cas,
)

ROOT = Path(__file__).resolve().parents[2]
GiB = 1024**3

HUGE = "9" * 5000  # more digits than int() takes


# -- Signed URLs ------------------------------------------------------------------------


@pytest.mark.parametrize("exp", ["\u00b2", "\u0663" * 3, HUGE])
def test_signed_urls_with_odd_expiry_are_refused_not_500(hub, exp):
    """`exp` passed str.isdigit() and then int() refused it: a 500 on every signed route."""
    oid = "0" * 64
    query = {"size": "1", "exp": exp, "sig": "0" * 64}
    for method, path, extra in (
        ("GET", f"/lfs/objects/{oid}", {}),
        ("GET", f"/xet/xorbs/{oid}", {}),
        ("PUT", f"/lfs/uploads/{oid}", {"user": "1", "repo": "1"}),
        ("PUT", f"/lfs/uploads/{oid}/parts/1", {"user": "1", "repo": "1"}),
        ("POST", f"/lfs/uploads/{oid}/complete", {"user": "1", "repo": "1"}),
    ):
        r = httpx.request(method, hub + path, params={**query, **extra}, content=b"x")
        assert r.status_code == 401, (method, path, r.status_code, r.text)
        assert "not signed" in r.json()["error"]


# -- Range headers ----------------------------------------------------------------------


def test_range_headers_with_huge_numbers_are_answered(api, repo_id, hub, alice):
    """A Range of thousands of digits made a small file's download a 500 (int() refused it);
    an end past the file is the rest of it (RFC 9110), a start past it a 416."""
    api.upload_file(path_or_fileobj=b"0123456789", path_in_repo="small.txt", repo_id=repo_id)
    url = f"{hub}/{repo_id}/resolve/main/small.txt"
    r = httpx.get(url, headers={**bearer(alice.token), "Range": f"bytes=2-{HUGE}"})
    assert (r.status_code, r.content) == (206, b"23456789")
    r = httpx.get(url, headers={**bearer(alice.token), "Range": f"bytes=-{HUGE}"})
    assert (r.status_code, r.content) == (206, b"0123456789")
    r = httpx.get(url, headers={**bearer(alice.token), "Range": f"bytes={HUGE}-"})
    assert r.status_code == 416


def test_xet_reconstruction_range_with_huge_numbers_is_answered(hub, alice, repo_id):
    body, chunks, xorb = build_xorb(3, compressible=False)
    data = b"".join(body[8 + i * 4104 : 8 + i * 4104 + 4096] for i in range(3))
    cas, write = xet_cas(hub, alice.token, repo_id, "write")
    upload_xorb(cas, write, body, xorb)
    r = httpx.post(f"{cas}/v1/shards", content=build_shard(xorb, [chunks]), headers=write)
    assert r.status_code == 200, r.text
    _, read = xet_cas(hub, alice.token, repo_id, "read")
    file_hex = format.to_hex(format.file_hash(chunks))
    # The file must be in the repo for the reconstruction to be served: commit it.
    lines = [
        {"key": "header", "value": {"summary": "xet file"}},
        {
            "key": "lfsFile",
            "value": {"path": "w.bin", "algo": "sha256", "oid": hashlib.sha256(data).hexdigest()},
        },
    ]
    r = httpx.post(
        f"{hub}/api/models/{repo_id}/commit/main",
        content="\n".join(json.dumps(line) for line in lines),
        headers={**bearer(alice.token), "Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 200, r.text
    r = httpx.get(
        f"{cas}/v1/reconstructions/{file_hex}", headers={**read, "Range": f"bytes=0-{HUGE}"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["terms"][0]["range"] == {"start": 0, "end": 3}


# -- Xet shards -------------------------------------------------------------------------


def test_a_shard_cannot_make_the_hub_hash_far_more_than_it_names(hub, alice, repo_id):
    """Each file of a shard is rebuilt and hashed. 100 prefixes of one LZ4 xorb of 1,000
    chunks (600 KB uploaded, a 10 KB shard) made the hub decompress and hash 12 GB: 9 s of a
    worker thread per request, days for a 64 MB shard."""
    body, chunks, xorb = build_xorb(1000, compressible=True)
    assert len(body) < 2_000_000
    cas, write = xet_cas(hub, alice.token, repo_id, "write")
    upload_xorb(cas, write, body, xorb)
    prefixes = [chunks[:k] for k in range(901, 1001)]
    started = time.monotonic()
    r = httpx.post(
        f"{cas}/v1/shards", content=build_shard(xorb, prefixes), headers=write, timeout=300
    )
    assert r.status_code == 400, r.text
    assert "at most 16 times" in r.json()["error"]
    assert time.monotonic() - started < 5
    # The same file named over and over is proven and hashed once.
    r = httpx.post(f"{cas}/v1/shards", content=build_shard(xorb, [chunks] * 500), headers=write)
    assert r.status_code == 200, r.text
    # Files sharing their chunks within the bound still register (checkpoints of one tune).
    r = httpx.post(
        f"{cas}/v1/shards",
        content=build_shard(xorb, [chunks[:k] for k in range(990, 1000)]),
        headers=write,
        timeout=300,
    )
    assert r.status_code == 200, r.text


# -- LFS batches ------------------------------------------------------------------------


def test_an_lfs_batch_names_a_bounded_number_of_objects(hub, alice, repo_id):
    """Every large upload's answer carries a signed URL per part: 2,000 objects of 50 GB
    (a 200 KB body) got a 44 MB answer in 3 s, so a 10 MB body asked for gigabytes."""
    url = f"{hub}/{repo_id}.git/info/lfs/objects/batch"
    headers = {**bearer(alice.token), "Content-Type": "application/vnd.git-lfs+json"}

    def batch(count: int) -> httpx.Response:
        objects = [
            {"oid": hashlib.sha256(str(i).encode()).hexdigest(), "size": 50 * 10**9}
            for i in range(count)
        ]
        body = {"operation": "upload", "transfers": ["multipart"], "objects": objects}
        return httpx.post(url, content=json.dumps(body), headers=headers, timeout=120)

    r = batch(2000)
    assert r.status_code == 413, (r.status_code, len(r.content))
    assert "at most 1000 objects" in r.json()["error"]
    r = batch(256)  # what huggingface_hub sends at once
    assert r.status_code == 200
    assert len(r.json()["objects"]) == 256


# -- Job children -----------------------------------------------------------------------


def allocate(args: dict[str, Any], *, token: str | None, report: Any) -> dict[str, Any]:
    """A job child's work that asks for as much memory as a hostile model's sizes would."""
    held = bytearray(args["bytes"])  # mapped, never touched: costs nothing when allowed
    return {"allocated": len(held)}


def _child(task: dict[str, Any], folder: Path) -> list[dict[str, Any]]:
    """Run the real job child on `task`; its answers."""
    env = {**child_env(folder), "PYTHONPATH": str(ROOT)}
    (folder / "tmp").mkdir(exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "modelcommons.jobs.child"],
        input=json.dumps(task).encode(),
        capture_output=True,
        cwd=folder,
        env=env,
        timeout=120,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_a_job_child_cannot_take_the_machines_memory(tmp_path):
    """A job's memory was bounded by nothing: a model whose config names huge sizes (an
    image size, a vocabulary) made the child allocate until the machine, hub included, ran
    out. The child now caps its data at the limit the worker hands it."""
    task = child_task(f"{__name__}:allocate", {"bytes": 3 * GiB}, None)
    assert 0 < task["memory"] <= os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    answers = _child({**task, "memory": 1 * GiB}, tmp_path)
    errors = [a["error"] for a in answers if "error" in a]
    assert errors and errors[0]["type"] == "MemoryError", answers
    # Within the limit, the same work goes through.
    answers = _child({**task, "args": {"bytes": 64 * 1024**2}, "memory": 1 * GiB}, tmp_path)
    assert {"result": {"allocated": 64 * 1024**2}} in answers, answers


# -- Cards ------------------------------------------------------------------------------


def _big_front_matter(keys: int) -> str:
    return "---\n" + "\n".join(f"k{i}: v" for i in range(keys)) + "\n---\n# Card\n"


# huggingface_hub relays the hub's card warnings as a UserWarning: here they are the point.
@pytest.mark.filterwarnings("ignore:Warnings while validating metadata in README.md:UserWarning")
def test_a_huge_front_matter_is_not_parsed(hub, api, repo_id, alice):
    """PyYAML reads about 200 KB a second: a 3 MB front matter took 15 s to check, for
    anyone, through validate-yaml (a 10 MB body, 50 s), and as long in a commit's write
    transaction, which every other commit, log-in and job waited for."""
    card = _big_front_matter(300_000)
    assert len(card) > 3_000_000
    started = time.monotonic()
    r = httpx.post(f"{hub}/api/validate-yaml", json={"content": card}, timeout=120)
    assert r.status_code == 200
    assert time.monotonic() - started < 3
    [warning] = r.json()["warnings"]
    assert "over 500,000 characters" in warning["message"]
    started = time.monotonic()
    api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=repo_id)
    assert time.monotonic() - started < 5
    r = httpx.get(f"{hub}/api/models/{repo_id}", headers=bearer(alice.token))
    assert r.status_code == 200 and not r.json().get("cardData")
    # A card of ordinary size is still indexed, by the same commit path.
    api.upload_file(
        path_or_fileobj=b"---\nlicense: mit\ntags: [small]\n---\n# Card\n",
        path_in_repo="README.md",
        repo_id=repo_id,
    )
    info = httpx.get(f"{hub}/api/models/{repo_id}", headers=bearer(alice.token)).json()
    assert "license:mit" in info["tags"] and "small" in info["tags"]


# -- Listings ---------------------------------------------------------------------------


def test_a_full_listing_pages_by_siblings(hub):
    """`full=true` listed every file of up to 1,000 repos in one anonymous answer: repos of
    25,000 files each (a commit's cap) made it millions of siblings. A page now stops at
    the repo that passes 100,000 siblings, and its Link names the rest."""
    from huggingface_hub import HfApi

    owner = make_user(hub)
    headers = {**bearer(owner.token), "Content-Type": "application/x-ndjson"}
    for n in range(5):
        name = f"{owner.name}/many-{n}"
        httpx.post(
            f"{hub}/api/repos/create", json={"name": name}, headers=bearer(owner.token)
        ).raise_for_status()
        lines = [{"key": "header", "value": {"summary": "many files"}}]
        lines += [
            {"key": "file", "value": {"path": f"d{i % 100}/f{i}.txt", "content": "eA=="}}
            for i in range(24_999)
        ]
        r = httpx.post(
            f"{hub}/api/models/{name}/commit/main",
            content="\n".join(json.dumps(line) for line in lines),
            headers=headers,
            timeout=120,
        )
        assert r.status_code == 200, r.text
    r = httpx.get(f"{hub}/api/models", params={"author": owner.name, "full": "true"}, timeout=120)
    assert r.status_code == 200
    first = r.json()
    assert sum(len(item["siblings"]) for item in first) <= 100_000 + 25_000
    assert len(first) < 5 and 'rel="next"' in r.headers["link"]
    # The real client follows the Link and gets every repo with all its files.
    models = list(HfApi(endpoint=hub).list_models(author=owner.name, full=True))
    assert sorted(m.id for m in models) == [f"{owner.name}/many-{n}" for n in range(5)]
    assert all(len(m.siblings or []) == 25_000 for m in models)  # with .gitattributes


# -- Xet reads --------------------------------------------------------------------------


def test_a_xorb_url_serves_only_the_file_it_was_signed_for(hub, alice, bob, repo_id):
    """A xorb holds the chunks of every file uploaded with it. A reconstruction's URL was
    signed for the whole xorb, so reading a public file that shares a xorb with a private
    one (published from the same upload, deduplicated) got the private file's bytes too."""
    public = b"P" * 4096
    secret = b"S" * 4092 + b"KEY!"
    body = b""
    for data in (public, secret):
        length = len(data).to_bytes(3, "little")
        body += format.CHUNK_HEADER.pack(0, length, 0, length) + data
    chunks = [(format.chunk_hash(public), 4096), (format.chunk_hash(secret), 4096)]
    xorb = format.xorb_hash(chunks)
    private = f"{alice.name}/private-{os.urandom(4).hex()}"
    r = httpx.post(
        f"{hub}/api/repos/create",
        json={"name": private, "private": True},
        headers=bearer(alice.token),
    )
    r.raise_for_status()
    cas, write = xet_cas(hub, alice.token, private, "write")
    upload_xorb(cas, write, body, xorb)
    shard = format.SHARD_TAG + struct.pack("<QQ", 2, 0)
    for index, (digest, size) in enumerate(chunks):
        shard += format.file_hash([(digest, size)]) + struct.pack("<II", 0, 1) + bytes(8)
        shard += xorb + struct.pack("<IIII", 0, size, index, index + 1)
    shard += format.BOOKEND + bytes(16) + format.BOOKEND + bytes(16)
    assert httpx.post(f"{cas}/v1/shards", content=shard, headers=write).status_code == 200
    commit_lfs(hub, alice.token, private, {"public.bin": public, "secret.bin": secret})
    # Alice publishes the public file: her client proves it from the chunks it already has.
    _, write = xet_cas(hub, alice.token, repo_id, "write")
    r = httpx.post(f"{cas}/v1/shards", content=build_shard(xorb, [chunks[:1]]), headers=write)
    assert r.status_code == 200, r.text
    commit_lfs(hub, alice.token, repo_id, {"public.bin": public})

    _, read = xet_cas(hub, bob.token, repo_id, "read")
    file_hex = format.to_hex(format.file_hash(chunks[:1]))
    plan = httpx.get(f"{cas}/v1/reconstructions/{file_hex}", headers=read).json()
    [fetch] = plan["fetch_info"][format.to_hex(xorb)]
    url, span = fetch["url"], fetch["url_range"]
    assert url.startswith(f"{hub}/xet/xorbs/")  # never a store's URL for the whole object
    whole = httpx.get(url)
    assert whole.status_code == 403 and b"KEY!" not in whole.content
    too_much = httpx.get(url, headers={"Range": f"bytes={span['start']}-{len(body) - 1}"})
    assert too_much.status_code == 403 and b"KEY!" not in too_much.content
    r = httpx.get(url, headers={"Range": f"bytes={span['start']}-{span['end']}"})
    assert r.status_code == 206 and r.content.endswith(public) and b"KEY!" not in r.content
    tampered = url.replace(f"end={span['end']}", f"end={len(body) - 1}")
    r = httpx.get(tampered, headers={"Range": f"bytes=0-{len(body) - 1}"})
    assert r.status_code == 401 and b"KEY!" not in r.content


def test_a_xorb_unpacks_to_a_bounded_size(hub, alice, repo_id):
    """LZ4 packs 128 KiB of zeros in about 540 bytes: a 28 MB xorb unpacked to 6.5 GB,
    decompressed and hashed in 3 s of one request (31 GB for the 128 MB a xorb may be);
    hf_xet packs at most 64 MiB a xorb."""
    zero = bytes(format.MAX_CHUNK_BYTES)
    packed = lz4.frame.compress(zero)
    header = format.CHUNK_HEADER.pack(
        0, len(packed).to_bytes(3, "little"), 1, len(zero).to_bytes(3, "little")
    )
    count = 1100  # 144 MB unpacked, from 600 KB
    xorb = format.xorb_hash([(format.chunk_hash(zero), len(zero))] * count)
    cas, write = xet_cas(hub, alice.token, repo_id, "write")
    r = httpx.post(
        f"{cas}/v1/xorbs/default/{format.to_hex(xorb)}",
        content=(header + packed) * count,
        headers=write,
        timeout=60,
    )
    assert r.status_code == 413, r.text
    assert "unpacks to over" in r.json()["error"]


# -- Regular files ----------------------------------------------------------------------


def test_files_kept_in_git_stay_small(hub, api, repo_id, alice):
    """A commit could hold a regular (git) file of hundreds of MB, inline; every download
    and clone reads a git blob whole into the server's memory, so anonymous downloads of one
    such file in a public repo took gigabytes. As on the Hub, files over 10 MiB go to LFS."""
    big = base64.b64encode(b"x" * (10 * 1024**2 + 1)).decode()
    lines = [
        {"key": "header", "value": {"summary": "inline"}},
        {"key": "file", "value": {"path": "big.txt", "content": big}},
    ]
    r = httpx.post(
        f"{hub}/api/models/{repo_id}/commit/main",
        content="\n".join(json.dumps(line) for line in lines),
        headers={**bearer(alice.token), "Content-Type": "application/x-ndjson"},
        timeout=60,
    )
    assert r.status_code == 413, r.text
    assert "go through LFS" in r.json()["error"]
    # The client sends such a file through LFS on its own, and small text files inline.
    api.upload_file(path_or_fileobj=b"y" * (11 * 1024**2), path_in_repo="big.txt", repo_id=repo_id)
    api.upload_file(path_or_fileobj=b"z" * 1024, path_in_repo="small.txt", repo_id=repo_id)
    files = {f.rfilename: f for f in api.model_info(repo_id, files_metadata=True).siblings}
    assert files["big.txt"].lfs is not None and files["small.txt"].lfs is None
