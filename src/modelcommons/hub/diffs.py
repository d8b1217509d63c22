"""Line diffs for the commit page, bounded before they are computed.

difflib's matcher is quadratic on some inputs (a 60 KB file with every pair of lines
swapped takes seconds), so the lines both files share at their start and end are set
aside first, and only what remains counts against the page's line budget."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass

from modelcommons.hub.files import FileEntry
from modelcommons.storage import get_git

CONTEXT = 3  # lines shown around each change


@dataclass(frozen=True)
class Change:
    path: str
    status: str  # "added" | "modified" | "deleted"
    size_before: int | None
    size_after: int | None
    diff: list[str] | None = None  # unified diff lines of a small text file
    note: str | None = None  # why no diff is shown, when that is worth saying


def _lines(entry: FileEntry | None, max_bytes: int) -> list[str] | str:
    """A small regular file's lines (none for a missing side), or why it is not diffed."""
    if entry is None:
        return []
    if entry.lfs_sha256:
        return "a large file stored outside git"
    if entry.size > max_bytes:
        return f"larger than {max_bytes:,} bytes"
    data = get_git().blob_data(entry.oid)
    if b"\0" in data[:8192]:
        return "binary"
    return data.decode("utf-8", errors="replace").splitlines()


def _span(start: int, stop: int) -> str:
    """A hunk range as unified diffs write it (1-based; an empty range names the line before)."""
    length = stop - start
    return str(start + 1) if length == 1 else f"{start + (1 if length else 0)},{length}"


def _unified(old: list[str], new: list[str], offset: int) -> Iterator[str]:
    """Unified diff hunks of two line lists that start `offset` lines into their files."""
    matcher = difflib.SequenceMatcher(None, old, new)
    for group in matcher.get_grouped_opcodes(CONTEXT):
        first, last = group[0], group[-1]
        before = _span(offset + first[1], offset + last[2])
        after = _span(offset + first[3], offset + last[4])
        yield f"@@ -{before} +{after} @@"
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                yield from (" " + line for line in old[i1:i2])
                continue
            yield from ("-" + line for line in old[i1:i2])
            yield from ("+" + line for line in new[j1:j2])


def _middle(old: list[str], new: list[str]) -> tuple[list[str], list[str], int]:
    """Both sides without the lines they share at start and end (keeping the context)."""
    prefix = 0
    for a, b in zip(old, new, strict=False):
        if a != b:
            break
        prefix += 1
    suffix = 0
    limit = min(len(old), len(new)) - prefix
    while suffix < limit and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    start, cut = max(0, prefix - CONTEXT), max(0, suffix - CONTEXT)
    return old[start : len(old) - cut], new[start : len(new) - cut], start


def changes_between(
    before: dict[str, FileEntry],
    after: dict[str, FileEntry],
    *,
    max_lines: int,
    max_file_bytes: int,
) -> list[Change]:
    """What a commit changed, with line diffs of small text files while `max_lines` lasts."""
    changed, budget = [], max_lines
    for path in sorted(before.keys() | after.keys()):
        old, new = before.get(path), after.get(path)
        if old is not None and new is not None and old.oid == new.oid:
            continue
        status = "added" if old is None else "deleted" if new is None else "modified"
        sizes = (old.size if old else None, new.size if new else None)
        old_lines, new_lines = _lines(old, max_file_bytes), _lines(new, max_file_bytes)
        if isinstance(old_lines, str) or isinstance(new_lines, str):
            reason = old_lines if isinstance(old_lines, str) else new_lines
            changed.append(Change(path, status, *sizes, note=f"diff not shown: {reason}"))
            continue
        old_part, new_part, offset = _middle(old_lines, new_lines)
        cost = len(old_part) + len(new_part)
        if cost > budget:
            note = f"diff too large to show here ({cost:,} lines; this page diffs {max_lines:,})"
            changed.append(Change(path, status, *sizes, note=note))
            continue
        budget -= cost
        changed.append(Change(path, status, *sizes, list(_unified(old_part, new_part, offset))))
    return changed
