"""Validation of repo ids, account names, revisions and paths inside a repo."""

from __future__ import annotations

import re
from typing import get_args

from modelcommons.db.vocabulary import RepoType as RepoType  # re-exported: edges name it here
from modelcommons.errors import InvalidInputError

REPO_TYPES: tuple[RepoType, ...] = get_args(RepoType)
# First URL segments that can never be a namespace: they route elsewhere.
RESERVED_NAMES = frozenset(
    {
        "api",
        "xet",
        "datasets",
        "spaces",
        "models",
        "kernels",
        "new",
        "settings",
        "login",
        "logout",
        "signup",
        "static",
        "docs",
        "organizations",
        "lfs",
        "healthz",
        "search",
        "leaderboards",
        "jobs",
    }
)
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9])?$")
_COMMIT_SHA = re.compile(r"^[0-9a-f]{40}$")
# Control characters (git refuses them in refs; in paths they only mislead), and those that
# make a name read as another on a page: line breaks and bidirectional overrides, by which
# `model\u202egnp.exe` shows as `modelexe.png`.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
MAX_PATH = 1000
# The largest id or offset that every database we run on takes (PostgreSQL's integer):
# a bigger number from a client is refused before it reaches one.
MAX_INTEGER = 2**31 - 1


def whole_number(raw: str, *, what: str, least: int = 0) -> int:
    """A number from a URL's query, as ASCII digits from `least` to MAX_INTEGER: isdigit()
    also passes '²', which int() refuses, and int() takes thousands of digits."""
    digits = raw.isascii() and raw.isdigit() and len(raw) <= 10
    if not digits or not least <= int(raw) <= MAX_INTEGER:
        raise InvalidInputError(f"{what} must be a whole number from {least} to {MAX_INTEGER}.")
    return int(raw)


def validate_name(name: str, *, what: str = "name") -> str:
    if not _NAME.match(name) or "--" in name or ".." in name:
        raise InvalidInputError(
            f"Invalid {what} {name!r}: use letters, digits, '-', '_' and '.', at most 96 "
            "characters, starting and ending with a letter or digit, without '--' or '..'."
        )
    return name


def validate_namespace(name: str) -> str:
    validate_name(name, what="namespace")
    if name.lower() in RESERVED_NAMES:
        raise InvalidInputError(f"{name!r} is a reserved name.")
    return name


def split_repo_id(repo_id: str) -> tuple[str, str]:
    namespace, sep, name = repo_id.partition("/")
    if not sep or "/" in name:
        raise InvalidInputError(f"Invalid repo id {repo_id!r}: expected 'namespace/name'.")
    return validate_namespace(namespace), validate_name(name, what="repo name")


def validate_repo_type(repo_type: str | None) -> RepoType:
    """A repo type from a request (None or "": model), checked and narrowed once at the edge."""
    for known in REPO_TYPES:
        if (repo_type or "model") == known:
            return known
    raise InvalidInputError(f"Invalid repo type {repo_type!r}: expected model or dataset.")


def is_commit_sha(rev: str) -> bool:
    return bool(_COMMIT_SHA.match(rev))


def validate_path(path: str) -> str:
    """A file path inside a repo: relative, no '..' or '.' segments, no empty segments."""
    if not path or len(path) > MAX_PATH:
        raise InvalidInputError(f"Invalid path {path[:100]!r}: empty or too long.")
    if path.startswith("/") or "\\" in path or "\0" in path:
        raise InvalidInputError(f"Invalid path {path!r}: must be relative, with '/' separators.")
    if _CONTROL.search(path):
        raise InvalidInputError(f"Invalid path {path!r}: no control characters.")
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise InvalidInputError(f"Invalid path {path!r}: no empty, '.' or '..' segments.")
    if any(_is_git_dir(part) for part in parts):
        raise InvalidInputError(f"Invalid path {path!r}: .git is reserved.")
    return path


def _is_git_dir(part: str) -> bool:
    """A path segment a checkout would write into a `.git` folder: in any folder (git refuses
    to check such trees out), in any case (macOS and Windows folders ignore it; `.GIT/hooks`
    would plant a hook in the clone or the `hf download --local-dir` of a git work tree), with
    the trailing dots or spaces and the short name Windows also reads as `.git`."""
    name = part.lower().rstrip(". ")
    return name == ".git" or name == "git~1"


def validate_ref_name(name: str) -> str:
    """A branch or tag name: git's rules, simplified to what is safe in URLs and refs."""
    if (
        not name
        or len(name) > 200
        or name.startswith(("/", "-", "refs/"))
        or name.endswith(("/", ".lock", "."))
        or any(bad in name for bad in ("..", "//", "@{", "\\", " ", "~", "^", ":", "?", "*", "["))
        or _CONTROL.search(name)
        or is_commit_sha(name)
    ):
        raise InvalidInputError(f"Invalid branch or tag name {name!r}.")
    return name


def escape_like(text: str) -> str:
    """Text matched literally inside a SQL LIKE pattern with ESCAPE '\\'."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
