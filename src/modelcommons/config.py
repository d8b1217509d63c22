"""One typed Settings object, read from COMMONS_* environment variables.

Embedded defaults put everything under COMMONS_HOME; scale-out swaps in URLs.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal, TypeVar, get_args

from modelcommons.errors import ConfigurationError

GB = 1000**3
MiB = 1024**2
GiB = 1024**3

UnsafeFilesPolicy = Literal["warn", "block"]  # a file the scanner calls unsafe: flag or refuse
SignupPolicy = Literal["open", "invite"]  # who may sign up in the browser
LicensePolicy = Literal["warn", "reject"]  # an incompatible license: flag or refuse the commit

_Choice = TypeVar("_Choice", bound=str)


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    storage_url: str
    queue_url: str
    public_url: str | None
    secret_key: str
    max_upload_bytes: int
    unsafe_files: UnsafeFilesPolicy
    run_worker: bool  # start the embedded job consumer beside `commons serve`
    worker_hub_url: str | None  # where job workers reach the hub through its own API
    lfs_multipart_threshold: int  # LFS uploads at least this big go in parts
    lfs_part_size: int
    signup: SignupPolicy  # "open": anyone may sign up; "invite": only with an invite code
    login_limit_per_address: int  # log-in attempts that fail, from one address, per window
    login_limit_per_name: int  # failed log-ins for one name from one address, per window
    login_window_seconds: int
    signup_limit_per_address: int  # sign-up attempts from one address per sign-up window
    signup_window_seconds: int
    trusted_proxies: str  # addresses whose X-Forwarded-For/-Proto are believed ("" = none)
    license_policy: LicensePolicy
    job_lease_seconds: int  # a job whose worker is silent this long is retried elsewhere
    job_sweep_seconds: float  # how often workers enqueue queued jobs that nobody enqueued
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
    gc_interval_seconds: float  # how often workers queue a garbage collection (0: never)
    gc_grace_seconds: float  # what is younger than this is never collected

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
        max_upload_bytes=_whole_number(env, "COMMONS_MAX_UPLOAD_BYTES", 50 * GB, "bytes"),
        unsafe_files=_choice(env, "COMMONS_UNSAFE_FILES", get_args(UnsafeFilesPolicy), "warn"),
        run_worker=_flag(env, "COMMONS_RUN_WORKER", default=True),
        worker_hub_url=(
            env.get("COMMONS_WORKER_HUB_URL") or env.get("COMMONS_PUBLIC_URL") or ""
        ).rstrip("/")
        or None,
        lfs_multipart_threshold=_whole_number(
            env, "COMMONS_LFS_MULTIPART_THRESHOLD", 2 * GiB, "bytes"
        ),
        lfs_part_size=_whole_number(env, "COMMONS_LFS_PART_SIZE", 512 * MiB, "bytes"),
        signup=_choice(env, "COMMONS_SIGNUP", get_args(SignupPolicy), "open"),
        login_limit_per_address=_whole_number(env, "COMMONS_LOGIN_LIMIT_PER_ADDRESS", 50),
        login_limit_per_name=_whole_number(env, "COMMONS_LOGIN_LIMIT_PER_NAME", 10),
        login_window_seconds=_whole_number(env, "COMMONS_LOGIN_WINDOW_SECONDS", 15 * 60, "seconds"),
        signup_limit_per_address=_whole_number(env, "COMMONS_SIGNUP_LIMIT_PER_ADDRESS", 20),
        signup_window_seconds=_whole_number(env, "COMMONS_SIGNUP_WINDOW_SECONDS", 3600, "seconds"),
        trusted_proxies=env.get("COMMONS_TRUSTED_PROXIES", "127.0.0.1"),
        license_policy=_choice(env, "COMMONS_LICENSE_POLICY", get_args(LicensePolicy), "warn"),
        job_lease_seconds=_whole_number(env, "COMMONS_JOB_LEASE_SECONDS", 300, "seconds"),
        job_sweep_seconds=_number(env, "COMMONS_JOB_SWEEP_SECONDS", 10, "seconds"),
        job_timeout_seconds=_whole_number(env, "COMMONS_JOB_TIMEOUT_SECONDS", 3600, "seconds"),
        max_active_jobs_per_user=_whole_number(env, "COMMONS_MAX_ACTIVE_JOBS_PER_USER", 4),
        worker_stop_seconds=_number(env, "COMMONS_WORKER_STOP_SECONDS", 10.0, "seconds"),
        max_commit_operations=_whole_number(env, "COMMONS_MAX_COMMIT_OPERATIONS", 25_000),
        upload_grant_seconds=_whole_number(
            env, "COMMONS_UPLOAD_GRANT_SECONDS", 7 * 24 * 3600, "seconds"
        ),
        max_card_bytes=_whole_number(env, "COMMONS_MAX_CARD_BYTES", 200_000, "bytes"),
        preview_bytes=_whole_number(env, "COMMONS_PREVIEW_BYTES", 32 * MiB, "bytes"),
        highlight_bytes=_whole_number(env, "COMMONS_HIGHLIGHT_BYTES", 100_000, "bytes"),
        diff_lines=_whole_number(env, "COMMONS_DIFF_LINES", 3000),
        diff_file_bytes=_whole_number(env, "COMMONS_DIFF_FILE_BYTES", 256 * 1024, "bytes"),
        max_json_bytes=_whole_number(env, "COMMONS_MAX_JSON_BYTES", 10 * MiB, "bytes"),
        max_json_depth=_whole_number(env, "COMMONS_MAX_JSON_DEPTH", 64),
        max_header_bytes=_whole_number(env, "COMMONS_MAX_HEADER_BYTES", 64 * 1024, "bytes"),
        body_timeout_seconds=_number(env, "COMMONS_BODY_TIMEOUT_SECONDS", 60.0, "seconds"),
        max_query_terms=_whole_number(env, "COMMONS_MAX_QUERY_TERMS", 100),
        gc_interval_seconds=_number(env, "COMMONS_GC_INTERVAL_SECONDS", 24 * 3600, "seconds"),
        gc_grace_seconds=_number(env, "COMMONS_GC_GRACE_SECONDS", 3600, "seconds"),
    )


def _choice(
    env: dict[str, str], name: str, allowed: tuple[_Choice, ...], default: _Choice
) -> _Choice:
    """The variable's value as one of `allowed` (a Literal's values), so mypy knows the set."""
    value = env.get(name) or default
    for choice in allowed:
        if value == choice:
            return choice
    raise ConfigurationError(f"{name} must be one of {', '.join(allowed)}, not {value!r}.")


def _whole_number(env: dict[str, str], name: str, default: int, unit: str = "") -> int:
    """An integer variable; a value that is not one names the variable (not a bare ValueError)."""
    value = env.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as exc:
        of_unit = f" of {unit}" if unit else ""
        raise ConfigurationError(f"{name} must be a whole number{of_unit}, got {value!r}") from exc


def _number(env: dict[str, str], name: str, default: float, unit: str) -> float:
    value = env.get(name)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a number of {unit}, got {value!r}") from exc


_TRUE = ("1", "true", "yes")
_FALSE = ("0", "false", "no")


def _flag(env: dict[str, str], name: str, *, default: bool) -> bool:
    """A yes/no variable; anything else is refused rather than read as yes."""
    value = env.get(name)
    if not value:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be 1 or 0 (true/false, yes/no), got {value!r}")


@cache
def get_settings() -> Settings:
    return load_settings()
