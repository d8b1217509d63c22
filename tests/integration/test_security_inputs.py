"""Hostile input gets a clear 4xx, never a 500 or a dropped connection: bounded request
bodies and headers, bodies that go silent, numbers too big for the database, queries too big
to run, control characters and lone surrogates."""

from __future__ import annotations

import base64
import json
import os
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi

from modelcommons.cli.bootstrap import CREDENTIALS_FILE, read_credentials
from tests.cluster import free_port, serve

BIG = "99999999999999999999"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _refused(r: httpx.Response, status: int | None = None) -> str:
    """The answer is a 4xx with an {"error": ...} body; returns the message."""
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    if status is not None:
        assert r.status_code == status, (r.status_code, r.text)
    assert r.json()["error"], r.text
    return r.json()["error"]


@pytest.fixture(scope="module")
def model(hub, alice) -> str:
    repo_id = f"{alice.name}/inputs-{uuid.uuid4().hex[:6]}"
    api = HfApi(endpoint=hub, token=alice.token)
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=b"hello", path_in_repo="a.txt", repo_id=repo_id)
    return repo_id


# Numbers too large for the database


def test_job_id_too_large(hub, alice):
    _refused(httpx.get(f"{hub}/api/jobs/{BIG}", headers=_auth(alice.token)), 404)


def test_job_token_with_a_huge_id(hub):
    r = httpx.get(f"{hub}/api/whoami-v2", headers=_auth(f"job1.{BIG}.x"))
    _refused(r, 401)


@pytest.mark.parametrize("path", ["/api/models?offset=" + BIG, "/api/datasets?offset=" + BIG])
def test_offset_too_large(hub, path):
    assert "offset" in _refused(httpx.get(hub + path), 400)


@pytest.mark.parametrize("number", [BIG, "9" * 5000, "\u00b2", "\u0663"])
@pytest.mark.parametrize("page", ["/models?page=", "/{repo}/commits/main?p="])
def test_page_numbers_that_are_not_small_whole_numbers(hub, model, page, number):
    url = hub + page.format(repo=model) + number
    assert "whole number" in _refused(httpx.get(url), 400)


# Queries too big to run


def test_too_many_search_words(hub):
    words = " ".join(f"w{i}" for i in range(1500))
    assert "words" in _refused(httpx.get(f"{hub}/api/models", params={"search": words}), 400)


def test_too_many_filter_values(hub):
    # Over the cap, under proxies' URI limits. A tuple: httpx's params type accepts a tuple of
    # pairs of str, but not a list of them (lists are invariant).
    filters = tuple(("filter", f"f{i}") for i in range(150))
    assert "Filter" in _refused(httpx.get(f"{hub}/api/models", params=filters), 400)


# Control characters: answered, with a header the connection survives


@pytest.mark.parametrize(
    "url",
    [
        "/{repo}/resolve/main/a%0D%0Ab.txt",
        "/{repo}/resolve/main/a%01b.txt",
        "/{repo}/resolve/ma%0D%0Ain/a.txt",
        "/api/models/{repo}/revision/ma%0D%0Ain",
        "/api/models/{repo}/tree/main/x%0D%0Ay",
        "/api/models/{repo}/tree/m%E2%82%AC%0D/x",
    ],
)
def test_control_characters_in_paths_and_revisions(hub, alice, model, url):
    with httpx.Client(base_url=hub, headers=_auth(alice.token)) as client:
        r = client.get(url.format(repo=model))
        _refused(r, 404)
        message = r.headers["X-Error-Message"]
        assert message.isprintable() and "\r" not in message
        assert client.get(f"/api/models/{model}").status_code == 200  # same connection


def test_control_characters_in_a_branch_name(hub, alice, model):
    r = httpx.post(f"{hub}/api/models/{model}/branch/a%0D%0Ab", json={}, headers=_auth(alice.token))
    assert "Invalid branch" in _refused(r, 400)
    refs = httpx.get(f"{hub}/api/models/{model}/refs", headers=_auth(alice.token)).json()
    assert [b["name"] for b in refs["branches"]] == ["main"]


