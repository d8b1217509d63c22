"""Signed, expiring URLs: LFS part PUTs carry no Authorization header, so the URL is the
credential. HMAC-SHA256 over the purpose and parameters with COMMONS_SECRET_KEY."""

from __future__ import annotations

import hashlib
import hmac
import time

from modelcommons.config import get_settings
from modelcommons.errors import UnauthorizedError

DEFAULT_TTL = 24 * 3600
MAX_EXP_DIGITS = 12  # seconds since 1970, for the next 30,000 years


def _mac(message: str) -> str:
    key = get_settings().secret_key.encode()
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def sign(*parts: object, ttl: int = DEFAULT_TTL) -> dict[str, str]:
    """Query parameters (exp, sig) that make a URL carrying `parts` valid for `ttl` seconds."""
    expires = str(int(time.time()) + ttl)
    return {"exp": expires, "sig": _mac(":".join(map(str, (*parts, expires))))}


def verify(*parts: object, exp: str | None, sig: str | None) -> None:
    # ASCII digits of a plausible time only: isdigit() also passes '²', which int() refuses,
    # and int() refuses numbers of thousands of digits; either made the URL a 500.
    if not exp or not sig or not (exp.isascii() and exp.isdigit() and len(exp) <= MAX_EXP_DIGITS):
        raise UnauthorizedError("This URL is not signed.")
    if int(exp) < time.time():
        raise UnauthorizedError("This signed URL has expired; ask for a new one.")
    if not hmac.compare_digest(_mac(":".join(map(str, (*parts, exp)))), sig):
        raise UnauthorizedError("This URL's signature is invalid.")
