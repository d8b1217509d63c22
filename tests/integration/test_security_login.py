"""Log-in, sign-up and sessions that cannot be abused: limits per address and per (name,
address) counted atomically, hashing that never stalls commits, CSRF tokens bound to the
session, same-site `next` targets only, and password changes (the form and the CLI).

Tests that reach a limit run on a hub of their own with small limits; the clients vary their
address inside 127.0.0.0/8, which is all loopback on Linux."""

from __future__ import annotations

import itertools
import os
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi

from modelcommons.cli.bootstrap import CREDENTIALS_FILE, read_credentials
from tests.cluster import free_port, serve
from tests.integration.web_client import HTML, PASSWORD, Browser

PER_NAME, PER_ADDRESS, SIGNUPS = 5, 20, 3
ADDRESSES = (f"127.0.{n // 250 + 10}.{n % 250 + 2}" for n in itertools.count())


@pytest.fixture(scope="module")
def limited_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("limited")


@pytest.fixture(scope="module")
def limited(limited_home: Path) -> Iterator[str]:
    """A hub of its own, with small limits and no trusted proxy."""
    home = limited_home
    env = {
        **os.environ,
        "COMMONS_HOME": str(home),
        "COMMONS_DATABASE_URL": f"sqlite:///{home}/commons.db",
        "COMMONS_RUN_WORKER": "0",
        "COMMONS_LOGIN_LIMIT_PER_NAME": str(PER_NAME),
        "COMMONS_LOGIN_LIMIT_PER_ADDRESS": str(PER_ADDRESS),
        "COMMONS_SIGNUP_LIMIT_PER_ADDRESS": str(SIGNUPS),
        "COMMONS_TRUSTED_PROXIES": "",
    }
    with serve(free_port(), env, home / "server.log") as url:
        yield url


def _refusal_says_when(response: httpx.Response, what: str) -> None:
    assert response.status_code == 429, response.text
    assert 0 < int(response.headers["retry-after"]) <= 3600
    assert f"Too many {what}" in response.text and "try again in" in response.text
    assert 'role="alert"' in response.text


def test_parallel_wrong_guesses_stop_at_the_limit_and_the_owner_still_logs_in(limited: str):
    owner = Browser(limited, next(ADDRESSES)).sign_up()
    attacker = Browser(limited, next(ADDRESSES))
    token = attacker.csrf()

    def guess(number: int) -> httpx.Response:
        data = {"csrf": token, "username": owner, "password": f"guess {number}"}
        return attacker.client.post("/login", data=data)

    with ThreadPoolExecutor(max_workers=30) as pool:
        answers = list(pool.map(guess, range(30)))
    assert Counter(a.status_code for a in answers) == {401: PER_NAME, 429: 30 - PER_NAME}
    _refusal_says_when(next(a for a in answers if a.status_code == 429), "failed logins")
    # Even the right password waits at the attacker's address, but not at the owner's.
    assert attacker.log_in(owner).status_code == 429
    assert Browser(limited, next(ADDRESSES)).log_in(owner).status_code == 303


def test_one_address_cannot_try_name_after_name(limited: str):
    user = Browser(limited, next(ADDRESSES)).sign_up()
    sprayer = Browser(limited, next(ADDRESSES))
    for _ in range(PER_ADDRESS):
        assert sprayer.log_in("n" + uuid.uuid4().hex[:10]).status_code == 401
    _refusal_says_when(sprayer.log_in("n" + uuid.uuid4().hex[:10]), "failed logins from")
    assert sprayer.log_in(user).status_code == 429
    assert Browser(limited, next(ADDRESSES)).log_in(user).status_code == 303


