"""The one exception tree. Each error knows its HTTP status and, where the HF clients read
one, its X-Error-Code. The server maps them to responses in one place.

CommonsError                      500 (a bug: anything the tree does not name)
 ├── InvalidInputError            400 (a request, form, recipe or card that cannot be used)
 │    └── PayloadTooLargeError    413 (a body, upload, file or field over its size bound)
 ├── UnauthorizedError            401 (bad or missing credentials)
 ├── PermissionDeniedError        403 (known user, not allowed; never for private repos)
 ├── NotFoundError                404
 │    ├── RepoNotFoundError       404 RepoNotFound (also private repos you cannot see)
 │    ├── RevisionNotFoundError   404 RevisionNotFound
 │    └── EntryNotFoundError      404 EntryNotFound
 ├── RepoMovedError               301 (a page asked for by a repo's old name: go to the new)
 ├── ConflictError                409 (the name or state asked for is taken or has changed)
 │    └── LicenseConflictError    409 LicenseConflict (a card's license against its ancestry)
 ├── StaleParentError             412 (a commit's parent is no longer the branch head)
 ├── RangeNotSatisfiableError     416 (a byte range that starts past the end of the object)
 ├── TooManyRequestsError         429 (a rate limit or the per-user job limit)
 ├── NotSupportedError            501 (a protocol feature this hub does not offer)
 ├── UnavailableError             503 (the content store or database cannot be reached)
 ├── JobTimeoutError              (a job ran past COMMONS_JOB_TIMEOUT_SECONDS; never HTTP)
 ├── JobCancelledError            (a running job was asked to stop; never HTTP)
 └── ConfigurationError           (settings that cannot work; raised at start-up)
"""

from __future__ import annotations


class CommonsError(Exception):
    """The root: routes map every subclass to its status, code and message in one place."""

    status: int = 500
    code: str | None = None

    def __init__(self, message: str, **extra: object) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class InvalidInputError(CommonsError, ValueError):
    """Raised when what a caller sent cannot be used as it is (names, paths, numbers, recipes)."""

    status = 400


class PayloadTooLargeError(InvalidInputError):
    """Raised when a body, upload, file or field is over the bound the hub sets for it."""

    status = 413


class UnauthorizedError(CommonsError):
    """Raised when credentials are missing, unknown, expired or revoked."""

    status = 401


class PermissionDeniedError(CommonsError, PermissionError):
    """Raised when a known principal may see the thing but not do this to it (a read token
    writing, a reader pushing); repos they may not see are RepoNotFoundError instead."""

    status = 403


class NotFoundError(CommonsError, LookupError):
    """Raised when what was named does not exist (a job, a user, a token, an upload)."""

    status = 404


class RepoNotFoundError(NotFoundError):
    """Raised for a repo that does not exist or that the caller may not see."""

    code = "RepoNotFound"


class RevisionNotFoundError(NotFoundError):
    """Raised for a branch, tag or commit that the repo does not have."""

    code = "RevisionNotFound"


class EntryNotFoundError(NotFoundError, FileNotFoundError):
    """Raised for a path that the revision does not hold."""

    code = "EntryNotFound"


class RepoMovedError(CommonsError):
    """A page named a repo by an old name (it was renamed or moved): the browser is sent to
    the same page under `new_id`. API routes follow old names without raising it."""

    status = 301

    def __init__(self, old_id: str, new_id: str) -> None:
        super().__init__(f"{old_id} moved to {new_id}")
        self.old_id, self.new_id = old_id, new_id


class ConflictError(CommonsError):
    """Raised when the name or state asked for is taken or changed meanwhile (a repo that
    exists, a file added where a folder is, the last admin leaving an org)."""

    status = 409


class LicenseConflictError(ConflictError):
    """A card's license is incompatible with its ancestry and the hub's policy is reject."""

    code = "LicenseConflict"


class StaleParentError(CommonsError):
    """Raised when a commit names a parent that is no longer its branch's head."""

    status = 412


class RangeNotSatisfiableError(CommonsError):
    """A byte range no part of which lies within the object (it starts at or past the end);
    the answer names the size, as `Content-Range: bytes */<size>`."""

    status = 416

    def __init__(self, size: int) -> None:
        super().__init__(f"Range not satisfiable: the object has {size} bytes.", range_size=size)
        self.size = size


class NotSupportedError(CommonsError, NotImplementedError):
    """Raised for a protocol feature this hub does not offer, so clients can tell it apart
    from a bad request."""

    status = 501


class UnavailableError(CommonsError):
    """Raised when the content store or the database cannot be reached, where the caller
    must stop rather than go on without it (garbage collection deletes nothing then)."""

    status = 503


class TooManyRequestsError(CommonsError):
    """Raised when a rate limit (logins, sign-ups) or the per-user job limit is reached."""

    status = 429


class JobTimeoutError(CommonsError):
    """A job ran past COMMONS_JOB_TIMEOUT_SECONDS, so its process was killed."""


class JobCancelledError(CommonsError):
    """Raised inside a running job's handler when its owner (or an admin) asked it to stop:
    the worker records the job as cancelled."""


class ConfigurationError(CommonsError):
    """Raised at start-up for settings that cannot work; the CLI prints it as one line."""

    status = 500
