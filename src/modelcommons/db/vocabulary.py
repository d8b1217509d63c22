"""The fixed sets of values some columns hold, as Literal types.

Declaring them on the columns types every row read back, so mypy refuses a misspelt value
wherever one is written or compared (`repo.type == "modle"`, `obj.kind == "blbo"`). hub/
re-exports each beside the checks that narrow a request's strings into them (hub.names,
hub.accounts), and the edges take them from there.
"""

from __future__ import annotations

from typing import Literal

RepoType = Literal["model", "dataset", "space"]  # spaces are named, then refused (501)
AccountKind = Literal["user", "org"]
Role = Literal["read", "write", "admin"]  # a member's role in an org, and what an action needs
Scope = Literal["read", "write"]  # what a token lets its bearer do
EntryKind = Literal["file", "directory"]  # a row of a commit's file index
ObjectKind = Literal["blob", "xet"]  # how a large file's bytes are stored: one object, or chunks
JobKind = Literal["scan", "xet-convert", "tune", "evaluate", "gc"]  # each has a handler in jobs/
JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
FinalStatus = Literal["succeeded", "failed", "cancelled"]  # how a job ended
