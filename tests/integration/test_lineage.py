"""Lineage from cards, license checks along it, and self-reported leaderboards, through the
real client and the HTTP API."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from modelcommons.cli.bootstrap import CREDENTIALS_FILE, read_credentials
from tests.cluster import free_port, serve
from tests.integration.cards import card, make_chain, publish, unique
from tests.integration.conftest import User


def get(hub: str, path: str, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(f"{hub}{path}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def chain(hub: str, alice: User, bob: User) -> dict[str, str]:
    return make_chain(hub, alice, bob)


def test_chain_across_users_in_the_api(hub, chain):
    up = get(hub, f"/api/models/{chain['merge']}/lineage?depth=5")
    found = {(n["id"], n["relation"], n["depth"]) for n in up["ancestors"]}
    assert found == {
        (chain["adapter"], "merge", 1),
        (chain["other"], "merge", 1),
        (chain["ft"], "adapter", 2),
        (chain["base"], "finetune", 3),
        (chain["data"], "dataset", 3),
    }
    ft = next(n for n in up["ancestors"] if n["id"] == chain["ft"])
    assert ft["license"] == "apache-2.0" and ft["datasets"] == [chain["data"]]

    down = get(hub, f"/api/models/{chain['base']}/lineage?depth=5")
    assert down["counts"] == {"finetune": 1}
    [ft_node] = down["descendants"]
    assert (ft_node["id"], ft_node["relation"]) == (chain["ft"], "finetune")
    [adapter_node] = ft_node["children"]
    assert (adapter_node["id"], adapter_node["relation"]) == (chain["adapter"], "adapter")
    assert [n["id"] for n in adapter_node["children"]] == [chain["merge"]]
    shallow = get(hub, f"/api/models/{chain['base']}/lineage?depth=1")
    assert shallow["descendants"][0]["children"] == []

    trained = get(hub, f"/api/datasets/{chain['data']}/lineage")
    assert [(n["id"], n["relation"]) for n in trained["descendants"]] == [(chain["ft"], "dataset")]


def test_renames_keep_the_graph(hub, chain, bob):
    api = HfApi(endpoint=hub, token=bob.token)
    renamed = chain["ft"] + "-v2"
    api.move_repo(chain["ft"], renamed)
    up = get(hub, f"/api/models/{chain['adapter']}/lineage")
    assert up["ancestors"][0]["id"] == renamed
    # The old name still resolves, as every repo URL does after a move.
    assert get(hub, f"/api/models/{chain['ft']}/lineage")["id"] == renamed


def test_external_bases_are_kept_and_linked_when_they_arrive(hub, alice):
    api = HfApi(endpoint=hub, token=alice.token)
    model, future = unique(alice, "child"), unique(alice, "future")
    publish(api, model, card("mit", future, "finetune"))
    [node] = get(hub, f"/api/models/{model}/lineage")["ancestors"]
    assert node == {
        "id": future,
        "type": "model",
        "relation": "finetune",
        "depth": 1,
        "external": True,
    }
    assert get(hub, f"/api/models/{model}/license-check")["status"] == "needs_review"
    publish(api, future, card("apache-2.0"))
    [node] = get(hub, f"/api/models/{model}/lineage")["ancestors"]
    assert node["external"] is False and node["license"] == "apache-2.0"


def test_cycles_are_refused_with_a_clear_error(hub, alice):
    api = HfApi(endpoint=hub, token=alice.token)
    first, second, third = unique(alice, "c1"), unique(alice, "c2"), unique(alice, "c3")
    publish(api, first, card("mit"))
    publish(api, second, card("mit", first, "finetune"))
    publish(api, third, card("mit", second, "finetune"))
    with pytest.raises(HfHubHTTPError, match="cycle") as refused:
        api.upload_file(
            path_or_fileobj=card("mit", third, "finetune"), path_in_repo="README.md", repo_id=first
        )
    assert refused.value.response.status_code == 400
    assert f"{first} -> {third} -> {second} -> {first}" in str(refused.value)
    with pytest.raises(HfHubHTTPError, match="cycle"):
        api.upload_file(path_or_fileobj=card("mit", first), path_in_repo="README.md", repo_id=first)
    # Nothing was committed: the card still has no base.
    assert get(hub, f"/api/models/{first}/lineage")["ancestors"] == []


@pytest.mark.parametrize(
    ("base", "derivative", "status", "words"),
    [
        ("cc-by-nc-4.0", "mit", "flagged", "non-commercial"),
        ("apache-2.0", "mit", "ok", "Compatible"),
        ("apache-2.0", "cc-by-nc-4.0", "ok", "Compatible"),
        ("apache-2.0", "gpl-3.0", "ok", "Compatible"),
        ("gpl-3.0", "apache-2.0", "flagged", "share-alike"),
        ("gpl-3.0", "gpl-3.0", "ok", "Compatible"),
        ("cc-by-nd-4.0", "cc-by-nd-4.0", "flagged", "forbids derivatives"),
        ("my-own-terms", "mit", "needs_review", "needs review"),
    ],
)
def test_license_check_along_lineage(hub, alice, base, derivative, status, words):
    api = HfApi(endpoint=hub, token=alice.token)
    root, child = unique(alice, "root"), unique(alice, "derived")
    publish(api, root, card(base))
    publish(api, child, card(derivative, root, "finetune"))
    verdict = get(hub, f"/api/models/{child}/license-check")
    assert verdict["status"] == status, verdict
    assert any(words in reason for reason in verdict["reasons"]), verdict


def test_a_base_license_change_re_checks_its_descendants(hub, alice):
    api = HfApi(endpoint=hub, token=alice.token)
    root, child, grandchild = unique(alice, "root"), unique(alice, "kid"), unique(alice, "grandkid")
    publish(api, root, card("apache-2.0"))
    publish(api, child, card("apache-2.0", root, "finetune"))
    publish(api, grandchild, card("mit", child, "adapter"))
    assert get(hub, f"/api/models/{grandchild}/license-check")["status"] == "ok"
    publish(api, root, card("cc-by-nc-4.0"))
    verdict = get(hub, f"/api/models/{grandchild}/license-check")
    assert verdict["status"] == "flagged" and root in " ".join(verdict["reasons"])


def test_license_check_cli_prints_the_verdict(hub, alice):
    api = HfApi(endpoint=hub, token=alice.token)
    root, child = unique(alice, "root"), unique(alice, "cli")
    publish(api, root, card("cc-by-nc-4.0"))
    publish(api, child, card("mit", root, "finetune"))
    done = subprocess.run(
        [sys.executable, "-m", "modelcommons.cli.main", "license", "check", child],
        env={**os.environ, "HF_ENDPOINT": hub},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1, done.stderr
    assert f"{child}: mit, incompatible" in done.stdout
    assert "non-commercial" in done.stdout


def test_reject_policy_refuses_incompatible_cards(tmp_path: Path):
    home = Path(tempfile.mkdtemp(prefix="commons-reject-"))
    env = {
        **os.environ,
        "COMMONS_HOME": str(home),
        "COMMONS_DATABASE_URL": f"sqlite:///{home}/commons.db",
        "COMMONS_LICENSE_POLICY": "reject",
    }
    with serve(free_port(), env, tmp_path / "reject.log") as url:
        api = HfApi(endpoint=url, token=read_credentials(home / CREDENTIALS_FILE)["token"])
        publish(api, "admin/nc-base", card("cc-by-nc-4.0"))
        api.create_repo("admin/mit-child")
        with pytest.raises(HfHubHTTPError, match="refuses incompatible licenses") as refused:
            api.upload_file(
                path_or_fileobj=card("mit", "admin/nc-base", "finetune"),
                path_in_repo="README.md",
                repo_id="admin/mit-child",
            )
        assert refused.value.response.status_code == 409
        assert refused.value.response.headers["X-Error-Code"] == "LicenseConflict"
        assert "README.md" not in api.list_repo_files("admin/mit-child")
        publish(api, "admin/mit-child", card("cc-by-nc-4.0", "admin/nc-base", "finetune"))
        assert get(url, "/api/models/admin/mit-child/license-check")["status"] == "ok"


def test_self_reported_results_make_leaderboards(hub, alice, bob):
    dataset = unique(alice, "bench")
    HfApi(endpoint=hub, token=alice.token).create_repo(dataset, repo_type="dataset")
    index = (
        "model-index:\n- name: m\n  results:\n  - task: {{type: text-classification}}\n"
        "    dataset: {{name: bench, type: {dataset}, split: test}}\n"
        "    metrics:\n    - {{type: accuracy, value: {value}}}\n"
    )
    models = {}
    for user, value in ((alice, 0.8), (bob, 0.9), (alice, 0.7)):
        api = HfApi(endpoint=hub, token=user.token)
        repo = unique(user, "scored")
        publish(api, repo, card("mit", extra=index.format(dataset=dataset, value=value)))
        models[value] = repo
    entries = get(
        hub,
        f"/api/leaderboards/entries?task=text-classification&dataset={dataset}&metric=accuracy",
    )
    assert [(e["model"], e["value"], e["verified"]) for e in entries] == [
        (models[0.9], 0.9, False),
        (models[0.8], 0.8, False),
        (models[0.7], 0.7, False),
    ]
    assert entries[0]["lineage"] == f"/api/models/{models[0.9]}/lineage"
    boards = get(hub, "/api/leaderboards")
    assert {
        "task": "text-classification",
        "dataset": dataset,
        "metric": "accuracy",
        "models": 3,
    } in boards
    verified = get(
        hub,
        f"/api/leaderboards/entries?task=text-classification&dataset={dataset}"
        "&metric=accuracy&verified=true",
    )
    assert verified == []


def test_a_card_cannot_probe_someone_elses_private_repo(hub, alice, bob):
    owner = HfApi(endpoint=hub, token=bob.token)
    secret = unique(bob, "secret")
    owner.create_repo(secret, private=True)
    owner.upload_file(
        path_or_fileobj=card("cc-by-nc-4.0"), path_in_repo="README.md", repo_id=secret
    )
    child = unique(alice, "prober")
    publish(HfApi(endpoint=hub, token=alice.token), child, card("mit", secret, "finetune"))
    [node] = get(hub, f"/api/models/{child}/lineage", alice.token)["ancestors"]
    assert node["external"] is True and "license" not in node
    verdict = get(hub, f"/api/models/{child}/license-check", alice.token)
    assert verdict["status"] == "needs_review" and "cc-by-nc" not in str(verdict)
    owner.update_repo_settings(secret, private=False)
    [node] = get(hub, f"/api/models/{child}/lineage", alice.token)["ancestors"]
    assert node["external"] is False and node["license"] == "cc-by-nc-4.0"
    assert get(hub, f"/api/models/{child}/license-check", alice.token)["status"] == "flagged"


def test_license_check_cli_on_a_missing_repo_is_one_line(hub):
    done = subprocess.run(
        [sys.executable, "-m", "modelcommons.cli.main", "license", "check", "nobody/nothing"],
        env={**os.environ, "HF_ENDPOINT": hub},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "Error: Repository 'nobody/nothing' not found (model)."
    ]
