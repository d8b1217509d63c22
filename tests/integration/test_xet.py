"""Native Xet: the real hf_xet client uploads and downloads; everyone else still gets bytes.

The suite runs the HF clients with HF_HUB_DISABLE_XET=1 (set before import); these tests turn
Xet back on in the real client's own switch, as an unmodified installation has it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, constants, hf_hub_download
from sqlalchemy import create_engine, func, select

from modelcommons.db.models import XetXorb


@pytest.fixture
def xet_enabled(monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)


def _stored_xorb_bytes(database_url: str) -> int:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        total = conn.execute(select(func.coalesce(func.sum(XetXorb.size), 0))).scalar_one()
    engine.dispose()
    return int(total)


def _token(hub: str, token: str, repo_id: str, kind: str) -> tuple[str, str]:
    r = httpx.get(
        f"{hub}/api/models/{repo_id}/xet-{kind}-token/main",
        headers={"Authorization": f"Bearer {token}"},
    )
    r.raise_for_status()
    return r.headers["x-xet-cas-url"], r.headers["x-xet-access-token"]


def test_xet_upload_and_download_roundtrip(
    xet_enabled, api, repo_id, hub, alice, tmp_path, database_url
):
    payload = os.urandom(3 * 1024 * 1024 + 17)
    (tmp_path / "weights.bin").write_bytes(payload)
    api.upload_file(
        path_or_fileobj=str(tmp_path / "weights.bin"), path_in_repo="weights.bin", repo_id=repo_id
    )
    [entry] = [e for e in api.list_repo_tree(repo_id) if e.path == "weights.bin"]
    assert entry.xet_hash and entry.lfs.sha256 == hashlib.sha256(payload).hexdigest()

    # Xet-aware download (reconstruction + xorb ranges) into a fresh cache.
    cache = tmp_path / "cache"
    path = hf_hub_download(repo_id, "weights.bin", token=alice.token, cache_dir=cache)
    assert Path(path).read_bytes() == payload

    # Plain HTTP clients get the reconstructed bytes, whole or by range.
    url = f"{hub}/{repo_id}/resolve/main/weights.bin"
    head = httpx.head(url)
    assert head.headers["x-xet-hash"] == entry.xet_hash and 'rel="xet-auth"' in head.headers["link"]
    assert httpx.get(url).content == payload
    part = httpx.get(url, headers={"Range": "bytes=70000-200000"})
    assert part.status_code == 206 and part.content == payload[70000:200001]

    # A small edit uploads only the chunks around it.
    before = _stored_xorb_bytes(database_url)
    edited = payload[:1_000_000] + b"a small edit" + payload[1_000_000:]
    api.upload_file(path_or_fileobj=edited, path_in_repo="weights-v2.bin", repo_id=repo_id)
    added = _stored_xorb_bytes(database_url) - before
    assert 0 < added < len(edited) // 4, added
    again = hf_hub_download(repo_id, "weights-v2.bin", token=alice.token, cache_dir=cache)
    assert Path(again).read_bytes() == edited


def test_xet_tokens_are_scoped(xet_enabled, api, repo_id, hub, alice, bob):
    data = os.urandom(200_000)
    api.upload_file(path_or_fileobj=data, path_in_repo="w.bin", repo_id=repo_id)
    [entry] = [e for e in api.list_repo_tree(repo_id) if e.path == "w.bin"]
    cas, read_token = _token(hub, alice.token, repo_id, "read")
    auth = {"Authorization": f"Bearer {read_token}"}
    recon = httpx.get(f"{cas}/v1/reconstructions/{entry.xet_hash}", headers=auth)
    assert recon.status_code == 200 and recon.json()["terms"]

    # A read token cannot upload; a token of another repo cannot read this file.
    assert httpx.post(f"{cas}/v1/shards", content=b"x", headers=auth).status_code == 403
    other = f"{alice.name}/other-{os.urandom(3).hex()}"
    api.create_repo(other)
    _, other_token = _token(hub, alice.token, other, "read")
    r = httpx.get(
        f"{cas}/v1/reconstructions/{entry.xet_hash}",
        headers={"Authorization": f"Bearer {other_token}"},
    )
    assert r.status_code == 404
    # No token, or a forged one: 401. Someone else's private repo: no token at all.
    assert httpx.get(f"{cas}/v1/reconstructions/{entry.xet_hash}").status_code == 401
    forged = {"Authorization": f"Bearer {read_token[:-4]}beef"}
    assert (
        httpx.get(f"{cas}/v1/reconstructions/{entry.xet_hash}", headers=forged).status_code == 401
    )
    private = f"{alice.name}/private-{os.urandom(3).hex()}"
    api.create_repo(private, private=True)
    r = httpx.get(
        f"{hub}/api/models/{private}/xet-read-token/main",
        headers={"Authorization": f"Bearer {bob.token}"},
    )
    assert r.status_code == 404 and r.headers["x-error-code"] == "RepoNotFound"
    r = httpx.get(
        f"{hub}/api/models/{repo_id}/xet-write-token/main",
        headers={"Authorization": f"Bearer {bob.token}"},
    )
    assert r.status_code == 403


def test_bad_xorbs_and_shards_are_refused(hub, alice, repo_id):
    cas, write_token = _token(hub, alice.token, repo_id, "write")
    auth = {"Authorization": f"Bearer {write_token}"}
    chunk = b"\x00" + (5).to_bytes(3, "little") + b"\x00" + (5).to_bytes(3, "little") + b"hello"
    wrong_hash = "0" * 64
    r = httpx.post(f"{cas}/v1/xorbs/default/{wrong_hash}", content=chunk, headers=auth)
    assert r.status_code == 400 and "hashes to" in r.json()["error"]
    r = httpx.post(f"{cas}/v1/xorbs/default/{wrong_hash}", content=b"\x07garbage", headers=auth)
    assert r.status_code == 400
    r = httpx.post(f"{cas}/v1/shards", content=b"not a shard at all" * 4, headers=auth)
    assert r.status_code == 400 and "shard" in r.json()["error"].lower()
    # A well-formed shard naming a xorb nobody uploaded.
    from modelcommons.hub.xet import format

    header = format.SHARD_TAG + (2).to_bytes(8, "little") + (0).to_bytes(8, "little")
    file_header = b"\x11" * 32 + (0).to_bytes(4, "little") + (1).to_bytes(4, "little") + bytes(8)
    segment = b"\x22" * 32 + bytes(4) + (5).to_bytes(4, "little") + (0).to_bytes(4, "little")
    segment += (1).to_bytes(4, "little")
    bookend = format.BOOKEND + bytes(16)
    shard = header + file_header + segment + bookend + bookend
    r = httpx.post(f"{cas}/v1/shards", content=shard, headers=auth)
    assert r.status_code == 400 and "never uploaded" in r.json()["error"]