def test_sign_ups_are_limited_per_address(limited: str):
    crowd = Browser(limited, next(ADDRESSES))
    for _ in range(SIGNUPS):
        crowd.client.cookies.clear()
        crowd.sign_up()
    crowd.client.cookies.clear()
    name = "l" + uuid.uuid4().hex[:10]
    refused = crowd.post("/signup", {"username": name, "password": PASSWORD})
    _refusal_says_when(refused, "sign-ups from your address")
    assert f'value="{name}"' in refused.text  # what was typed is kept
    Browser(limited, next(ADDRESSES)).sign_up()


def _write_lock_taken(database: Path) -> bool:
    """Whether some transaction holds the hub's SQLite write lock at this instant."""
    probe = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


def test_log_in_floods_do_not_stall_commits(limited: str, limited_home: Path):
    """Random names from many addresses, hashed as fast as the server can, while commits run:
    the hashing happens outside the write lock, so the lock stays mostly free and commits quick
    (before, every hash held it and a dozen loops made a commit wait 7 s)."""
    api = HfApi(endpoint=limited, token=read_credentials(limited_home / CREDENTIALS_FILE)["token"])
    repo = f"admin/flood-{uuid.uuid4().hex[:6]}"
    api.create_repo(repo)
    stop, hashed, lock = threading.Event(), Counter[str](), threading.Lock()

    def flood() -> None:
        while not stop.is_set():
            with lock:
                browser = Browser(limited, next(ADDRESSES))
            token = browser.csrf()
            for _ in range(PER_ADDRESS):  # then this address is refused: on to the next
                data = {"csrf": token, "username": uuid.uuid4().hex, "password": "x" * 12}
                hashed[str(browser.client.post("/login", data=data).status_code)] += 1
                if stop.is_set():
                    return

    latencies, taken = [], []
    with ThreadPoolExecutor(max_workers=6) as pool:
        for _ in range(6):
            pool.submit(flood)
        deadline = time.monotonic() + 60
        while hashed["401"] < 6 and time.monotonic() < deadline:
            time.sleep(0.05)  # the flood is under way
        for number in range(5):
            start = time.monotonic()
            api.upload_file(path_or_fileobj=b"%d" % number, path_in_repo="n.txt", repo_id=repo)
            latencies.append(time.monotonic() - start)
            for _ in range(20):
                taken.append(_write_lock_taken(limited_home / "commons.db"))
                time.sleep(0.02)
        flooded = hashed["401"]
        stop.set()
    assert flooded >= 12, hashed  # the log-ins did run meanwhile
    assert sum(taken) / len(taken) < 0.25, taken
    assert statistics.median(latencies) < 2, latencies


def test_any_name_gets_a_plain_refusal(hub: str):
    """Names no account can have (too long, a NUL byte, odd letters) are refused like any
    wrong password, not with a 500 (PostgreSQL refuses NUL and keys over 200 characters)."""
    browser = Browser(hub, next(ADDRESSES))
    for name in ("x" * 300, "a\x00b", "ünïcödé", "Robert'); DROP TABLE accounts;--"):
        response = browser.log_in(name)
        assert response.status_code == 401 and "Wrong user name or password" in response.text


def test_csrf_tokens_are_bound_to_the_session(hub: str):
    victim = Browser(hub)
    before = victim.csrf()
    victim.sign_up()
    token = victim.csrf("/settings/tokens")
    assert token != before  # logging in changes the token
    session = victim.client.cookies["mc_session"]
    # An attacker who can plant cookies picks a pre-session cookie and its token, or brings
    # the token of a session of their own: neither acts as the victim.
    attacker = Browser(hub)
    planted_token = attacker.csrf()
    planted = attacker.client.cookies["mc_csrf"]
    attacker.sign_up()
    for cookie, sent in (
        (f"mc_session={session}; mc_csrf={planted}", planted_token),
        (f"mc_session={session}", attacker.csrf("/settings/tokens")),
    ):
        forged = httpx.post(
            f"{hub}/settings/tokens",
            data={"csrf": sent, "name": "forged", "role": "write"},
            headers={**HTML, "Cookie": cookie},
        )
        assert forged.status_code == 403, forged.text
        assert "another site" in forged.text
    made = victim.post("/settings/tokens", {"name": "mine", "role": "read"}, "/settings/tokens")
    assert made.status_code == 200 and 'id="new-token"' in made.text
    assert ">forged<" not in victim.client.get("/settings/tokens").text


