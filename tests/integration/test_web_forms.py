"""The web's forms over plain HTTP: CSRF, cookies, refusals that lose nothing, redirects."""

from __future__ import annotations

import html
import re
import socket
import uuid

import httpx
import pytest
from huggingface_hub import HfApi

from tests.integration.conftest import User
from tests.integration.web_client import HTML, PASSWORD, Browser

pytestmark = pytest.mark.web


@pytest.fixture
def browser(hub: str) -> Browser:
    return Browser(hub)


def test_session_and_csrf_cookies_are_locked_down(browser: Browser):
    browser.csrf()
    csrf_cookie = browser.client.get("/").headers.get("set-cookie") or ""
    assert csrf_cookie == ""  # set once, not on every page
    name = "f" + uuid.uuid4().hex[:10]
    response = browser.post("/signup", {"username": name, "password": PASSWORD})
    cookie = response.headers["set-cookie"].lower()
    assert "mc_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert response.headers["location"] == f"/{name}"


def test_forms_without_the_csrf_token_are_refused(browser: Browser, hub: str):
    name = browser.sign_up()
    for data in ({}, {"csrf": "forged"}):
        response = browser.client.post("/new", data={"owner": name, "name": "x", **data})
        assert response.status_code == 403
        assert "another site" in response.text
    # Another site's form arrives without our cookie: refused as well.
    stranger = httpx.post(f"{hub}/logout", data={"csrf": browser.csrf()}, headers=HTML)
    assert stranger.status_code == 403
    assert browser.client.get("/new").status_code == 200  # still logged in


def test_bad_sign_ups_say_why_and_keep_what_was_typed(browser: Browser, alice: User):
    for name, password, status, message in (
        (alice.name, PASSWORD, 409, "already taken"),
        ("bad name!", PASSWORD, 400, "Invalid namespace"),
        ("settings", PASSWORD, 400, "reserved"),
        ("f" + uuid.uuid4().hex[:8], "short", 400, "8 characters"),
    ):
        response = browser.post("/signup", {"username": name, "password": password})
        assert response.status_code == status, (name, response.text)
        assert message in response.text
        assert 'role="alert"' in response.text
        assert f'value="{html.escape(name)}"' in response.text  # what was typed is kept


def test_login_redirects_only_within_the_hub(browser: Browser, hub: str):
    name = browser.sign_up()
    fresh = Browser(hub)
    for target, expected in (("/models", "/models"), ("//evil.example", "/"), ("https://x", "/")):
        response = fresh.post("/login", {"username": name, "password": PASSWORD, "next": target})
        assert response.status_code == 303 and response.headers["location"] == expected


def test_stale_card_edit_is_refused_and_the_text_kept(browser: Browser, hub: str):
    name = browser.sign_up()
    repo = f"{name}/card"
    browser.new_repo(name, "card")
    edit_page = browser.client.get(f"/{repo}/edit").text
    parent = re.search(r'name="parent" value="([0-9a-f]{40})"', edit_page)
    assert parent
    token = browser.post("/settings/tokens", {"name": "t", "role": "write"}).text
    secret = re.search(r'id="new-token" class="token">([^<]+)<', token)
    assert secret
    HfApi(endpoint=hub, token=secret.group(1)).upload_file(
        path_or_fileobj=b"meanwhile", path_in_repo="other.txt", repo_id=repo
    )
    mine = "# My careful card\n\nTyped for an hour."
    response = browser.post(f"/{repo}/edit", {"content": mine, "parent": parent.group(1)})
    assert response.status_code == 412
    assert "moved" in response.text and "Typed for an hour." in response.text


def test_settings_refuse_wrong_confirmation_and_strangers(browser: Browser, hub: str):
    name = browser.sign_up()
    browser.new_repo(name, "keep")
    response = browser.post(f"/{name}/keep/settings", {"action": "delete", "confirm": "keep"})
    assert response.status_code == 400 and f"Type {name}/keep exactly" in response.text
    assert browser.client.get(f"/{name}/keep").status_code == 200

    stranger = Browser(hub)
    stranger.sign_up()
    assert stranger.client.get(f"/{name}/keep/settings").status_code == 403
    response = stranger.post(
        f"/{name}/keep/settings", {"action": "delete", "confirm": f"{name}/keep"}
    )
    assert response.status_code == 403
    assert browser.client.get(f"/{name}/keep").status_code == 200


def test_rename_keeps_the_old_address_working(browser: Browser):
    name = browser.sign_up()
    assert (
        browser.post("/new", {"owner": name, "name": "old", "type": "dataset"}).status_code == 303
    )
    response = browser.post(f"/datasets/{name}/old/settings", {"action": "rename", "new_id": "new"})
    assert response.status_code == 303 and response.headers["location"] == f"/datasets/{name}/new"
    old = browser.client.get(f"/datasets/{name}/old")
    assert old.status_code == 301 and old.headers["location"] == f"/datasets/{name}/new"