def test_control_characters_in_a_field_name(hub, alice, model):
    lines = [
        {"key": "header", "value": {"summary": "s", "description": ""}},
        {"key": "fi\r\nle", "value": {"content": "eA=="}},  # named in the error as it is
    ]
    r = httpx.post(
        f"{hub}/api/models/{model}/commit/main",
        content="\n".join(json.dumps(line) for line in lines).encode(),
        headers={**_auth(alice.token), "Content-Type": "application/x-ndjson"},
    )
    _refused(r, 400)
    assert "\n" not in r.headers["X-Error-Message"]


# JSON bodies: malformed, not an object, too deep, lone surrogates


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"paths"', b"\xff\xfe"])
@pytest.mark.parametrize(
    "route, content_type",
    [
        ("/api/models/{repo}/paths-info/main", "application/json"),
        ("/{repo}.git/info/lfs/objects/batch", "application/vnd.git-lfs+json"),
    ],
)
def test_malformed_or_non_object_json(hub, alice, model, route, content_type, body):
    r = httpx.post(
        hub + route.format(repo=model),
        content=body,
        headers={**_auth(alice.token), "Content-Type": content_type},
    )
    _refused(r, 400)


def test_paths_info_wants_a_list_of_strings(hub, alice, model):
    r = httpx.post(
        f"{hub}/api/models/{model}/paths-info/main",
        json={"paths": ["a.txt", 5]},
        headers=_auth(alice.token),
    )
    assert "list of strings" in _refused(r, 400)


@pytest.mark.parametrize("depth", [100, 10_000])
def test_deeply_nested_json(hub, alice, depth):
    body = b'{"name": "x", "a": ' + b"[" * depth + b"]" * depth + b"}"
    r = httpx.post(
        f"{hub}/api/repos/create",
        content=body,
        headers={**_auth(alice.token), "Content-Type": "application/json"},
    )
    _refused(r, 400)


@pytest.mark.parametrize(
    "body",
    ['{{"\\ud800": 1, "name": "{name}"}}', '{{"name": "{name}", "organization": "\\udfff"}}'],
)
def test_lone_surrogates_in_json(hub, alice, body):
    name = f"{alice.name}/surrogate-{uuid.uuid4().hex[:6]}"
    r = httpx.post(
        f"{hub}/api/repos/create",
        content=body.format(name=name).encode(),
        headers={**_auth(alice.token), "Content-Type": "application/json"},
    )
    assert "surrogate" in _refused(r, 400)
    assert httpx.get(f"{hub}/api/models/{name}", headers=_auth(alice.token)).status_code == 404


def test_lone_surrogate_in_paths_info(hub, alice, model):
    r = httpx.post(
        f"{hub}/api/models/{model}/paths-info/main",
        content=b'{"paths": ["\\ud800"]}',
        headers={**_auth(alice.token), "Content-Type": "application/json"},
    )
    assert "surrogate" in _refused(r, 400)


# A hub with small limits: body size, silent bodies, header size

JSON_CAP, BODY_TIMEOUT, HEADER_CAP = 2000, 1.0, 8192


@pytest.fixture(scope="module")
def small_hub() -> Iterator[tuple[str, str]]:
    home = Path(tempfile.mkdtemp(prefix="commons-limits-"))
    env = {
        **os.environ,
        "COMMONS_HOME": str(home),
        "COMMONS_DATABASE_URL": f"sqlite:///{home}/commons.db",
        "COMMONS_RUN_WORKER": "0",
        "COMMONS_MAX_JSON_BYTES": str(JSON_CAP),
        "COMMONS_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
        "COMMONS_MAX_HEADER_BYTES": str(HEADER_CAP),
    }
    with serve(free_port(), env, home / "server.log") as url:
        yield url, read_credentials(home / CREDENTIALS_FILE)["token"]