@pytest.mark.parametrize(
    "target",
    ["//evil.example", "/\\evil.example", "/\\/evil.example", "\\\\evil.example",
     "https://evil.example", "javascript:alert(1)", "/\t/evil.example", "/a\r\nSet-Cookie:x=1",
     "evil.example", "/\x00"],
)  # fmt: skip
def test_login_goes_only_to_same_site_paths(hub: str, target: str):
    browser = Browser(hub)
    name = browser.sign_up()
    form = browser.client.get("/login", params={"next": target}).text
    assert 'name="next" value="/"' in form
    response = Browser(hub).log_in(name, next=target)
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_login_keeps_a_same_site_target(hub: str):
    browser = Browser(hub)
    name = browser.sign_up()
    response = Browser(hub).log_in(name, next="/models?sort=likes&search=a%2Fb")
    assert response.headers["location"] == "/models?sort=likes&search=a%2Fb"
    assert Browser(hub).log_in(name, next=f"/{name}").headers["location"] == f"/{name}"


def test_a_password_change_needs_the_current_one_and_ends_other_sessions(hub: str):
    mine = Browser(hub)
    name = mine.sign_up()
    elsewhere = Browser(hub)
    assert elsewhere.log_in(name).status_code == 303
    anonymous = Browser(hub).client.get("/settings/password")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/login?next=/settings/password"
    assert 'href="/settings/password"' in mine.client.get("/settings/tokens").text

    def change(current: str, new: str, confirm: str | None = None) -> httpx.Response:
        data = {"current": current, "new": new, "confirm": new if confirm is None else confirm}
        return mine.post("/settings/password", data, "/settings/password")

    for response, status, message in (
        (change("not my password", "a newer password"), 401, "current password is not right"),
        (change(PASSWORD, "a newer password", "a newer passwort"), 400, "differ"),
        (change(PASSWORD, "short"), 400, "8 characters"),
    ):
        assert response.status_code == status and message in response.text, response.text
        assert 'role="alert"' in response.text
    changed = change(PASSWORD, "a newer password")
    assert changed.status_code == 200 and "Your password is changed" in changed.text
    assert mine.client.get("/new").status_code == 200  # this session stays
    assert elsewhere.client.get("/new").status_code == 303  # the other one is logged out
    assert Browser(hub).log_in(name).status_code == 401
    assert Browser(hub).log_in(name, "a newer password").status_code == 303


def _commons(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The real CLI, without a terminal (so that a hidden prompt reads standard input)."""
    return subprocess.run(
        [sys.executable, "-m", "modelcommons.cli.main", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
        start_new_session=True,
    )


def test_an_admin_sets_a_password_with_the_cli(hub: str):
    browser = Browser(hub)
    name = browser.sign_up()
    done = _commons("user", "set-password", name, "--password", "set by the admin")
    assert done.returncode == 0, done.stderr
    assert "logged out" in done.stdout
    assert browser.client.get("/new").status_code == 303  # the user's session ended
    assert Browser(hub).log_in(name, "set by the admin").status_code == 303
    prompted = _commons("user", "set-password", name, stdin="typed at the prompt\n" * 2)
    assert prompted.returncode == 0, prompted.stderr
    assert Browser(hub).log_in(name, "typed at the prompt").status_code == 303
    for args, message in (
        (("nobody-" + name, "--password", "long enough"), "No user named"),
        ((name, "--password", "short"), "8 characters"),
    ):
        failed = _commons("user", "set-password", *args)
        assert failed.returncode == 1
        assert failed.stderr.strip().count("\n") == 0 and message in failed.stderr