def test_upload_over_the_limit_is_refused_before_its_body_is_read(browser: Browser, hub: str):
    name = browser.sign_up()
    browser.new_repo(name, "big")
    cookies = "; ".join(f"{k}={v}" for k, v in browser.client.cookies.items())
    head = (
        f"POST /{name}/big/upload HTTP/1.1\r\nHost: {hub.removeprefix('http://')}\r\n"
        f"Cookie: {cookies}\r\nAccept: text/html\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\n"
        f"Content-Length: {601 * 1000**2}\r\n\r\n"  # over the test hub's 600 MB limit
    )
    host, port = hub.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(head.encode() + b"--b\r\n")  # only the start of a huge body
        status_line = connection.recv(200).split(b"\r\n", 1)[0]
    assert status_line == b"HTTP/1.1 413 Request Entity Too Large"


def test_unknown_pages_get_a_helpful_404_and_clients_get_json(hub: str):
    page = httpx.get(f"{hub}/no-such-user/no-such-repo", headers=HTML)
    assert page.status_code == 404 and "Search models" in page.text
    api = httpx.get(f"{hub}/api/models/no-such-user/no-such-repo", headers=HTML)
    assert api.status_code == 404 and api.json()["error"]


def test_tune_and_evaluate_forms_queue_jobs_their_owner_can_watch(browser: Browser, hub: str):
    name = browser.sign_up()
    browser.new_repo(name, "encoder")
    form = browser.client.get(f"/{name}/encoder/tune")
    assert form.status_code == 200 and 'name="data"' in form.text
    bad = browser.post(
        f"/{name}/encoder/tune",
        {"task": "text-classification", "method": "logistic-regression", "data": "x/y"},
    )
    assert bad.status_code == 400 and "does not apply to text-classification" in bad.text
    missing = browser.post(f"/{name}/encoder/evaluate", {"dataset": f"{name}/no-such-data"})
    assert missing.status_code == 404 and "no-such-data" in missing.text

    browser.new_repo(name, "data", "dataset")
    queued = browser.post(f"/{name}/encoder/evaluate", {"dataset": f"{name}/data"})
    assert queued.status_code == 303 and queued.headers["location"].startswith("/jobs/")
    job_page = browser.client.get(queued.headers["location"])
    assert job_page.status_code == 200 and f"{name}/encoder" in job_page.text
    assert browser.client.get("/jobs").text.count('href="/jobs/') == 1

    stranger = Browser(hub)
    stranger.sign_up()
    assert stranger.client.get(queued.headers["location"]).status_code == 404


def test_publishing_forms_refuse_bad_input_with_the_reason(browser: Browser):
    name = browser.sign_up()
    for data, status, words in (
        ({"owner": name, "name": "x", "type": "space"}, 400, "model or a dataset"),
        ({"owner": name, "name": "bad name", "type": "model"}, 400, "Invalid repo name"),
        ({"owner": "someone-else", "name": "x", "type": "model"}, 403, "no write access"),
        ({"owner": name, "name": "y", "type": "model", "license": "made-up"}, 400, "Unknown"),
    ):
        response = browser.post("/new", data)
        assert response.status_code == status and words in response.text, (data, response.text)
    assert browser.client.get(f"/{name}/y").status_code == 404  # refused before creating it
    browser.new_repo(name, "files")
    empty = browser.client.post(
        f"/{name}/files/upload", data={"csrf": browser.csrf()}, files={"files": ("", b"")}
    )
    assert empty.status_code == 400 and "Choose at least one file" in empty.text
    escape = browser.client.post(
        f"/{name}/files/upload",
        data={"csrf": browser.csrf(), "folder": "../outside"},
        files={"files": ("a.txt", b"a")},
    )
    assert (
        escape.status_code == 400
        and "a.txt" not in browser.client.get(f"/{name}/files/tree/main").text
    )
    settings = browser.post(f"/{name}/files/settings", {"action": "explode"})
    assert settings.status_code == 400 and "Unknown action" in settings.text


def test_organizations_are_made_and_managed_in_the_browser(browser: Browser, hub: str):
    owner = browser.sign_up()
    colleague_browser = Browser(hub)
    colleague = colleague_browser.sign_up()
    org = "org" + uuid.uuid4().hex[:8]
    created = browser.post("/organizations/new", {"name": org, "fullname": "A Lab"})
    assert created.status_code == 303 and created.headers["location"] == f"/{org}"
    assert browser.post("/organizations/new", {"name": org}).status_code == 409

    added = browser.post(f"/organizations/{org}/members", {"user": colleague, "role": "write"})
    assert added.status_code == 303
    page = browser.client.get(f"/{org}").text
    assert f'href="/{colleague}"' in page and "Save member" in page
    # The colleague may now publish under the organization, but not manage it.
    colleague_browser.new_repo(org, "shared")
    refused = colleague_browser.post(
        f"/organizations/{org}/members", {"user": colleague, "role": "admin"}
    )
    assert refused.status_code == 403 and "Only admins" in refused.text
    assert "Save member" not in colleague_browser.client.get(f"/{org}").text
    # The last admin cannot leave or be demoted; a member can be removed.
    last = browser.post(f"/organizations/{org}/members", {"user": owner, "action": "remove"})
    assert last.status_code == 409 and "last admin" in last.text
    gone = browser.post(f"/organizations/{org}/members", {"user": colleague, "action": "remove"})
    assert gone.status_code == 303
    assert f'href="/{colleague}"' not in browser.client.get(f"/{org}").text
