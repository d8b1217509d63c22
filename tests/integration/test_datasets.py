"""`datasets.load_dataset` against our hub, on CSV and Parquet repos."""

from __future__ import annotations

import io
import uuid

import pandas as pd
import pytest
from huggingface_hub import HfApi


@pytest.fixture
def dataset_api(hub, alice, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", alice.token)
    return HfApi(endpoint=hub, token=alice.token)


def _frame(n: int, offset: int = 0) -> pd.DataFrame:
    return pd.DataFrame({"x": range(offset, offset + n), "label": [i % 2 for i in range(n)]})


def test_load_csv_dataset(dataset_api, alice):
    from datasets import load_dataset

    rid = f"{alice.name}/csv-{uuid.uuid4().hex[:8]}"
    dataset_api.create_repo(rid, repo_type="dataset")
    for split, frame in (("train", _frame(20)), ("test", _frame(5, 100))):
        dataset_api.upload_file(
            path_or_fileobj=frame.to_csv(index=False).encode(),
            path_in_repo=f"data/{split}.csv",
            repo_id=rid,
            repo_type="dataset",
        )
    ds = load_dataset(rid)
    assert set(ds) == {"train", "test"}
    assert ds["train"].num_rows == 20 and ds["test"].num_rows == 5
    assert ds["test"][0] == {"x": 100, "label": 0}


def test_load_parquet_dataset(dataset_api, alice):
    from datasets import load_dataset

    rid = f"{alice.name}/pq-{uuid.uuid4().hex[:8]}"
    dataset_api.create_repo(rid, repo_type="dataset", private=True)
    for split, frame in (("train", _frame(30)), ("validation", _frame(7, 50))):
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        dataset_api.upload_file(
            path_or_fileobj=buffer.getvalue(),
            path_in_repo=f"data/{split}-00000-of-00001.parquet",
            repo_id=rid,
            repo_type="dataset",
        )
    ds = load_dataset(rid)
    assert set(ds) == {"train", "validation"}
    assert ds["train"].num_rows == 30
    assert ds["validation"]["x"] == list(range(50, 57))
