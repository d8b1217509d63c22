"""`commons demo` seeds real content through the API, and a second run changes nothing."""

from __future__ import annotations

import pytest
from huggingface_hub import HfApi

from tests.integration.conftest import commons_cli, make_user

pytestmark = pytest.mark.ml


@pytest.fixture(scope="module")
def seeded(hub):
    """One demo run for the module: it tunes four models, which takes a while."""
    owner = make_user(hub)
    out = commons_cli("demo", "--endpoint", hub, "--token", owner.token)
    assert "Demo content is ready." in out
    return owner


def test_demo_seeds_idempotently(hub, seeded, monkeypatch):
    owner = seeded
    api = HfApi(endpoint=hub, token=owner.token)
    model = api.model_info(f"{owner.name}/all-MiniLM-L6-v2", files_metadata=True)
    assert model.library_name == "sentence-transformers"
    assert model.pipeline_tag == "sentence-similarity"
    weights = next(s for s in model.siblings if s.rfilename == "model.safetensors")
    assert weights.lfs is not None and weights.size > 80_000_000
    datasets = {d.id: d for d in api.list_datasets(author=owner.name)}
    names = ("iris", "breast-cancer", "wine", "rotten-tomatoes", "digits", "reviews-chat")
    assert set(datasets) == {f"{owner.name}/{n}" for n in names}
    assert "license:cc-by-4.0" in datasets[f"{owner.name}/iris"].tags

    tuned = {
        f"{owner.name}/{n}"
        for n in (
            "minilm-movie-reviews",
            "breast-cancer-classifier",
            "efficientnet-digits",
            "smollm2-reviews-chat",
        )
    }
    models = {m.id: m for m in api.list_models(author=owner.name, cardData=True)}
    assert tuned <= set(models)
    head = api.model_info(f"{owner.name}/minilm-movie-reviews")
    assert head.card_data["base_model"] == f"{owner.name}/all-MiniLM-L6-v2"

    heads = {rid: api.dataset_info(rid).sha for rid in datasets}
    heads.update({rid: api.model_info(rid).sha for rid in tuned})
    commons_cli("demo", "--endpoint", hub, "--token", owner.token)
    assert {rid: api.dataset_info(rid).sha for rid in datasets} == {
        rid: heads[rid] for rid in datasets
    }
    assert {rid: api.model_info(rid).sha for rid in tuned} == {rid: heads[rid] for rid in tuned}

    from datasets import load_dataset

    monkeypatch.setenv("HF_TOKEN", owner.token)
    cancer = load_dataset(f"{owner.name}/breast-cancer")
    assert cancer["train"].num_rows + cancer["test"].num_rows == 569
    assert "label" in cancer["train"].column_names


def test_demo_chat_adapter_loads_on_the_hub_base(hub, seeded):
    """The demo's chat LoRA: loads with peft on SmolLM2 from our hub; `commons run` answers."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from huggingface_hub import snapshot_download
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    owner = seeded
    repo = f"{owner.name}/smollm2-reviews-chat"
    folder = Path(snapshot_download(repo, endpoint=hub, token=owner.token))
    base = json.loads((folder / "adapter_config.json").read_text())["base_model_name_or_path"]
    assert base == f"{owner.name}/SmolLM2-135M-Instruct"
    model = PeftModel.from_pretrained(
        AutoModelForCausalLM.from_pretrained(base, token=owner.token), str(folder)
    )
    assert any("lora" in name for name, _ in model.named_parameters())
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["perplexity"] < metrics["baseline_perplexity"]
    env = {**os.environ, "HF_ENDPOINT": hub, "HF_TOKEN": owner.token}
    answer = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelcommons.cli.main",
            "run",
            repo,
            "Is this review fresh or rotten? A triumph of acting and heart.",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout.strip()
    assert answer.split()  # a chat turn came back, in words


def test_demo_leaderboard_ranks_the_verified_tune_above_its_base(hub, seeded):
    """The demo asks the hub's worker to verify its review classifier and the base."""
    import time

    import httpx

    owner = seeded
    auth = {"Authorization": f"Bearer {owner.token}"}
    params = {
        "task": "text-classification",
        "dataset": f"{owner.name}/rotten-tomatoes",
        "metric": "accuracy",
        "verified": "true",
    }
    for _ in range(300):
        board = httpx.get(f"{hub}/api/leaderboards/entries", params=params, headers=auth).json()
        if len(board) == 2:
            break
        time.sleep(0.5)
    assert [row["model"] for row in board] == [
        f"{owner.name}/minilm-movie-reviews",
        f"{owner.name}/all-MiniLM-L6-v2",
    ], board
