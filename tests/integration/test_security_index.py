"""A hostile user against issue 14's paged index: cursors, limits, paths-info, preupload,
history pages, the web file browser, commits that must be refused whole, and races."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
from huggingface_hub.errors import HfHubHTTPError

from tests.cluster import free_port, serve
from tests.integration.cli_runs import commons
from tests.integration.conftest import User


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _repo(api: HfApi, owner: User, files: dict[str, bytes], *, private: bool = False) -> str:
    rid = f"{owner.name}/ix-{uuid.uuid4().hex[:8]}"
    api.create_repo(rid, private=private)
    if files:
        api.create_commit(
            rid,
            operations=[CommitOperationAdd(p, d) for p, d in files.items()],
            commit_message="files",
        )
    return rid


def _tree(hub: str, rid: str, path: str = "", token: str | None = None, **params: str):
    url = f"{hub}/api/models/{rid}/tree/main" + (f"/{path}" if path else "")
    return httpx.get(url, params=params, headers=_auth(token))


def _cursor(response: httpx.Response) -> str:
    url = httpx.URL(response.links["next"]["url"])
    return url.params["cursor"]


def _head(api: HfApi, rid: str) -> str:
    return api.list_repo_refs(rid).branches[0].target_commit


FLAT = {f"f{i:03d}.txt": b"x" for i in range(6)} | {"d/a.txt": b"a", "d/b.txt": b"b"}


@pytest.fixture(scope="module")
def repos(hub: str, alice: User, bob: User) -> dict[str, str]:
    alice_api, bob_api = (
        HfApi(endpoint=hub, token=alice.token),
        HfApi(endpoint=hub, token=bob.token),
    )
    return {
        "mine": _repo(bob_api, bob, FLAT),
        "secret": _repo(alice_api, alice, FLAT, private=True),
    }


# --- other users' private repos ------------------------------------------------------------


def test_a_cursor_of_my_repo_reveals_nothing_of_a_private_one(hub, bob, repos):
    first = _tree(hub, repos["mine"], token=bob.token, limit="2")
    assert first.status_code == 200
    token = _cursor(first)
    for extra in ({}, {"cursor": token}, {"cursor": token, "limit": "1"}):
        r = _tree(hub, repos["secret"], token=bob.token, **extra)
        assert r.status_code == 404, r.text
        assert "error" in r.json()
        assert "f00" not in r.text


def test_a_cursor_of_a_repo_turned_private_stops_working(hub, alice, bob):
    api = HfApi(endpoint=hub, token=alice.token)
    rid = _repo(api, alice, FLAT)
    first = _tree(hub, rid, token=bob.token, limit="2")
    token = _cursor(first)
    api.update_repo_settings(rid, private=True)
    for who in (bob.token, None):
        r = _tree(hub, rid, token=who, cursor=token)
        assert r.status_code == 404, r.text
        assert "f00" not in r.text


def test_paths_info_preupload_history_and_pages_of_a_private_repo_are_404(hub, bob, repos):
    rid = repos["secret"]
    base = f"{hub}/api/models/{rid}"
    asks = [
        httpx.post(
            f"{base}/paths-info/main", json={"paths": ["f000.txt", "d"]}, headers=_auth(bob.token)
        ),
        httpx.post(
            f"{base}/preupload/main",
            json={"files": [{"path": "f000.txt", "size": 1, "sample": ""}]},
            headers=_auth(bob.token),
        ),
        httpx.get(f"{base}/commits/main", headers=_auth(bob.token)),
        httpx.get(f"{base}/commits/main", params={"p": "1000"}, headers=_auth(bob.token)),
    ]
    for r in asks:
        assert r.status_code in (401, 404), (r.request.url, r.status_code, r.text)
        assert "f000" not in r.text
    for path in ("/tree/main", "/tree/main/d", "/commits/main", "/blob/main/f000.txt"):
        r = httpx.get(f"{hub}/{rid}{path}", headers={"Accept": "text/html", **_auth(bob.token)})
        assert r.status_code == 404, (path, r.status_code)
        # The page may echo the URL asked for (a log-in link), never another name.
        assert "f001" not in r.text and "a.txt" not in r.text


def test_a_history_page_too_far_back_is_a_400_not_a_walk(hub, bob, repos):
    base = f"{hub}/api/models/{repos['mine']}/commits/main"
    far = httpx.get(base, params={"p": "1000000", "limit": "1000"}, headers=_auth(bob.token))
    assert far.status_code == 400 and "100,000 commits" in far.json()["error"]
    near = httpx.get(base, params={"p": "50", "limit": "10"}, headers=_auth(bob.token))
    assert near.status_code == 200 and near.json() == []  # past the end: an empty page


def test_read_only_tokens_cannot_commit_or_preupload(hub, alice, repos):
    rid = repos["secret"]
    api = HfApi(endpoint=hub, token=alice.read_token)
    before = _head(HfApi(endpoint=hub, token=alice.token), rid)
    with pytest.raises(HfHubHTTPError) as refused:
        api.create_commit(rid, operations=[CommitOperationAdd("x.txt", b"x")], commit_message="x")
    assert refused.value.response.status_code in (401, 403)
    r = httpx.post(
        f"{hub}/api/models/{rid}/preupload/main",
        json={"files": [{"path": "f000.txt", "size": 1, "sample": ""}]},
        headers=_auth(alice.read_token),
    )
    assert r.status_code in (401, 403), r.text
    assert _head(HfApi(endpoint=hub, token=alice.token), rid) == before


# --- malformed listings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "limit", ["-1", "0", "1.5", "1e3", "١", "²", "1001", "99999999999999999999", " 1", "", "0x10"]
)
def test_a_bad_limit_is_a_400_naming_it(hub, bob, repos, limit):
    r = _tree(hub, repos["mine"], token=bob.token, limit=limit)
    assert r.status_code == 400, (limit, r.status_code, r.text)
    assert "limit" in r.json()["error"]


def _forged(token: str) -> list[str]:
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    flipped = raw[:-1] + bytes([raw[-1] ^ 1])
    return [
        token[:-3],
        token[:5],
        "",
        "=",
        "!!!!",
        "é",
        "A" * 20000,
        base64.urlsafe_b64encode(flipped).decode().rstrip("="),
        base64.urlsafe_b64encode(raw[:16] + b"99\nf005.txt").decode(),
        token + "AAAA",
    ]


def test_forged_truncated_and_oversized_cursors_are_400(hub, bob, repos):
    first = _tree(hub, repos["mine"], token=bob.token, limit="2")
    for bad in _forged(_cursor(first)):
        r = _tree(hub, repos["mine"], token=bob.token, cursor=bad)
        assert r.status_code in (400, 414, 431), (bad[:40], r.status_code, r.text[:200])
        if r.status_code == 400:
            assert "error" in r.json()


def test_a_cursor_for_another_folder_or_flag_is_400(hub, bob, repos):
    rid = repos["mine"]
    root = _cursor(_tree(hub, rid, token=bob.token, limit="2"))
    deep = _cursor(_tree(hub, rid, token=bob.token, limit="1", recursive="true"))
    inner = _cursor(_tree(hub, rid, "d", token=bob.token, limit="1"))
    cases = [
        ("d", {"cursor": root}),
        ("", {"cursor": root, "recursive": "true"}),
        ("", {"cursor": deep}),
        ("", {"cursor": inner}),
        ("d/", {"cursor": root}),
    ]
    for path, params in cases:
        r = _tree(hub, rid, path, token=bob.token, **params)
        assert r.status_code == 400, (path, params, r.status_code, r.text)
    # The same folder spelled with slashes around it is the same listing.
    r = _tree(hub, rid, "d/", token=bob.token, cursor=inner)
    assert r.status_code == 200, r.text
    assert [e["path"] for e in r.json()] == ["d/b.txt"]


# Dot segments percent-encoded: a client normalizes plain ones away before sending.
@pytest.mark.parametrize(
    "path", ["d/%2E%2E/d", "d//a.txt", "%2E/d", "d/%2E", "%00", "d%00", "a" * 3000, "d%2F%2Fa.txt"]
)
def test_odd_tree_paths_are_a_clear_4xx(hub, bob, repos, path):
    r = _tree(hub, repos["mine"], path, token=bob.token)
    assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:200])
    if r.headers.get("server", "").startswith("nginx"):  # the cluster's proxy refuses a NUL
        return  # itself, with its own page, before any server sees it
    assert "error" in r.json()


def test_paths_info_with_odd_and_many_paths(hub, bob, repos):
    url = f"{hub}/api/models/{repos['mine']}/paths-info/main"
    odd = ["d//a.txt", "/d/a.txt/", "d/../d/a.txt", "\0", "d/a.txt\0", "a" * 5000, "d/", ""]
    r = httpx.post(url, json={"paths": odd}, headers=_auth(bob.token))
    assert r.status_code in (200, 400), r.text
    if r.status_code == 200:
        assert {e["path"] for e in r.json()} <= {"d/a.txt", "d"}
    many = [f"nope/{i}/x" for i in range(20000)] + ["f000.txt"]
    r = httpx.post(url, json={"paths": many}, headers=_auth(bob.token), timeout=30)
    assert r.status_code in (200, 400, 413), r.text[:200]


# --- commits refused whole ------------------------------------------------------------------


def _refused(api: HfApi, rid: str, operations: list, what: str) -> None:
    before = _head(api, rid)
    files = sorted(api.list_repo_files(rid))
    with warnings.catch_warnings(), pytest.raises(Exception) as raised:
        warnings.simplefilter("ignore")  # the client warns of a path named twice
        api.create_commit(rid, operations=operations, commit_message=what)
    response = getattr(raised.value, "response", None)
    assert response is not None, (what, raised.value)
    assert 400 <= response.status_code < 500, (what, response.status_code, response.text)
    assert "error" in response.json(), what
    assert _head(api, rid) == before, what
    assert sorted(api.list_repo_files(rid)) == files, what


def test_contradictory_commits_are_refused_and_change_nothing(hub, bob):
    api = HfApi(endpoint=hub, token=bob.token)
    rid = _repo(api, bob, {"d/a.txt": b"a", "top.txt": b"t"})
    add = CommitOperationAdd
    _refused(api, rid, [add("a", b"1"), add("a/b", b"2")], "file and folder")
    _refused(api, rid, [add("a/b", b"2"), add("a", b"1")], "folder and file")
    _refused(api, rid, [add("top.txt/x", b"1")], "under a file")
    _refused(api, rid, [CommitOperationDelete("nope/")], "missing folder")
    _refused(api, rid, [CommitOperationDelete("d/a.txt/")], "a file as folder")
    _refused(api, rid, [add("x" * 1001, b"1")], "a name too long")
    for bad in ("d/../x", "d//x", "d/./x", "/x", "x\0y", "d/x/"):
        r = _raw_commit(hub, bob.token, rid, [_add_line(bad, b"1"), _add_line("ok.txt", b"1")])
        assert r.status_code == 400, (bad, r.status_code, r.text)
        assert "error" in r.json()
    assert sorted(api.list_repo_files(rid)) == [".gitattributes", "d/a.txt", "top.txt"]


def _add_line(path: str, data: bytes) -> dict:
    content = base64.b64encode(data).decode()
    return {"key": "file", "value": {"path": path, "content": content, "encoding": "base64"}}


def _raw_commit(hub: str, token: str, rid: str, lines: list[dict]) -> httpx.Response:
    """A commit as raw NDJSON: the client refuses some paths before sending them."""
    header = {"key": "header", "value": {"summary": "raw"}}
    body = "\n".join(json.dumps(line) for line in [header, *lines]) + "\n"
    return httpx.post(
        f"{hub}/api/models/{rid}/commit/main",
        content=body.encode(),
        headers={**_auth(token), "Content-Type": "application/x-ndjson"},
        timeout=120,
    )


def test_the_root_cannot_be_deleted_as_a_folder(hub, bob):
    api = HfApi(endpoint=hub, token=bob.token)
    rid = _repo(api, bob, {"d/a.txt": b"a"})
    for root in ("/", ""):
        r = _raw_commit(hub, bob.token, rid, [{"key": "deletedFolder", "value": {"path": root}}])
        assert 400 <= r.status_code < 500, (root, r.status_code, r.text)
        assert "error" in r.json()
    assert sorted(api.list_repo_files(rid)) == [".gitattributes", "d/a.txt"]


def test_replacing_a_folder_and_repeating_a_path_in_one_commit(hub, bob):
    api = HfApi(endpoint=hub, token=bob.token)
    rid = _repo(api, bob, {"d/a.txt": b"a", "d/e/f.txt": b"f"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the client warns of a path named twice
        api.create_commit(
            rid,
            operations=[
                CommitOperationDelete("d/"),
                CommitOperationAdd("d/n.txt", b"n"),
                CommitOperationAdd("x.txt", b"1"),
                CommitOperationAdd("x.txt", b"2"),
            ],
            commit_message="replace",
        )
    assert sorted(api.list_repo_files(rid)) == [".gitattributes", "d/n.txt", "x.txt"]
    r = httpx.get(f"{hub}/{rid}/resolve/main/x.txt")
    assert r.content == b"2"


# --- concurrency ----------------------------------------------------------------------------


def test_a_branch_deleted_during_a_commit_is_a_clear_answer(hub, bob):
    api = HfApi(endpoint=hub, token=bob.token)
    rid = _repo(api, bob, {"a.txt": b"a"})
    statuses: list[int] = []

    def commit(n: int) -> None:
        try:
            api.create_commit(
                rid,
                revision="gone",
                operations=[CommitOperationAdd(f"f{n}/{i}.txt", b"%d" % i) for i in range(300)],
                commit_message="x",
            )
            statuses.append(200)
        except Exception as exc:
            statuses.append(getattr(getattr(exc, "response", None), "status_code", 0))

    for _ in range(3):
        api.create_branch(rid, branch="gone")
        threads = [threading.Thread(target=commit, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        api.delete_branch(rid, branch="gone")
        for t in threads:
            t.join()
        try:
            api.delete_branch(rid, branch="gone")
        except Exception:
            pass
    assert set(statuses) <= {200, 404, 409}, statuses


# --- a PostgreSQL whose text order is not Python's ------------------------------------------

# Names whose order differs between code points (what the index cuts pages by) and a
# natural-language collation (the default of most PostgreSQL installs, e.g. en_US.UTF-8).
COLLATED = ["B.txt", "a.txt", "_x.txt", "A-1.txt", "b.txt", "Z.txt", "é.txt", "e.txt", "10", "9"]


@contextmanager
def _icu_database() -> Iterator[str]:
    psycopg = pytest.importorskip("psycopg")
    from tests.integration import pg

    name = f"commons_icu_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(pg.ADMIN_DSN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(
                f'CREATE DATABASE "{name}" TEMPLATE template0 LOCALE_PROVIDER icu '
                "ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
            )
    except psycopg.Error as exc:
        pytest.skip(f"needs the machine's PostgreSQL with ICU: {exc}")
    base = pg.ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(pg.ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _cli(env: dict[str, str], *args: str) -> str:
    done = commons(*args, environ=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.skipif(
    os.environ.get("COMMONS_TEST_CLUSTER") == "1",
    reason="its own server on its own PostgreSQL database: once, in the first pass",
)
def test_listings_page_in_one_order_whatever_the_database_collation(tmp_path):
    """Pages are cut in code-point order; a database that sorts rows by its own collation
    made a page of limit=1 skip names and repeat others."""
    with _icu_database() as url:
        env = {**os.environ, "COMMONS_HOME": str(tmp_path / "home"), "COMMONS_DATABASE_URL": url}
        env["COMMONS_SECRET_KEY"] = uuid.uuid4().hex
        _cli(env, "migrate")
        _cli(env, "user", "create", "carol")
        token = _cli(env, "token", "create", "carol").strip()
        with serve(free_port(), env, tmp_path / "server.log") as hub:
            api = HfApi(endpoint=hub, token=token)
            api.create_repo("carol/collated")
            api.create_commit(
                "carol/collated",
                operations=[CommitOperationAdd(n, n.encode()) for n in COLLATED],
                commit_message="names",
            )
            paged, response = [], _tree(hub, "carol/collated", token=token, limit="1")
            while True:
                assert response.status_code == 200, response.text
                paged += [e["path"] for e in response.json()]
                if "next" not in response.links:
                    break
                response = httpx.get(response.links["next"]["url"], headers=_auth(token))
            expected = sorted([*COLLATED, ".gitattributes"])
            assert sorted(paged) == expected, "a page of one skipped or repeated names"
            assert paged == expected
            whole = _tree(hub, "carol/collated", token=token)
            assert [e["path"] for e in whole.json()] == expected


# --- garbage collection against a commit that takes longer than the grace ------------------


def _gc_once(*options: str) -> str:
    env = {**os.environ, "COMMONS_UPLOAD_GRANT_SECONDS": "1"}
    return _cli(env, "gc", "--grace", "1", *options)


def test_a_commit_slower_than_the_grace_loses_no_bytes_to_gc(hub, api, repo_id, tmp_path):
    """A commit writes its blobs and trees first and its rows last. Collections with a
    one-second grace running meanwhile saw the blobs as old garbage: the commit then landed
    naming git objects that were gone (downloads 500). A commit in flight now holds the
    collections' cutoff at its start; garbage older than that still goes meanwhile."""
    api.create_branch(repo_id, branch="junk")
    api.create_commit(
        repo_id,
        revision="junk",
        operations=[CommitOperationAdd(f"junk/{i}.txt", os.urandom(16)) for i in range(20)],
        commit_message="garbage once its branch goes",
    )
    api.delete_branch(repo_id, branch="junk")
    time.sleep(1.5)  # older than the grace before the big commit starts
    files = {f"w/{i // 500}/{i}.txt": os.urandom(24).hex().encode() for i in range(8000)}
    collecting = threading.Event()
    collecting.set()
    outs: list[str] = []

    def collector() -> None:
        while collecting.is_set():
            outs.append(_gc_once())

    thread = threading.Thread(target=collector)
    thread.start()
    try:
        api.create_commit(
            repo_id,
            operations=[CommitOperationAdd(p, d) for p, d in files.items()],
            commit_message="many small files",
        )
    finally:
        collecting.clear()
        thread.join()
    assert any("Freed 0 B." not in out for out in outs), outs  # they collected meanwhile
    _gc_once()
    sample = list(files)[:: len(files) // 40]
    for path in sample:
        r = httpx.get(f"{hub}/{repo_id}/resolve/main/{path}", timeout=30)
        assert r.status_code == 200 and r.content == files[path], (path, r.status_code)
    missing = [p for p in files if not _git_blob_stored(files[p])]
    assert not missing, f"{len(missing)} of {len(files)} blobs gone, e.g. {missing[:3]}"


def _git_blob_stored(data: bytes) -> bool:
    from modelcommons.storage import open_store
    from modelcommons.storage.base import git_key

    store = open_store(
        os.environ.get("COMMONS_STORAGE_URL") or f"file://{os.environ['COMMONS_HOME']}/store"
    )
    blob = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
    return store.exists(git_key(blob))
