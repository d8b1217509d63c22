"""The CLI answers a hub's refusal with one line, not a traceback."""

from __future__ import annotations

import os
import uuid

from huggingface_hub import HfApi

from tests.integration.cli_runs import closed_port, commons


def test_a_refused_download_is_one_line(hub, alice, bob):
    private = f"{bob.name}/hidden-{uuid.uuid4().hex[:8]}"
    HfApi(endpoint=hub, token=bob.token).create_repo(private, private=True)
    env = {**os.environ, "HF_ENDPOINT": hub, "HF_TOKEN": alice.token}
    result = commons("run", private, "a review", environ=env, timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: the hub refused: 404"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def _closed_port() -> str:
    return f"http://127.0.0.1:{closed_port()}"


def _one_line_about_reaching(args: list[str], env: dict[str, str]) -> None:
    result = commons(*args, environ={**os.environ, **env}, timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: cannot reach the hub"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_hub_is_one_line(tmp_path):
    """huggingface_hub wraps the refused connection in LocalEntryNotFoundError: still a network
    failure, said in one line (it was a traceback)."""
    env = {"HF_ENDPOINT": _closed_port(), "HF_HOME": str(tmp_path)}
    _one_line_about_reaching(["run", "someone/model", "a review"], env)


def test_demo_seeds_the_hub_hf_endpoint_names_and_says_when_it_cannot(tmp_path):
    """`commons demo` reads HF_ENDPOINT like every other command (it went to port 8080), and
    huggingface_hub's own client (httpx2) failing to connect is one line, not a traceback."""
    env = {"HF_ENDPOINT": _closed_port(), "HF_HOME": str(tmp_path), "HF_TOKEN": "hf_unused"}
    _one_line_about_reaching(["demo"], env)
