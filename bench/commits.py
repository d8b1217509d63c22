"""Commit time against the number of operations: one commit of 2,000 small files, then one
of 8,000, through the real huggingface_hub client. Linear work makes the second about 4×
the first (the 2,000-file commit is the reference measured in the same run).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from bench.hubproc import running_hub

SIZES = (2_000, 8_000)


def _commit_seconds(endpoint: str, token: str, count: int) -> float:
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi(endpoint=endpoint, token=token)
    repo = api.create_repo(f"admin/commit-{count}").repo_id
    operations = [
        CommitOperationAdd(path_in_repo=f"f{i}.txt", path_or_fileobj=f"{i}\n".encode())
        for i in range(count)
    ]
    api.preupload_lfs_files(repo, additions=operations)  # upload modes, outside the timing
    start = time.perf_counter()
    api.create_commit(repo, operations=operations, commit_message=f"{count} files")
    return time.perf_counter() - start


def run() -> dict[int, float]:
    os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
    work = Path(tempfile.mkdtemp(prefix="commons-bench-commits-"))
    try:
        with running_hub(work / "home") as (endpoint, token, _env):
            seconds = {count: _commit_seconds(endpoint, token, count) for count in SIZES}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    small, large = SIZES
    print(
        f"commit of {small:,} ops {seconds[small]:.2f} s, {large:,} ops {seconds[large]:.2f} s: "
        f"{seconds[large] / seconds[small]:.1f}× for {large // small}× the operations"
    )
    return seconds


if __name__ == "__main__":
    run()
