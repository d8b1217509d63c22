"""Native Xet: the real hf_xet client uploads and downloads; everyone else still gets bytes.

The suite runs the HF clients with HF_HUB_DISABLE_XET=1 (set before import); these tests turn
Xet back on in the real client's own switch, as an unmodified installation has it, or run the
client in a fresh process with its own cache (another machine, as far as dedup can tell).
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from huggingface_hub import constants, hf_hub_download, snapshot_download

from tests.integration.xet_upload import upload_elsewhere

MB = 1000**2


@pytest.fixture
def xet_enabled(monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)


def _stored_bytes(hub: str, token: str) -> int:
    r = httpx.get(f"{hub}/api/storage", headers={"Authorization": f"Bearer {token}"})
    r.raise_for_status()
    return r.json()["stored_bytes"]


def _token(hub: str, token: str, repo_id: str, kind: str) -> tuple[str, str]:
    r = httpx.get(
        f"{hub}/api/models/{repo_id}/xet-{kind}-token/main",
        headers={"Authorization": f"Bearer {token}"},
    )
    r.raise_for_status()
    return r.headers["x-xet-cas-url"], r.headers["x-xet-access-token"]


@pytest.fixture(scope="module")
def payload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("xet-upload")
    (folder / "model.bin").write_bytes(os.urandom(60 * MB))
    (folder / "config.json").write_text('{"layers": 2}\n')
    return folder


def test_60mb_roundtrip_every_way(
    xet_enabled, api, repo_id, hub, alice, payload, tmp_path, monkeypatch
):
    data = (payload / "model.bin").read_bytes()
    api.upload_folder(repo_id=repo_id, folder_path=payload)
    single = f"{repo_id}-single"
    api.create_repo(single)
    api.upload_file(
        path_or_fileobj=str(payload / "model.bin"), path_in_repo="model.bin", repo_id=single
    )
    for rid in (repo_id, single):
        [entry] = [e for e in api.list_repo_tree(rid) if e.path == "model.bin"]
        assert entry.xet_hash and entry.lfs.sha256 == hashlib.sha256(data).hexdigest()

    cache = tmp_path / "cache"
    assert (
        Path(hf_hub_download(single, "model.bin", token=alice.token, cache_dir=cache)).read_bytes()
        == data
    )
    snapshot = Path(snapshot_download(repo_id, token=alice.token, cache_dir=cache))
    assert (snapshot / "model.bin").read_bytes() == data
    assert (snapshot / "config.json").read_bytes() == (payload / "config.json").read_bytes()

    # The same file without Xet: the client's plain HTTP path, and raw HTTP with a Range.
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    plain = hf_hub_download(repo_id, "model.bin", token=alice.token, cache_dir=tmp_path / "plain")
    assert Path(plain).read_bytes() == data
    url = f"{hub}/{repo_id}/resolve/main/model.bin"
    head = httpx.head(url)
    assert head.headers["x-xet-hash"] and 'rel="xet-auth"' in head.headers["link"]
    part = httpx.get(url, headers={"Range": "bytes=30000000-30999999"})
    assert part.status_code == 206 and part.content == data[30 * MB : 31 * MB]


def test_one_mb_changed_stores_little(api, repo_id, hub, alice, admin, payload, tmp_path):
    original = payload / "model.bin"
    upload_elsewhere(hub, alice.token, repo_id, original, tmp_path / "machine-a")
    changed = bytearray(original.read_bytes())
    changed[30 * MB : 31 * MB] = os.urandom(MB)
    (tmp_path / "edited").mkdir()
    edited = tmp_path / "edited" / "model.bin"
    edited.write_bytes(changed)
    before = _stored_bytes(hub, admin.token)
    upload_elsewhere(hub, alice.token, f"{repo_id}", edited, tmp_path / "machine-b")
    added = _stored_bytes(hub, admin.token) - before
    assert 0 < added < 4 * MB, added
    url = f"{hub}/{repo_id}/resolve/main/model.bin"
    assert hashlib.sha256(httpx.get(url).content).hexdigest() == hashlib.sha256(changed).hexdigest()


def test_finetune_stores_only_the_changed_tensor(api, repo_id, hub, alice, admin, tmp_path):
    from safetensors.numpy import save_file

    rng = np.random.default_rng(0)
    # 20 tensors of 5 MB; safetensors lays them out by name, so layers.19 is the last.
    tensors = {
        f"layers.{i:02d}.weight": rng.standard_normal(1_250_000, dtype=np.float32)
        for i in range(20)
    }
    base, tuned = tmp_path / "base", tmp_path / "tuned"
    base.mkdir()
    tuned.mkdir()
    save_file(tensors, str(base / "model.safetensors"))
    tensors["layers.19.weight"] = rng.standard_normal(1_250_000, dtype=np.float32)
    save_file(tensors, str(tuned / "model.safetensors"))
    size = (tuned / "model.safetensors").stat().st_size
    assert size > 99 * MB

    upload_elsewhere(hub, alice.token, repo_id, base / "model.safetensors", tmp_path / "a")
    tuned_repo = f"{repo_id}-tuned"
    api.create_repo(tuned_repo)
    before = _stored_bytes(hub, admin.token)
    upload_elsewhere(hub, alice.token, tuned_repo, tuned / "model.safetensors", tmp_path / "b")
    added = _stored_bytes(hub, admin.token) - before
    assert 0 < added < size // 10, (added, size)
    stats = httpx.get(
        f"{hub}/api/models/{tuned_repo}/storage", headers={"Authorization": f"Bearer {alice.token}"}
    ).json()
    assert size <= stats["logical_bytes"] < size + 10_000  # + the small .gitattributes
    assert stats["xet_files"] == 1


def test_xet_tokens_are_scoped(xet_enabled, api, repo_id, hub, alice, bob):
    api.upload_file(path_or_fileobj=os.urandom(200_000), path_in_repo="w.bin", repo_id=repo_id)
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
    # No token, a forged one, an expired one: 401.
    assert httpx.get(f"{cas}/v1/reconstructions/{entry.xet_hash}").status_code == 401
    forged = {"Authorization": f"Bearer {read_token[:-4]}beef"}
    assert (
        httpx.get(f"{cas}/v1/reconstructions/{entry.xet_hash}", headers=forged).status_code == 401
    )
    from modelcommons.hub.xet import tokens

    expired, _ = tokens.issue(1, "write", ttl=-10)
    r = httpx.post(f"{cas}/v1/shards", content=b"x", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and "expired" in r.json()["error"]
    # Someone else's private repo gives no token at all; a public one, no write token.
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


def test_bad_xorbs_and_shards_are_refused(hub, alice, admin, repo_id):
    from modelcommons.hub.xet import format

    cas, write_token = _token(hub, alice.token, repo_id, "write")
    auth = {"Authorization": f"Bearer {write_token}"}
    before = _stored_bytes(hub, admin.token)
    chunk = b"\x00" + (5).to_bytes(3, "little") + b"\x00" + (5).to_bytes(3, "little") + b"hello"
    r = httpx.post(f"{cas}/v1/xorbs/default/{'0' * 64}", content=chunk, headers=auth)
    assert r.status_code == 400 and "hashes to" in r.json()["error"]
    r = httpx.post(f"{cas}/v1/xorbs/default/{'0' * 64}", content=b"\x07garbage", headers=auth)
    assert r.status_code == 400
    r = httpx.post(f"{cas}/v1/shards", content=b"not a shard at all" * 4, headers=auth)
    assert r.status_code == 400 and "shard" in r.json()["error"].lower()
    # A well-formed shard naming a xorb nobody uploaded.
    header = format.SHARD_TAG + (2).to_bytes(8, "little") + (0).to_bytes(8, "little")
    file_header = b"\x11" * 32 + (0).to_bytes(4, "little") + (1).to_bytes(4, "little") + bytes(8)
    segment = b"\x22" * 32 + bytes(4) + (5).to_bytes(4, "little") + (0).to_bytes(4, "little")
    segment += (1).to_bytes(4, "little")
    bookend = format.BOOKEND + bytes(16)
    r = httpx.post(
        f"{cas}/v1/shards", content=header + file_header + segment + bookend + bookend, headers=auth
    )
    assert r.status_code == 400 and "never uploaded" in r.json()["error"]
    assert _stored_bytes(hub, admin.token) == before


def test_lfs_files_convert_to_xet(api, repo_id, hub, alice, tmp_path, monkeypatch):
    from tests.integration.conftest import commons_cli

    data = os.urandom(3 * MB)
    api.upload_file(path_or_fileobj=data, path_in_repo="old.bin", repo_id=repo_id)  # via LFS
    [entry] = [e for e in api.list_repo_tree(repo_id) if e.path == "old.bin"]
    assert entry.xet_hash is None
    assert "conversion job" in commons_cli("storage", "convert")
    for _ in range(150):
        [entry] = [e for e in api.list_repo_tree(repo_id) if e.path == "old.bin"]
        if entry.xet_hash:
            break
        time.sleep(0.2)
    assert entry.xet_hash, "the conversion job never finished"
    url = f"{hub}/{repo_id}/resolve/main/old.bin"
    assert httpx.head(url).headers["x-xet-hash"] == entry.xet_hash
    assert httpx.get(url).content == data
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)
    path = hf_hub_download(repo_id, "old.bin", token=alice.token, cache_dir=tmp_path / "c")
    assert Path(path).read_bytes() == data
