"""The one reading of a Range header, for every route that serves bytes (RFC 9110, 14.2).

A single range in each of its three forms gets its bytes: `bytes=N-M`, `bytes=N-` (the rest)
and `bytes=-N` (the last N). An end past the object is its end. A range that starts at or
past the end (or asks for the last 0 bytes, or ends before it starts) is refused with 416.
Anything else (several ranges, another unit, odd syntax) is ignored and the whole object is
sent, as RFC 9110 allows: no HF client sends such ranges, and a whole answer is always right.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modelcommons.errors import RangeNotSatisfiableError

_SINGLE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$", re.IGNORECASE)
RANGE_INFINITY = 2**63  # past any object's size: bytes=0-<huge> asks for the rest


@dataclass(frozen=True)
class ByteRange:
    """Bytes [start, end) of an object of `size` bytes."""

    start: int
    end: int
    size: int

    @property
    def length(self) -> int:
        return self.end - self.start

    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end - 1}/{self.size}"


def _number(digits: str) -> int:
    """A byte position as ASCII digits (the pattern says so), capped: int() refuses numbers
    of thousands of digits, which made a download a 500."""
    return RANGE_INFINITY if len(digits) > 18 else int(digits)


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one range a Range header asks of `size` bytes; None for all of them (no header,
    or one this server ignores). Raises RangeNotSatisfiableError (416)."""
    if not header:
        return None
    match = _SINGLE.match(header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        return None
    first, last = match.groups()
    if first:
        start = _number(first)
        end = _number(last) + 1 if last else size
    else:  # a suffix: the last N bytes, or all of them when N is more than there are
        start, end = max(0, size - _number(last)), size
    end = min(end, size)
    if start >= end:
        raise RangeNotSatisfiableError(size)
    return ByteRange(start, end, size)
