"""Big commits land, and what grows with a repo stays off each request: a 10,000-file
`upload_folder` (Xet off: one commit; Xet on: the client's pipeline of commits), scans queued a
batch per job, and history read a page at a time."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

FILES, FOLDERS = 10_000, 100


def _folder(root: Path, count: int) -> Path:
    for i in range(count):
        path = root / f"d{i % FOLDERS:03d}" / f"f{i:05d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"file {i}\n")
    return root


@pytest.mark.large
def test_upload_folder_of_10000_files_lands_in_one_commit(api, repo_id, tmp_path):
    before = len(api.list_repo_commits(repo_id))
    api.upload_folder(repo_id=repo_id, folder_path=_folder(tmp_path, FILES))
    files = api.list_repo_files(repo_id)
    assert len(files) == FILES + 1  # and .gitattributes
    assert "d099/f09999.txt" in files
    assert len(api.list_repo_commits(repo_id)) == before + 1


@pytest.mark.large
def test_upload_folder_with_xet_commits_10000_files(hub, alice, repo_id, tmp_path):
    """With hf_xet the client preuploads 256 paths at a time and commits in batches."""
    code = (
        "import sys; from huggingface_hub import HfApi;"
        "HfApi(endpoint=sys.argv[1], token=sys.argv[2])"
        ".upload_folder(repo_id=sys.argv[3], folder_path=sys.argv[4])"
    )
    env = {**os.environ, "HF_HUB_DISABLE_XET": "0", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    folder = _folder(tmp_path, FILES)
    subprocess.run(
        [sys.executable, "-c", code, hub, alice.token, repo_id, str(folder)],
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    from huggingface_hub import HfApi

    assert len(HfApi(endpoint=hub, token=alice.token).list_repo_files(repo_id)) == FILES + 1


def test_a_commit_of_many_pickles_queues_a_scan_job_per_batch(api, repo_id, database_url):
    """150 pickle-format files are 2 scan jobs (100 contents each at most), not 150, and
    each file still gets its verdict."""
    from huggingface_hub import CommitOperationAdd

    contents = [pickle.dumps({"layer": i}) for i in range(150)]
    operations = [
        CommitOperationAdd(path_in_repo=f"w/{i:03d}.dat", path_or_fileobj=io.BytesIO(data))
        for i, data in enumerate(contents)
    ]
    api.create_commit(repo_id, operations=operations, commit_message="many pickles")
    keys = {hashlib.sha256(data).hexdigest() for data in contents}  # binary: LFS files
    engine = create_engine(database_url)
    try:
        with engine.connect() as db:
            rows = db.execute(text("SELECT args FROM jobs WHERE kind = 'scan'")).scalars()
            args = [json.loads(a) if isinstance(a, str) else a for a in rows]
    finally:
        engine.dispose()
    ours = [a for a in args if keys & {item["content_key"] for item in a.get("items", [])}]
    assert len(ours) == 2
    assert sum(len(a["items"]) for a in ours) == 150
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        entries = [e for e in api.list_repo_tree(repo_id, "w", expand=True)]
        if all(e.security and e.security.status != "pending" for e in entries):
            break
        time.sleep(0.5)
    assert len(entries) == 150
    assert all(e.security and e.security.safe for e in entries)


def test_history_pages_follow_the_link_to_the_first_commit(api, repo_id, hub, alice):
    for i in range(24):
        api.upload_file(path_or_fileobj=f"{i}".encode(), path_in_repo="n.txt", repo_id=repo_id)
    whole = api.list_repo_commits(repo_id)  # the client follows every Link
    assert len(whole) == 25  # and the repo's first commit
    headers = {"authorization": f"Bearer {alice.token}"}
    url, seen = f"{hub}/api/models/{repo_id}/commits/main?limit=10", []
    while url:
        response = httpx.get(url, headers=headers)
        response.raise_for_status()
        seen += [c["id"] for c in response.json()]
        url = response.links.get("next", {}).get("url")
    assert seen == [c.commit_id for c in whole]
    deep = httpx.get(f"{hub}/api/models/{repo_id}/commits/main?limit=10&p=2", headers=headers)
    assert [c["id"] for c in deep.json()] == seen[20:] and "link" not in deep.headers
    past = httpx.get(f"{hub}/api/models/{repo_id}/commits/main?limit=10&p=9", headers=headers)
    assert past.json() == [] and "link" not in past.headers
