"""An HTTP client that uses the pages as a browser would: it keeps cookies and fills in each
form's CSRF field. Cheaper than a real browser for tests of forms, refusals and limits."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

PASSWORD = "a long password"
HTML = {"Accept": "text/html"}
# Every client made, so that a fixture closes them when their test ends: left to the garbage
# collector, their sockets raise a ResourceWarning (an error under filterwarnings) in whichever
# test runs then.
OPEN: list[httpx.Client] = []


class Browser:
    """One browser; `address` picks its loopback source address (127.0.0.0/8 is all loopback
    on Linux), so tests of per-address limits can be many clients at once."""

    def __init__(self, hub: str, address: str | None = None) -> None:
        transport = httpx.HTTPTransport(local_address=address) if address else None
        self.client = httpx.Client(
            base_url=hub, headers=HTML, follow_redirects=False, transport=transport, timeout=60
        )
        OPEN.append(self.client)

    def csrf(self, page: str = "/login") -> str:
        match = re.search(r'name="csrf" value="([^"]+)"', self.client.get(page).text)
        assert match, f"no CSRF field on {page}"
        return match.group(1)

    def post(
        self, path: str, data: dict[str, str], page: str = "/login", **kwargs: Any
    ) -> httpx.Response:
        return self.client.post(path, data={"csrf": self.csrf(page), **data}, **kwargs)

    def sign_up(self, password: str = PASSWORD) -> str:
        name = "u" + uuid.uuid4().hex[:10]
        response = self.post("/signup", {"username": name, "password": password})
        assert response.status_code == 303, response.text
        return name

    def log_in(self, name: str, password: str = PASSWORD, **extra: str) -> httpx.Response:
        return self.post("/login", {"username": name, "password": password, **extra})

    def new_repo(self, owner: str, name: str, kind: str = "model") -> None:
        response = self.post("/new", {"owner": owner, "name": name, "type": kind})
        assert response.status_code == 303, response.text


def close_all() -> None:
    while OPEN:
        OPEN.pop().close()
