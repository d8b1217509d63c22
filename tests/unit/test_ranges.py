"""The one Range parser: each single-range form of RFC 9110, what is refused, what is ignored."""

from __future__ import annotations

import pytest

from modelcommons.errors import RangeNotSatisfiableError
from modelcommons.server.ranges import ByteRange, parse_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=2-5", (2, 6)),
        ("bytes=7-", (7, 10)),  # open-ended: the rest
        ("bytes=-3", (7, 10)),  # suffix: the last 3
        ("bytes=-30", (0, 10)),  # a suffix longer than the object: all of it
        ("bytes=2-999", (2, 10)),  # an end past the object: its end
        ("bytes=0-" + "9" * 5000, (0, 10)),  # more digits than int() takes
        ("Bytes=2-5", (2, 6)),  # the unit is case-insensitive
    ],
)
def test_single_ranges(header, expected):
    wanted = parse_range(header, 10)
    assert wanted is not None and (wanted.start, wanted.end) == expected
    assert wanted.content_range() == f"bytes {expected[0]}-{expected[1] - 1}/10"


@pytest.mark.parametrize("header", ["bytes=10-", "bytes=99-100", "bytes=-0", "bytes=5-2"])
def test_unsatisfiable_ranges_are_416_with_the_size(header):
    with pytest.raises(RangeNotSatisfiableError) as caught:
        parse_range(header, 10)
    assert caught.value.status == 416 and caught.value.extra["range_size"] == 10


def test_any_range_of_an_empty_object_is_unsatisfiable():
    with pytest.raises(RangeNotSatisfiableError):
        parse_range("bytes=0-", 0)


@pytest.mark.parametrize(
    "header", [None, "", "bytes=0-1,4-5", "bytes=-", "bytes=abc", "items=0-5", "bytes=1-2-3"]
)
def test_other_headers_are_ignored_for_the_whole_object(header):
    assert parse_range(header, 10) is None


def test_a_range_knows_its_length():
    assert ByteRange(2, 6, 10).length == 4
