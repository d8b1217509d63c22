"""One typed Settings object, read from COMMONS_* environment variables.

Embedded defaults put everything under COMMONS_HOME; scale-out swaps in URLs.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from modelcommons.errors import ConfigurationError

GB = 1000**3
MiB = 1024**2
GiB = 1024**3


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    storage_url: str
    queue_url: str
    public_url: str | None
    secret_key: str
    max_upload_bytes: int
    unsafe_files: str  # "warn" or "block"
    run_worker: bool  # start the embedded job consumer beside `commons serve`
    worker_hub_url: str | None  # where job workers reach the hub through its own API
    lfs_multipart_threshold: int  # LFS uploads at least this big go in parts
    lfs_part_size: int
    signup: str  # "open": anyone may sign up in the browser; "invite": only with an invite code
    login_limit_per_address: int  # log-in attempts that fail, from one address, per window
    login_limit_per_name: int  # failed log-ins for one name from one address, per window
    login_window_seconds: int
    signup_limit_per_address: int  # sign-up attempts from one address per sign-up window
    signup_window_seconds: int
    trusted_proxies: str  # addresses whose X-Forwarded-For/-Proto are believed ("" = none)
    license_policy: str  # "warn": flag incompatible licenses; "reject": refuse such commits
    job_lease_seconds: int  # a job whose worker is silent this long is retried elsewhere
    job_timeout_seconds: int  # a tune or evaluation running longer is stopped and failed
    max_active_jobs_per_user: int  # a user's queued and running jobs, at most
    worker_stop_seconds: float  # a stopping worker's jobs have this long, then are killed
    max_commit_operations: int  # files added or deleted by one commit
    upload_grant_seconds: int  # how long an upload lets its uploader commit the object
    max_card_bytes: int  # the start of a card rendered on its page; the rest is cut
    preview_bytes: int  # what a table preview may read and decode
    highlight_bytes: int  # text beyond this is shown without syntax highlighting
    diff_lines: int  # lines (both sides) diffed on one commit page
    diff_file_bytes: int  # text files bigger than this are listed, not diffed
    max_json_bytes: int  # JSON (and form) request bodies beyond this get 413
    max_json_depth: int  # JSON nested deeper than this gets 400
    max_header_bytes: int  # a request head (line and headers) beyond this is refused
    body_timeout_seconds: float  # a request body silent this long gets 408
    max_query_terms: int  # search words, and filter values, per listing

    @property
    def embedded_queue(self) -> bool:
        return self.queue_url.startswith("sqlite")


def _secret_key(home: Path, explicit: str | None, embedded: bool) -> str:
    if explicit:
        return explicit
    if not embedded:
        raise ConfigurationError(
            "COMMONS_SECRET_KEY is required when the database is not embedded: set the same "
            "random value for every server and worker process."
        )
    path = home / "secret_key"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    home = Path(env.get("COMMONS_HOME", "./commons-data")).resolve()
    database_url = env.get("COMMONS_DATABASE_URL") or f"sqlite:///{home}/commons.db"
    storage_url = env.get("COMMONS_STORAGE_URL") or f"file://{home}/store"
    queue_url = env.get("COMMONS_QUEUE_URL") or f"sqlite:///{home}/queue.db"
    embedded = database_url.startswith("sqlite")
    return Settings(
        home=home,
        database_url=database_url,
        storage_url=storage_url,
        queue_url=queue_url,
        public_url=(env.get("COMMONS_PUBLIC_URL") or "").rstrip("/") or None,
        secret_key=_secret_key(home, env.get("COMMONS_SECRET_KEY"), embedded),
        max_upload_bytes=int(env.get("COMMONS_MAX_UPLOAD_BYTES", 50 * GB)),
        unsafe_files=_choice(env, "COMMONS_UNSAFE_FILES", ("warn", "block"), default="warn"),
        run_worker=env.get("COMMONS_RUN_WORKER", "1") not in ("0", "false", "no"),
        worker_hub_url=(
            env.get("COMMONS_WORKER_HUB_URL") or env.get("COMMONS_PUBLIC_URL") or ""
        ).rstrip("/")
        or None,
        lfs_multipart_threshold=int(env.get("COMMONS_LFS_MULTIPART_THRESHOLD", 2 * GiB)),
        lfs_part_size=int(env.get("COMMONS_LFS_PART_SIZE", 512 * MiB)),
        signup=_choice(env, "COMMONS_SIGNUP", ("open", "invite"), default="open"),
        login_limit_per_address=int(env.get("COMMONS_LOGIN_LIMIT_PER_ADDRESS", 50)),
        login_limit_per_name=int(env.get("COMMONS_LOGIN_LIMIT_PER_NAME", 10)),
        login_window_seconds=int(env.get("COMMONS_LOGIN_WINDOW_SECONDS", 15 * 60)),
        signup_limit_per_address=int(env.get("COMMONS_SIGNUP_LIMIT_PER_ADDRESS", 20)),
        signup_window_seconds=int(env.get("COMMONS_SIGNUP_WINDOW_SECONDS", 3600)),
        trusted_proxies=env.get("COMMONS_TRUSTED_PROXIES", "127.0.0.1"),
        license_policy=_choice(env, "COMMONS_LICENSE_POLICY", ("warn", "reject"), default="warn"),
        job_lease_seconds=int(env.get("COMMONS_JOB_LEASE_SECONDS", 300)),
        job_timeout_seconds=int(env.get("COMMONS_JOB_TIMEOUT_SECONDS", 3600)),
        max_active_jobs_per_user=int(env.get("COMMONS_MAX_ACTIVE_JOBS_PER_USER", 4)),
        worker_stop_seconds=float(env.get("COMMONS_WORKER_STOP_SECONDS", 10)),
        max_commit_operations=int(env.get("COMMONS_MAX_COMMIT_OPERATIONS", 25_000)),
        upload_grant_seconds=int(env.get("COMMONS_UPLOAD_GRANT_SECONDS", 7 * 24 * 3600)),
        max_card_bytes=int(env.get("COMMONS_MAX_CARD_BYTES", 200_000)),
        preview_bytes=int(env.get("COMMONS_PREVIEW_BYTES", 32 * MiB)),
        highlight_bytes=int(env.get("COMMONS_HIGHLIGHT_BYTES", 100_000)),
        diff_lines=int(env.get("COMMONS_DIFF_LINES", 3000)),
        diff_file_bytes=int(env.get("COMMONS_DIFF_FILE_BYTES", 256 * 1024)),
        max_json_bytes=int(env.get("COMMONS_MAX_JSON_BYTES", 10 * MiB)),
        max_json_depth=int(env.get("COMMONS_MAX_JSON_DEPTH", 64)),
        max_header_bytes=int(env.get("COMMONS_MAX_HEADER_BYTES", 64 * 1024)),
        body_timeout_seconds=float(env.get("COMMONS_BODY_TIMEOUT_SECONDS", 60)),
        max_query_terms=int(env.get("COMMONS_MAX_QUERY_TERMS", 100)),
    )


def _choice(env: dict[str, str], name: str, allowed: tuple[str, ...], *, default: str) -> str:
    value = env.get(name) or default
    if value not in allowed:
        raise ConfigurationError(f"{name} must be one of {', '.join(allowed)}, not {value!r}.")
    return value


@cache
def get_settings() -> Settings:
    return load_settings()
