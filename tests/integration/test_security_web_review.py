"""A hostile stranger's review of the web pages: what it found still open after issue 12,
each driven over HTTP as a browser (or a script posing as one) would."""

from __future__ import annotations

import time
import uuid
import warnings
from collections.abc import Iterator

import httpx
import pytest
from huggingface_hub import HfApi

from tests.integration.conftest import User
from tests.integration.web_client import HTML, Browser

pytestmark = pytest.mark.web
MiB = 1024 * 1024


@pytest.fixture
def web(hub: str) -> Browser:
    return Browser(hub)


def _multipart(parts: list[tuple[str, str | None, int]]) -> Iterator[bytes]:
    """A multipart body sent in chunks, so it declares no length: (field, filename, MiB)."""
    for field, filename, size in parts:
        name = f'; filename="{filename}"' if filename is not None else ""
        yield f'--b\r\nContent-Disposition: form-data; name="{field}"{name}\r\n\r\n'.encode()
        for _ in range(size):
            yield b"a" * MiB
        yield b"\r\n"
    yield b"--b--\r\n"


def _post_chunked(
    hub: str, path: str, parts: list[tuple[str, str | None, int]], **kw
) -> httpx.Response:
    headers = {**HTML, "Content-Type": "multipart/form-data; boundary=b", **kw.pop("headers", {})}
    return httpx.post(hub + path, content=_multipart(parts), headers=headers, timeout=60, **kw)


def test_anonymous_form_bodies_are_bounded_as_they_arrive(hub: str):
    """Before: only a declared Content-Length was checked, against the upload limit, so an
    anonymous chunked multipart body to /login was read whole before its CSRF check, its
    text fields in memory (900 MB of fields took the server from 115 MB to 700 MB) and its
    files spooled to disk."""
    started = time.monotonic()
    fields = _post_chunked(hub, "/login", [(f"f{i}", None, 1) for i in range(40)])
    assert fields.status_code == 413, fields.text[:300]
    assert "exceeds the limit" in fields.text

    spooled = _post_chunked(hub, "/login", [("f", "x.bin", 200)])
    assert spooled.status_code in (400, 413), spooled.text[:300]
    assert time.monotonic() - started < 20

    # A form of the right size still reaches its CSRF check.
    small = _post_chunked(hub, "/login", [("username", None, 0)])
    assert small.status_code == 403


def test_a_form_that_uploads_nothing_takes_no_files(web: Browser):
    name = web.sign_up()
    response = web.client.post(
        "/organizations/new",
        data={"csrf": web.csrf(), "name": "o" + name[1:]},
        files={"f": ("x.bin", b"x" * 1000)},
    )
    assert response.status_code == 400


def test_uploads_through_the_form_still_work(web: Browser):
    name = web.sign_up()
    web.new_repo(name, "up")
    response = web.client.post(
        f"/{name}/up/upload",
        data={"csrf": web.csrf(), "folder": "docs", "summary": "two files"},
        files=[("files", ("a.txt", b"alpha")), ("files", ("b.bin", b"\0" * (2 * MiB)))],
    )
    assert response.status_code == 303, response.text[:500]
    tree = web.client.get(f"/{name}/up/tree/main/docs").text
    assert "a.txt" in tree and "b.bin" in tree
    for folder in (".github/workflows", ".gitlab"):  # names near .git stay allowed
        response = web.client.post(
            f"/{name}/up/upload",
            data={"csrf": web.csrf(), "folder": folder},
            files={"files": (".gitkeep", b"")},
        )
        assert response.status_code == 303, response.text[:500]


def _edit(web: Browser, repo: str, card: str) -> httpx.Response:
    return web.post(f"/{repo}/edit", {"content": card})


@pytest.mark.parametrize(
    "front_matter",
    [
        "tags: 5\nlanguage: true",
        "tags: [[1, 2], {b: 3}]\nlanguage: [[1], {a: 1}]",
        "tags: {a: 1}\nlanguage: 7",
    ],
)
def test_front_matter_of_any_shape_keeps_the_repo_page(web: Browser, front_matter: str):
    """Before: `language: true` or a nested `tags` list made the repo page a 500 for everyone."""
    name = web.sign_up()
    web.new_repo(name, "odd")
    assert _edit(web, f"{name}/odd", f"---\n{front_matter}\n---\n# Odd\n").status_code == 303
    page = web.client.get(f"/{name}/odd")
    assert page.status_code == 200, page.text[:300]
    assert "Odd" in page.text
    anonymous = httpx.get(f"{web.client.base_url}/{name}/odd", headers=HTML)
    assert anonymous.status_code == 200


def test_front_matter_that_json_cannot_store_keeps_the_commit(web: Browser):
    """Before: YAML's dates and binary in a card made the commit a 500 (through the card
    editor and the API alike): the indexed front matter could not be stored as JSON."""
    name = web.sign_up()
    web.new_repo(name, "dated")
    card = "---\nlicense: mit\ndate: 2024-05-01\nreleased: 2024-05-01 10:00:00\nx: .inf\n---\n# D\n"
    assert _edit(web, f"{name}/dated", card).status_code == 303
    page = web.client.get(f"/{name}/dated")
    assert page.status_code == 200 and "mit" in page.text
    api = httpx.get(f"{web.client.base_url}/api/models/{name}/dated").json()
    assert api["cardData"]["date"] == "2024-05-01"

    binary = "---\nlicense: mit\nblob: !!binary aGVsbG8=\n---\n# B\n"
    assert _edit(web, f"{name}/dated", binary).status_code == 303
    page = web.client.get(f"/{name}/dated")
    assert page.status_code == 200
    assert "not indexed" in page.text  # the owner is told why


