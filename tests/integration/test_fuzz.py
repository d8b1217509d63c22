"""Schemathesis over the hub's own OpenAPI schema, as a stranger would probe it: every
operation, anonymous and with a write token, gets generated and hostile inputs (the examples,
coverage and fuzzing phases). No answer may be a 5xx (but 501, NotSupportedError's deliberate
"not here yet"), no connection may drop, and every answer comes within REQUEST_SECONDS.

The hub is this module's own (its own COMMONS_HOME, SQLite, no job worker), because write
operations may delete or rename the seeded repos. Path parameters are drawn from the seeded
repos most of the time, so the fuzzer reaches real trees, files and refs instead of 404s.
Explicit examples put header-breaking text (HOSTILE) into every revision and file path.
Reproducible: a fixed seed (Hypothesis's derandomize drew too few distinct inputs). For a
longer local run, COMMONS_TEST_FUZZ_EXAMPLES raises the generated examples per operation.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from huggingface_hub import CommitOperationAdd, HfApi
from schemathesis import Case

from modelcommons.server.app import create_app
from tests.cluster import COMMONS, free_port, serve

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("COMMONS_TEST_FUZZ_EXAMPLES", "40"))
REQUEST_SECONDS = 10
SEED = 20261201
USER = "fuzzer"
NAMES = ("open", "closed")  # public and private, each as a model and as a dataset
WEIGHTS = bytes(range(256)) * 64  # a NUL byte: stored through LFS
FILES = {
    "README.md": b"---\nlicense: mit\npipeline_tag: text-classification\n---\n# Fuzz target\n",
    "config.json": b'{"hidden_size": 8}',
    "data/rows.csv": b"text,label\ngood,1\nbad,0\n",
    "data/rows.jsonl": b'{"text": "good", "label": 1}\n',
    "weights.bin": WEIGHTS,
}


def _commons(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [*COMMONS, *args], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout.strip()


def _seed_repos(url: str, token: str) -> None:
    api = HfApi(endpoint=url, token=token)
    for repo_type in ("model", "dataset"):
        for name in NAMES:
            repo_id = f"{USER}/{name}"
            api.create_repo(repo_id, repo_type=repo_type, private=name == "closed")
            operations = [CommitOperationAdd(path, data) for path, data in FILES.items()]
            api.create_commit(
                repo_id, repo_type=repo_type, operations=operations, commit_message="seed"
            )
            api.create_tag(repo_id, repo_type=repo_type, tag="v1")


@dataclass(frozen=True)
class FuzzHub:
    url: str
    token: str  # the seeded user's, write scope
    log: Path  # the server's output, where unhandled errors leave their traceback

    def log_size(self) -> int:
        return self.log.stat().st_size

    def log_since(self, offset: int) -> str:
        """What the server logged from `offset` on, for a failure's report."""
        with self.log.open("rb") as f:
            f.seek(offset)
            return f.read()[-4000:].decode(errors="replace")


@pytest.fixture(scope="module")
def fuzz_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzHub]:
    """A hub of this module's own, with the seeded repos."""
    home = tmp_path_factory.mktemp("fuzz-hub")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMONS_")}
    env.update(
        COMMONS_HOME=str(home),
        COMMONS_DATABASE_URL=f"sqlite:///{home}/commons.db",
        COMMONS_RUN_WORKER="0",
    )
    log = home / "server.log"
    with serve(free_port(), env, log) as url:
        _commons(env, "user", "create", USER, "--password", uuid.uuid4().hex)
        token = _commons(env, "token", "create", USER)
        _seed_repos(url, token)
        yield FuzzHub(url, token, log)


# Text that has broken header values built from input (an error message that starts with the
# path): whitespace at either end, line breaks, DEL. Only in the parameters that come after
# the repo, so that requests get past the repo lookup.
HOSTILE = [" lead", "trail ", "a\r\nX-Injected: 1", "\x7f"]
# Path parameters → the seeded values they take 90% of the time.
SEEDED = {
    "types": ["models", "datasets"],
    "namespace": [USER],
    "name": list(NAMES),
    "rev": ["main", "v1", *HOSTILE],
    "path": [*FILES, "data", *HOSTILE],
    "user": [USER, *HOSTILE],
    "oid": [hashlib.sha256(WEIGHTS).hexdigest()],
}
GIT_NAMES = [f"{name}.git" for name in NAMES]  # LFS lives under /<repo>.git/info/lfs


