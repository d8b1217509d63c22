"""Uploading through hf_xet as another machine would: a new process with an empty cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
