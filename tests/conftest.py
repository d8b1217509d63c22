"""Test configuration shared by every suite.

The HF clients read their endpoint and switches at import time, so the environment is set
here, before any test module imports them. COMMONS_TEST_DATABASE=postgresql runs the suite
on the machine's PostgreSQL (a fresh, uniquely named database, dropped afterwards).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tests.cluster import free_port

RUN_DIR = Path(tempfile.mkdtemp(prefix="commons-test-"))
PORT = free_port()
ENDPOINT = f"http://127.0.0.1:{PORT}"

os.environ.update(
    {
        "HF_ENDPOINT": ENDPOINT,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HOME": str(RUN_DIR / "hf-home"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_UPDATE_DOWNLOAD_COUNTS": "0",
        "HF_HUB_ETAG_TIMEOUT": "30",
        "HF_HUB_DOWNLOAD_TIMEOUT": "60",
        "TOKENIZERS_PARALLELISM": "false",
        "COMMONS_HOME": str(RUN_DIR / "home"),
        "COMMONS_MAX_UPLOAD_BYTES": str(600 * 1000**2),
        # Small parts so that the 25 MB test upload goes through multipart.
        "COMMONS_LFS_MULTIPART_THRESHOLD": str(20 * 1024**2),
        "COMMONS_LFS_PART_SIZE": str(8 * 1024**2),
        # Every test signs up from 127.0.0.1; tests of the limit start a hub of their own.
        "COMMONS_SIGNUP_LIMIT_PER_ADDRESS": "100000",
    }
)
os.environ.pop("HF_TOKEN", None)