def _seeded(dictionary: str) -> dict[str, Any]:
    return {"dictionary": dictionary, "probability": 0.9}


def _config() -> schemathesis.Config:
    dictionaries = {**SEEDED, "git_name": GIT_NAMES}
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "suppress-health-check": ["all"],
            "dictionaries": {key: {"values": values} for key, values in dictionaries.items()},
            "parameters": {f"path.{key}": _seeded(key) for key in SEEDED},
            "operations": [
                {
                    "include-path-regex": "/info/lfs/objects/batch$",
                    "parameters": {"path.name": _seeded("git_name")},
                }
            ],
            "generation": {
                "max-examples": EXAMPLES,
                "no-shrink": True,
                "database": "none",
            },
            "phases": {"stateful": {"enabled": False}},
            "request-timeout": REQUEST_SECONDS,
            "checks": {
                # 501 is NotSupportedError's deliberate answer (spaces, pull requests, gating).
                "not_a_server_error": {"expected-statuses": ["1XX", "2XX", "3XX", "4XX", "501"]}
            },
        }
    )


@schemathesis.serializer("application/x-ndjson")
def _ndjson(context: schemathesis.SerializationContext, value: Any) -> bytes:
    """A commit body: the schema declares it as the list of its lines."""
    lines = value if isinstance(value, list) else [value]
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def _with_hostile_examples(raw: dict[str, Any]) -> dict[str, Any]:
    """Examples for every path parameter, which schemathesis sends position by position (the
    shorter lists repeat): the public seeded repo, then each HOSTILE value as the file path,
    then each as the revision. Random generation alone reaches these only now and then."""
    good = 1 + len(HOSTILE)
    columns = {
        "types": ["models"],
        "namespace": [USER],
        "name": ["open"],
        "rev": ["main"] * good + HOSTILE,
        "path": ["README.md", *HOSTILE, *["README.md"] * len(HOSTILE)],
        "user": [USER, *HOSTILE],
    }
    for path, methods in raw["paths"].items():
        for operation in methods.values():
            for parameter in operation.get("parameters", []):
                values = columns.get(parameter["name"]) if parameter["in"] == "path" else None
                if parameter["name"] == "name" and path.endswith("/info/lfs/objects/batch"):
                    values = GIT_NAMES[:1]
                if values:
                    parameter["examples"] = {f"{i}": {"value": v} for i, v in enumerate(values)}
    return raw


# The schema the live hub serves at /openapi.json, built in-process so that pytest can make
# one test per operation before any hub runs.
schema = schemathesis.openapi.from_dict(
    _with_hostile_examples(create_app().openapi()), config=_config()
)


@pytest.fixture(scope="module", params=["anonymous", "write-token"])
def credentials(request: pytest.FixtureRequest, fuzz_hub: FuzzHub) -> dict[str, str]:
    return {"Authorization": f"Bearer {fuzz_hub.token}"} if request.param == "write-token" else {}


def _call(case: Case, url: str, credentials: dict[str, str]) -> schemathesis.Response:
    try:
        return case.call(base_url=url, headers=credentials)
    except requests.RequestException as exc:  # a dropped connection, or no answer in time
        raise AssertionError(f"{exc!r}\n{case.as_curl_command(headers=credentials)}") from None


@schema.parametrize()
def test_no_server_error_nor_dropped_connection(
    case: Case, fuzz_hub: FuzzHub, credentials: dict[str, str]
) -> None:
    logged = fuzz_hub.log_size()
    try:
        response = _call(case, fuzz_hub.url, credentials)
        case.validate_response(
            response, checks=[schemathesis.checks.not_a_server_error], headers=credentials
        )
    except Exception as failure:
        failure.add_note(f"The hub logged:\n{fuzz_hub.log_since(logged)}")
        raise
