"""Listing cursors: what one issues reads back, for its own listing only."""

from __future__ import annotations

import pytest

from modelcommons.errors import InvalidInputError
from modelcommons.hub import cursors

LISTING = cursors.Listing(7, "big/sub", recursive=False)


@pytest.mark.parametrize("after", ["f0001.txt", "dir/ünïcode name", "two\nlines", ""])
def test_an_issued_cursor_reads_back(after: str) -> None:
    position = cursors.START.then(after, 200).then(after, 200)
    token = cursors.issue(LISTING, position)
    assert token.isascii() and "=" not in token and "/" not in token and "+" not in token
    assert cursors.read(LISTING, token) == cursors.Cursor(after, 400)
    assert cursors.read(cursors.Listing(7, "/big/sub/", recursive=False), token) == position


@pytest.mark.parametrize(
    "other",
    [
        cursors.Listing(8, "big/sub", recursive=False),
        cursors.Listing(7, "big", recursive=False),
        cursors.Listing(7, "big/sub", recursive=True),
    ],
)
def test_a_cursor_is_refused_by_another_listing(other: cursors.Listing) -> None:
    token = cursors.issue(LISTING, cursors.START.then("f0001.txt", 1))
    with pytest.raises(InvalidInputError, match="not issued for this listing"):
        cursors.read(other, token)


@pytest.mark.parametrize("token", ["", "f0001.txt", "%%%", "é", "A" * 40, "AAAA" * 3])
def test_a_token_never_issued_is_refused(token: str) -> None:
    with pytest.raises(InvalidInputError, match="not issued for this listing"):
        cursors.read(LISTING, token)


def test_every_changed_character_is_refused() -> None:
    token = cursors.issue(LISTING, cursors.START.then("f0001.txt", 1))
    for i, char in enumerate(token):
        changed = token[:i] + ("B" if char != "B" else "C") + token[i + 1 :]
        with pytest.raises(InvalidInputError):
            cursors.read(LISTING, changed)