def _raw(url: str, head: bytes, body: bytes = b"", *, wait: float = 0) -> bytes:
    """Send a request by hand and read until the server closes or 10 s pass."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head + body)
        time.sleep(wait)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except TimeoutError:
            pass
        return answer


def test_json_body_over_the_cap_by_content_length(small_hub):
    url, token = small_hub
    head = (
        b"POST /api/repos/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + token.encode() + b"\r\nContent-Length: 1000000000\r\n\r\n"
    )
    answer = _raw(url, head, b'{"name": "admin/x", ')  # the rest never comes: no need
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"limit of 2,000 bytes" in answer


@pytest.mark.parametrize("content_type", ["application/json", None])
def test_chunked_json_body_over_the_cap(small_hub, content_type):
    url, token = small_hub

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "admin/chunked", "pad": "'
        for _ in range(100):
            yield b"x" * 100
        yield b'"}'

    headers = {**_auth(token), **({"Content-Type": content_type} if content_type else {})}
    r = httpx.post(f"{url}/api/repos/create", content=chunks(), headers=headers)
    assert "limit of 2,000 bytes" in _refused(r, 413)
    assert httpx.get(f"{url}/api/models/admin/chunked", headers=_auth(token)).status_code == 404


def test_lfs_batch_without_content_type_is_capped(small_hub):
    url, token = small_hub
    r = httpx.post(
        f"{url}/admin/none.git/info/lfs/objects/batch",
        content=b'{"operation": "download", "objects": []' + b" " * 5000 + b"}",
        headers=_auth(token),
    )
    _refused(r, 413)


def test_silent_body_is_cut(small_hub):
    url, token = small_hub
    head = (
        b"POST /api/repos/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + token.encode() + b"\r\nContent-Length: 100\r\n\r\n"
    )
    started = time.monotonic()
    answer = _raw(url, head, b'{"name": ')  # then nothing: the server must not wait forever
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"connection: close" in answer.lower()
    assert time.monotonic() - started < BODY_TIMEOUT + 5


def test_slow_but_steady_body_is_not_cut(small_hub):
    url, token = small_hub
    name = f"admin/steady-{uuid.uuid4().hex[:6]}"

    def steady() -> Iterator[bytes]:
        body = json.dumps({"name": name}).encode()
        for i in range(0, len(body), 8):
            time.sleep(BODY_TIMEOUT * 0.6)  # slower in total than the timeout, never silent
            yield body[i : i + 8]

    headers = {**_auth(token), "Content-Type": "application/json"}
    r = httpx.post(f"{url}/api/repos/create", content=steady(), headers=headers)
    assert r.status_code == 200, r.text


def test_oversized_headers_are_refused(small_hub):
    url, _ = small_hub
    big = b"X-Padding: " + b"a" * (2 * HEADER_CAP) + b"\r\n"
    answer = _raw(url, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert httpx.get(f"{url}/healthz", headers={"X-Padding": "a" * (HEADER_CAP // 2)}).is_success


def test_base64_commit_is_not_the_json_cap(small_hub):
    """A commit's NDJSON with a base64 file bigger than the JSON cap goes through."""
    url, token = small_hub
    repo_id = HfApi(endpoint=url, token=token).create_repo("admin/b64").repo_id
    lines = [
        {"key": "header", "value": {"summary": "s", "description": ""}},
        {
            "key": "file",
            "value": {
                "path": "b.bin",
                "content": base64.b64encode(b"\x01" * (2 * JSON_CAP)).decode(),
                "encoding": "base64",
            },
        },
    ]
    r = httpx.post(
        f"{url}/api/models/{repo_id}/commit/main",
        content="\n".join(json.dumps(line) for line in lines).encode(),
        headers={**_auth(token), "Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 200, r.text


# Small leaks: what a public repo's pages say about private ones


def test_license_check_does_not_reveal_a_private_base(hub, alice, bob):
    from tests.integration.cards import card, publish, unique

    owner = HfApi(endpoint=hub, token=alice.token)
    base, child = unique(alice, "hidden-base"), unique(alice, "open-child")
    owner.create_repo(base, private=True)
    owner.upload_file(path_or_fileobj=card("cc-by-nc-4.0"), path_in_repo="README.md", repo_id=base)
    publish(owner, child, card("mit", base, "finetune"))

    mine = httpx.get(f"{hub}/api/models/{child}/license-check", headers=_auth(alice.token)).json()
    assert mine["status"] == "flagged" and base in str(mine) and "cc-by-nc-4.0" in str(mine)
    for headers in (_auth(bob.token), {}):
        theirs = httpx.get(f"{hub}/api/models/{child}/license-check", headers=headers).json()
        assert theirs["status"] == "flagged"  # the license binds, seen or not
        assert base not in str(theirs) and "cc-by-nc" not in str(theirs)
        assert "a base you cannot see" in " ".join(theirs["reasons"])
        lineage = httpx.get(f"{hub}/api/models/{child}/lineage", headers=headers).json()
        assert base not in str(lineage["licenseCheck"]) and "cc-by-nc" not in str(lineage)
    page = httpx.get(f"{hub}/{child}", headers={"Accept": "text/html"}).text
    panel = page[page.index('id="license-h"') :].split("</section>")[0]
    assert "a base you cannot see" in panel and "cc-by-nc" not in panel and base not in panel


def test_evaluations_do_not_reveal_a_private_datasets_new_name(hub, alice, bob):
    from tests.integration.cards import card, publish, unique

    owner = HfApi(endpoint=hub, token=alice.token)
    dataset, model = unique(alice, "secret-bench"), unique(alice, "scored")
    owner.create_repo(dataset, repo_type="dataset", private=True)
    index = (
        "model-index:\n- name: m\n  results:\n  - task: {type: text-classification}\n"
        f"    dataset: {{name: bench, type: {dataset}, split: test}}\n"
        "    metrics:\n    - {type: accuracy, value: 0.5}\n"
    )
    publish(owner, model, card("mit", extra=index))
    renamed = dataset + "-v2"
    owner.move_repo(dataset, renamed, repo_type="dataset")
    publish(owner, model, card("mit", extra=index + "# again\n"))  # indexed after the rename

    for headers in (_auth(bob.token), {}):
        rows = httpx.get(f"{hub}/api/models/{model}/evaluations", headers=headers).json()
        assert [r["dataset"] for r in rows] == [dataset]  # the card's name
        boards = httpx.get(f"{hub}/api/leaderboards", headers=headers).text
        page = httpx.get(f"{hub}/{model}", headers={**headers, "Accept": "text/html"}).text
        assert renamed not in boards and renamed not in str(rows) and renamed not in page
    boards = httpx.get(f"{hub}/api/leaderboards", headers=_auth(alice.token)).json()
    assert any(b["dataset"] == renamed for b in boards)  # its owner sees where it went


@pytest.mark.parametrize(
    "line",
    [
        '{"key": "file", "value": {"path": "\\ud800.txt", "content": "eA=="}}',
        '{"key": "\\udfff", "value": {"content": "eA=="}}',
        '{"key": "file", "value": ' + "[" * 100_000 + "]" * 100_000 + "}",
    ],
    ids=["surrogate-path", "surrogate-key", "deep"],
)
def test_hostile_ndjson_lines(hub, alice, model, line):
    header = '{"key": "header", "value": {"summary": "s", "description": ""}}'
    r = httpx.post(
        f"{hub}/api/models/{model}/commit/main",
        content=f"{header}\n{line}".encode(),
        headers={**_auth(alice.token), "Content-Type": "application/x-ndjson"},
    )
    assert "Malformed NDJSON" in _refused(r, 400)


@pytest.mark.parametrize("gated", [5, [], {}, "yes"])
def test_gated_must_be_one_of_the_hubs_values(hub, alice, model, gated):
    r = httpx.put(
        f"{hub}/api/models/{model}/settings", json={"gated": gated}, headers=_auth(alice.token)
    )
    assert "'gated' must be" in _refused(r, 400)
