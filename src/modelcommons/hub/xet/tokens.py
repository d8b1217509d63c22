"""Short-lived CAS tokens: which repo, read or write, for whom, until when; signed with the
secret key.

The hub hands them out (xet-read-token / xet-write-token) to users who may read or write the
repo; the CAS routes accept nothing else. A write token names its user, so that the files a
shard registers count as that user's uploads to that repo (see hub.lfs).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from modelcommons.config import get_settings
from modelcommons.errors import PermissionDeniedError, UnauthorizedError
from modelcommons.hub.accounts import Scope, parse_scope

TTL_SECONDS = 3600
PREFIX = "xet1"


@dataclass(frozen=True)
class CasGrant:
    repo_id: int
    scope: Scope
    expires: int
    user_id: int | None = None  # None: an anonymous reader

    def require(self, scope: Scope) -> None:
        if scope == "write" and self.scope != "write":
            raise PermissionDeniedError("This Xet token is read-only.")


def _mac(payload: str) -> str:
    key = get_settings().secret_key.encode()
    return hmac.new(key, f"{PREFIX}.{payload}".encode(), hashlib.sha256).hexdigest()


def issue(
    repo_id: int, scope: Scope, *, user_id: int | None = None, ttl: int = TTL_SECONDS
) -> tuple[str, int]:
    expires = int(time.time()) + ttl
    payload = base64.urlsafe_b64encode(
        json.dumps({"r": repo_id, "s": scope, "e": expires, "u": user_id}).encode()
    ).decode()
    return f"{PREFIX}.{payload}.{_mac(payload)}", expires


def verify(token: str) -> CasGrant:
    try:
        prefix, payload, mac = token.split(".")
        if prefix != PREFIX or not hmac.compare_digest(_mac(payload), mac):
            raise ValueError
        claims = json.loads(base64.urlsafe_b64decode(payload))
        user = claims.get("u")
        grant = CasGrant(
            int(claims["r"]),
            parse_scope(str(claims["s"])),  # InvalidInputError is a ValueError
            int(claims["e"]),
            None if user is None else int(user),
        )
    except (ValueError, KeyError, TypeError):
        # from None: one answer for every forged or damaged token, whichever check failed
        raise UnauthorizedError("Invalid Xet token; ask the hub for a new one.") from None
    if grant.expires < time.time():
        raise UnauthorizedError("The Xet token has expired; ask the hub for a new one.")
    return grant