@pytest.mark.parametrize(
    "path", ["a/.git/config", ".GIT/hooks/post-checkout", ".Git/config", "x/.git./hooks/y"]
)
def test_git_folders_are_refused_at_any_depth_and_in_any_case(web: Browser, path: str):
    """Before: only a first segment spelled `.git` was refused; `.GIT/hooks/post-checkout`
    lands in `.git/hooks` when a clone or `hf download --local-dir` writes it on macOS or
    Windows, and git refuses to check out a tree holding either."""
    name = web.sign_up()
    web.new_repo(name, "hooks")
    folder, _, filename = path.rpartition("/")
    response = web.client.post(
        f"/{name}/hooks/upload",
        data={"csrf": web.csrf(), "folder": folder},
        files={"files": (filename, b"#!/bin/sh\necho owned\n")},
    )
    assert response.status_code == 400, response.text[:300]
    assert ".git is reserved" in response.text
    tree = httpx.get(f"{web.client.base_url}/api/models/{name}/hooks/tree/main?recursive=1")
    assert [e["path"] for e in tree.json()] == [".gitattributes"]


def test_commit_messages_are_bounded_for_the_pages_that_list_them(web: Browser, hub: str):
    """Before: a 1 MB summary per commit made a repo's history page 50 MB for every view."""
    name = web.sign_up()
    web.new_repo(name, "talk")
    long = web.post(f"/{name}/talk/edit", {"content": "# Mine", "summary": "S" * 1001})
    assert long.status_code == 400 and "at most 1,000 characters" in long.text
    assert "# Mine" in long.text  # the card typed is kept
    fine = web.post(f"/{name}/talk/edit", {"content": "# Mine", "summary": "S" * 1000})
    assert fine.status_code == 303
    history = web.client.get(f"/{name}/talk/commits/main")
    assert history.status_code == 200 and "S" * 1000 in history.text


@pytest.mark.parametrize("filename", ["model\u202egnp.exe", "a\u2028b.txt", "a\x85b.txt"])
def test_file_names_that_read_as_other_names_are_refused(web: Browser, filename: str):
    """Before: a bidirectional override made `model\\u202egnp.exe` show as `modelexe.png` in
    every file list (C1 controls and line separators passed too)."""
    name = web.sign_up()
    web.new_repo(name, "names")
    token = web.csrf(f"/{name}/names/upload")
    body = (
        f'--b\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{token}\r\n'
        f'--b\r\nContent-Disposition: form-data; name="files"; filename="{filename}"\r\n\r\n'
        "MZ\r\n--b--\r\n"
    ).encode()
    response = web.client.post(
        f"/{name}/names/upload",
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert response.status_code == 400, response.text[:300]
    assert "no control characters" in response.text


def test_a_card_with_many_results_cannot_exhaust_the_leaderboards(hub: str, alice: User):
    """Before: every leaderboard view joined each result to its model's row, card included,
    so one card of 15,000 results and 1.3 MB took the server past 20 GB (killed) on a single
    anonymous view of /leaderboards, and again on every view after (the 500 kB front matter
    allowed now still holds 10,000). A card's results are capped, each model read once."""
    rid = f"{alice.name}/many-{uuid.uuid4().hex[:6]}"
    api = HfApi(endpoint=hub, token=alice.token)
    api.create_repo(rid)
    metrics = ", ".join(f"{{type: m{i:04d}-{rid}, value: 0.5}}" for i in range(1500))
    card = (
        "---\n"
        f"padding: {'x' * 300_000}\n"
        "model-index:\n- name: many\n  results:\n  - task: {type: text-classification}\n"
        f"    dataset: {{name: lots, type: lots}}\n    metrics: [{metrics}]\n"
        "---\n# Many\n"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the client's card validation has opinions
        api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=rid)
    started = time.monotonic()
    page = httpx.get(f"{hub}/leaderboards", headers=HTML, timeout=120)
    assert page.status_code == 200
    assert time.monotonic() - started < 5
    info = httpx.get(f"{hub}/api/models/{rid}").json()
    assert page.text.count(f"-{rid}</a>") == 1000, info.get("cardError")


def test_small_files_held_in_memory_by_one_upload_are_bounded(web: Browser):
    """Before: text files under 10 MiB go into git whole, and the form kept every one in
    memory until its commit, up to the upload limit (50 GB by default) in one request."""
    name = web.sign_up()
    web.new_repo(name, "many")
    chunk = b"line of text\n" * (9 * MiB // 13)
    files = [("files", (f"part-{i:02d}.txt", chunk)) for i in range(15)]  # 135 MiB
    response = web.client.post(
        f"/{name}/many/upload", data={"csrf": web.csrf()}, files=files, timeout=120
    )
    assert response.status_code == 413, response.text[:300]
    assert "at most 128 MiB of small text files" in response.text
    fewer = web.client.post(
        f"/{name}/many/upload", data={"csrf": web.csrf()}, files=files[:3], timeout=120
    )
    assert fewer.status_code == 303


@pytest.mark.parametrize("token_id", ["99999999999999999999", "2147483648", "0"])
def test_revoking_a_token_by_an_impossible_id_is_a_404(web: Browser, token_id: str):
    """Before: an id past the database's integer made the revoke form a 500."""
    web.sign_up()
    response = web.post(f"/settings/tokens/{token_id}/delete", {})
    assert response.status_code == 404
