"""Tokens a running job uses to act for the user who queued it, through the hub's own API.

Derived from the job id with the secret key, never stored; valid only while the job runs.
Its role is the scope recorded when the job was queued (`args["scope"]`): what the job needs,
never more than the token that asked for it; "read" when none was recorded.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy.orm import Session

from modelcommons.config import get_settings
from modelcommons.db.models import Account, Job
from modelcommons.errors import UnauthorizedError
from modelcommons.hub.accounts import Principal, org_roles
from modelcommons.hub.names import MAX_INTEGER

PREFIX = "job1"


def _mac(job_id: int, user_id: int) -> str:
    key = get_settings().secret_key.encode()
    return hmac.new(key, f"{PREFIX}:{job_id}:{user_id}".encode(), hashlib.sha256).hexdigest()


def job_token(job: Job) -> str:
    if job.owner_id is None:
        raise UnauthorizedError(f"Job {job.id} has no owner to act for.")
    return f"{PREFIX}.{job.id}.{_mac(job.id, job.owner_id)}"


def is_job_token(secret: str) -> bool:
    return secret.startswith(PREFIX + ".")


def authenticate_job_token(session: Session, secret: str) -> Principal:
    try:
        _, job_id, mac = secret.split(".")
        if not 0 < int(job_id) <= MAX_INTEGER:  # no database takes a bigger id
            raise ValueError(job_id)
        job = session.get(Job, int(job_id))
    except ValueError:
        job = None
    if (
        job is None
        or job.owner_id is None
        or not hmac.compare_digest(_mac(job.id, job.owner_id), mac)
    ):
        raise UnauthorizedError("Invalid credentials in Authorization header")
    if job.status != "running":
        raise UnauthorizedError("This job token is only valid while its job runs.")
    user = session.get(Account, job.owner_id)
    if user is None:
        raise UnauthorizedError("The user who queued this job no longer exists.")
    return Principal(
        user=user,
        token_role="write" if (job.args or {}).get("scope") == "write" else "read",
        token_name=f"job {job.id}",
        org_roles=org_roles(session, user),
    )
