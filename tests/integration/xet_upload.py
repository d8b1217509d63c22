"""Uploading to the Xet CAS: through hf_xet as another machine would (a new process with an
empty cache), or by hand, byte by byte, for tests that send what no client would."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import lz4.frame

from modelcommons.hub.xet import format

_UPLOAD = (
    "import sys; from huggingface_hub import HfApi; "
    "HfApi().upload_file(path_or_fileobj=sys.argv[1], path_in_repo=sys.argv[2], "
    "repo_id=sys.argv[3])"
)


def upload_elsewhere(hub: str, token: str, repo_id: str, path: Path, home: Path) -> None:
    """Upload `path` to `repo_id` with Xet on, from a fresh process whose HF cache is `home`,
    so that no local dedup state helps."""
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_DISABLE_XET"}
    env.update(HF_HOME=str(home), HF_TOKEN=token, HF_ENDPOINT=hub)
    subprocess.run(
        [sys.executable, "-c", _UPLOAD, str(path), path.name, repo_id],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def xet_cas(hub: str, token: str, repo_id: str, kind: str) -> tuple[str, dict[str, str]]:
    r = httpx.get(f"{hub}/api/models/{repo_id}/xet-{kind}-token/main", headers=bearer(token))
    r.raise_for_status()
    return r.headers["x-xet-cas-url"], bearer(r.headers["x-xet-access-token"])


def build_xorb(count: int, *, compressible: bool) -> tuple[bytes, list[tuple[bytes, int]], bytes]:
    """A serialized xorb of `count` distinct chunks: (body, [(chunk hash, size)], xorb hash).
    Compressible chunks are 128 KiB that LZ4 packs into a few hundred bytes; the others are
    4 KiB of os.urandom(4096 - 4) after the chunk's index."""
    body, chunks = b"", list[tuple[bytes, int]]()
    for _ in range(count):
        if compressible:
            data = os.urandom(16) + bytes(format.MAX_CHUNK_BYTES - 16)
            scheme, packed = 1, lz4.frame.compress(data)
        else:
            data = len(chunks).to_bytes(4, "little") + os.urandom(4096 - 4)
            scheme, packed = 0, data
        body += format.CHUNK_HEADER.pack(
            0, len(packed).to_bytes(3, "little"), scheme, len(data).to_bytes(3, "little")
        )
        body += packed
        chunks.append((format.chunk_hash(data), len(data)))
    return body, chunks, format.xorb_hash(chunks)


def build_shard(xorb: bytes, files: list[list[tuple[bytes, int]]]) -> bytes:
    """A shard of files, each one segment: the first len(file) chunks of `xorb`."""
    shard = format.SHARD_TAG + struct.pack("<QQ", 2, 0)
    for chunks in files:
        size = sum(s for _, s in chunks)
        shard += format.file_hash(chunks) + struct.pack("<II", 0, 1) + bytes(8)
        shard += xorb + struct.pack("<IIII", 0, size, 0, len(chunks))
    return shard + format.BOOKEND + bytes(16) + format.BOOKEND + bytes(16)


def upload_xorb(cas: str, auth: dict[str, str], body: bytes, xorb: bytes) -> None:
    r = httpx.post(
        f"{cas}/v1/xorbs/default/{format.to_hex(xorb)}", content=body, headers=auth, timeout=60
    )
    assert r.status_code == 200, r.text


def commit_lfs(hub: str, token: str, repo_id: str, files: dict[str, bytes]) -> None:
    lines: list[dict[str, Any]] = [{"key": "header", "value": {"summary": "xet files"}}]
    lines += [
        {"key": "lfsFile", "value": {"path": path, "oid": hashlib.sha256(data).hexdigest()}}
        for path, data in files.items()
    ]
    r = httpx.post(
        f"{hub}/api/models/{repo_id}/commit/main",
        content="\n".join(json.dumps(line) for line in lines),
        headers={**bearer(token), "Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 200, r.text
