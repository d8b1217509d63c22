"""The one exception tree. Each error knows its HTTP status and, where the HF clients read
one, its X-Error-Code. The server maps them to responses in one place.

CommonsError
 ├── InvalidInputError            400
 │    └── PayloadTooLargeError    413
 ├── UnauthorizedError            401 (bad or missing credentials)
 ├── PermissionDeniedError        403 (known user, not allowed; never for private repos)
 ├── NotFoundError                404
 │    ├── RepoNotFoundError       404 RepoNotFound (also private repos you cannot see)
 │    ├── RevisionNotFoundError   404 RevisionNotFound
 │    └── EntryNotFoundError      404 EntryNotFound
 ├── RepoMovedError               301 (a page asked for by a repo's old name: go to the new)
 ├── ConflictError                409
 ├── StaleParentError             412 (a commit's parent is no longer the branch head)
 ├── RangeNotSatisfiableError     416 (a byte range that starts past the end of the object)
 ├── NotSupportedError            501
 ├── JobTimeoutError              (a job ran past COMMONS_JOB_TIMEOUT_SECONDS; never HTTP)
 ├── JobCancelledError            (a running job was asked to stop; never HTTP)
 └── ConfigurationError           (settings that cannot work; raised at start-up)
"""

from __future__ import annotations


class CommonsError(Exception):
    status: int = 500
    code: str | None = None

    def __init__(self, message: str, **extra: object) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class InvalidInputError(CommonsError, ValueError):
    status = 400


class PayloadTooLargeError(InvalidInputError):
    status = 413


class UnauthorizedError(CommonsError):
    status = 401


class PermissionDeniedError(CommonsError, PermissionError):
    status = 403


class NotFoundError(CommonsError, LookupError):
    status = 404


class RepoNotFoundError(NotFoundError):
    code = "RepoNotFound"


class RevisionNotFoundError(NotFoundError):
    code = "RevisionNotFound"


class EntryNotFoundError(NotFoundError, FileNotFoundError):
    code = "EntryNotFound"


class RepoMovedError(CommonsError):
    """A page named a repo by an old name (it was renamed or moved): the browser is sent to
    the same page under `new_id`. API routes follow old names without raising it."""

    status = 301

    def __init__(self, old_id: str, new_id: str) -> None:
        super().__init__(f"{old_id} moved to {new_id}")
        self.old_id, self.new_id = old_id, new_id


class ConflictError(CommonsError):
    status = 409


class LicenseConflictError(ConflictError):
    """A card's license is incompatible with its ancestry and the hub's policy is reject."""

    code = "LicenseConflict"


class StaleParentError(CommonsError):
    status = 412


class RangeNotSatisfiableError(CommonsError):
    """A byte range no part of which lies within the object (it starts at or past the end);
    the answer names the size, as `Content-Range: bytes */<size>`."""

    status = 416

    def __init__(self, size: int) -> None:
        super().__init__(f"Range not satisfiable: the object has {size} bytes.", range_size=size)
        self.size = size


class NotSupportedError(CommonsError, NotImplementedError):
    status = 501


class TooManyRequestsError(CommonsError):
    status = 429


class JobTimeoutError(CommonsError):
    """A job ran past COMMONS_JOB_TIMEOUT_SECONDS, so its process was killed."""


class JobCancelledError(CommonsError):
    """Raised inside a running job's handler when its owner (or an admin) asked it to stop:
    the worker records the job as cancelled."""


class ConfigurationError(CommonsError):
    status = 500
