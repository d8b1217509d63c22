"""Listing cursors: where the next page of a folder listing starts, as an opaque token.

A cursor carries the last path a page returned and how many entries came before the next
page, signed with COMMONS_SECRET_KEY for one listing (repo, folder, recursive or not). A
forged, altered or foreign cursor is refused instead of silently listing from somewhere else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

from modelcommons.config import get_settings
from modelcommons.errors import InvalidInputError

_MAC_BYTES = 16  # 128 bits: forging one is out of reach, and the URL stays short
_PURPOSE = b"listing-cursor"


@dataclass(frozen=True)
class Listing:
    """The one listing a cursor is valid for."""

    repo_id: int  # Repo.id: stable across renames, unlike the repo's name
    path: str
    recursive: bool


@dataclass(frozen=True)
class Cursor:
    """A position in a listing: `after` is the last path returned (None: the start), `shown`
    how many entries came before it."""

    after: str | None
    shown: int

    def then(self, last_path: str, count: int) -> Cursor:
        """The position after a page of `count` entries, read from here, that ended at
        `last_path`."""
        return Cursor(last_path, self.shown + count)


START = Cursor(None, 0)


def _mac(listing: Listing, payload: bytes) -> bytes:
    scope = f"{listing.repo_id}\0{listing.path.strip('/')}\0{int(listing.recursive)}\0"
    key = get_settings().secret_key.encode()
    message = _PURPOSE + b"\0" + scope.encode() + payload
    return hmac.new(key, message, hashlib.sha256).digest()[:_MAC_BYTES]


def issue(listing: Listing, cursor: Cursor) -> str:
    """The token a next-page link carries (URL-safe base64, no padding)."""
    if cursor.after is None:
        raise ValueError("The start of a listing needs no cursor.")
    payload = f"{cursor.shown}\n{cursor.after}".encode()
    token = base64.urlsafe_b64encode(_mac(listing, payload) + payload)
    return token.rstrip(b"=").decode("ascii")


def read(listing: Listing, token: str) -> Cursor:
    """The position a token issued for `listing` names; anything else is an InvalidInputError."""
    refused = InvalidInputError(
        "This cursor was not issued for this listing (or the hub's secret key changed): "
        "start the listing again without 'cursor'."
    )
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii") + b"=" * (-len(token) % 4))
    except (UnicodeEncodeError, binascii.Error, ValueError) as exc:
        raise refused from exc
    mac, payload = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
    if len(mac) < _MAC_BYTES or not hmac.compare_digest(mac, _mac(listing, payload)):
        raise refused
    # Signed by us, so well formed: a count, a newline, the path (which may hold newlines).
    shown, _, after = payload.decode().partition("\n")
    return Cursor(after=after, shown=int(shown))
