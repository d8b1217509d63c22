"""Repo lifecycle, info, listing, visibility and accounts through huggingface_hub."""

from __future__ import annotations

import uuid

import httpx
import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from tests.integration.conftest import commons_cli, make_user

CARD = """---
license: Apache 2.0
library_name: transformers
pipeline_tag: text-classification
tags:
- sentiment
datasets:
- acme/reviews
base_model: acme/tiny-bert
base_model_relation: finetune
language: en
---
# A sentiment model
"""


def _name(prefix: str = "r") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_whoami(api, alice):
    me = api.whoami()
    assert me["name"] == alice.name
    assert me["auth"]["accessToken"]["role"] == "write"


def test_wrong_token_is_401(hub):
    with pytest.raises(HfHubHTTPError) as caught:
        HfApi(endpoint=hub, token="mc_not-a-real-token").whoami()
    assert caught.value.response.status_code == 401


def test_create_model_dataset_and_private(api, alice):
    model = f"{alice.name}/{_name()}"
    url = api.create_repo(model)
    assert url.repo_id == model and url.repo_type == "model"
    dataset = f"{alice.name}/{_name('d')}"
    assert api.create_repo(dataset, repo_type="dataset").repo_type == "dataset"
    private = f"{alice.name}/{_name('p')}"
    api.create_repo(private, private=True)
    assert api.model_info(private).private is True
    assert api.dataset_info(dataset).id == dataset
    # exist_ok swallows the 409 and still gets the URL
    assert api.create_repo(model, exist_ok=True).repo_id == model
    with pytest.raises(HfHubHTTPError) as caught:
        api.create_repo(model)
    assert caught.value.response.status_code == 409


def test_spaces_are_not_supported(api, alice):
    with pytest.raises(HfHubHTTPError) as caught:
        api.create_repo(f"{alice.name}/{_name()}", repo_type="space", space_sdk="static")
    assert caught.value.response.status_code == 501


def test_model_info_fields_from_the_card(api, repo_id):
    api.upload_file(path_or_fileobj=CARD.encode(), path_in_repo="README.md", repo_id=repo_id)
    info = api.model_info(repo_id)
    assert info.pipeline_tag == "text-classification"
    assert info.library_name == "transformers"
    assert info.card_data["license"] == "Apache 2.0"
    assert {
        "sentiment",
        "license:apache-2.0",
        "dataset:acme/reviews",
        "base_model:acme/tiny-bert",
        "transformers",
        "en",
    } <= set(info.tags)
    assert info.created_at and info.last_modified and info.sha
    assert info.downloads == 0 and info.likes == 0
    assert {s.rfilename for s in info.siblings} == {".gitattributes", "README.md"}


# huggingface_hub relays the hub's card warnings as a UserWarning: here they are the point.
@pytest.mark.filterwarnings("ignore:Warnings while validating metadata in README.md:UserWarning")
def test_bad_front_matter_is_reported_not_fatal(api, repo_id, hub, alice):
    api.upload_file(
        path_or_fileobj=b"---\nlicense: [unclosed\n---\n# hi\n",
        path_in_repo="README.md",
        repo_id=repo_id,
    )
    assert "README.md" in api.list_repo_files(repo_id)
    raw = httpx.get(
        f"{hub}/api/models/{repo_id}", headers={"Authorization": f"Bearer {alice.token}"}
    )
    assert "Invalid YAML" in raw.json()["cardError"]


def test_list_models_search_author_filter(api, alice, bob):
    tag = "tag" + uuid.uuid4().hex[:6]
    names = [f"{alice.name}/{tag}-{i}" for i in range(3)]
    for name in names:
        api.create_repo(name)
    api.upload_file(
        path_or_fileobj=f"---\ntags:\n- {tag}\n---\n".encode(),
        path_in_repo="README.md",
        repo_id=names[0],
    )
    found = {m.id for m in api.list_models(search=tag.upper())}
    assert found == set(names)
    assert {m.id for m in api.list_models(author=alice.name, search=tag)} == set(names)
    assert [m.id for m in api.list_models(filter=tag)] == [names[0]]
    assert len(list(api.list_models(search=tag, limit=2))) == 2
    assert list(api.list_models(author=bob.name, search=tag)) == []


def test_listing_paginates_with_link_headers(api, hub, alice):
    prefix = "page" + uuid.uuid4().hex[:6]
    for i in range(5):
        api.create_repo(f"{alice.name}/{prefix}-{i}")
    first = httpx.get(f"{hub}/api/models", params={"search": prefix, "limit": 2, "offset": 0})
    assert len(first.json()) == 2
    listed = {m.id for m in api.list_models(search=prefix)}
    assert len(listed) == 5


def test_private_repo_is_invisible_to_others(api, hub, alice, bob):
    private = f"{alice.name}/{_name('secret')}"
    api.create_repo(private, private=True)
    api.upload_file(path_or_fileobj=b"s3cret", path_in_repo="s.txt", repo_id=private)
    other = HfApi(endpoint=hub, token=bob.token)
    with pytest.raises(RepositoryNotFoundError):
        other.model_info(private)
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(private, "s.txt", token=bob.token)
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=hub, token=False).model_info(private)
    assert private not in {m.id for m in other.list_models(author=alice.name)}
    assert private in {m.id for m in api.list_models(author=alice.name)}
    # Writing to it is as invisible as reading it.
    with pytest.raises(RepositoryNotFoundError):
        other.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=private)


def test_visibility_change(api, hub, alice, bob):
    rid = f"{alice.name}/{_name()}"
    api.create_repo(rid)
    api.update_repo_settings(rid, private=True)
    assert api.model_info(rid).private
    with pytest.raises(RepositoryNotFoundError):
        HfApi(endpoint=hub, token=bob.token).model_info(rid)
    api.update_repo_settings(rid, private=False)
    assert HfApi(endpoint=hub, token=bob.token).model_info(rid).private is False


def test_move_repo_keeps_old_name_as_redirect(api, alice):
    old, new = f"{alice.name}/{_name('old')}", f"{alice.name}/{_name('new')}"
    api.create_repo(old)
    api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=old)
    api.move_repo(old, new)
    assert api.model_info(new).id == new
    assert api.model_info(old).id == new
    assert "x.txt" in api.list_repo_files(new)


def test_delete_repo(api, alice):
    rid = f"{alice.name}/{_name()}"
    api.create_repo(rid)
    api.delete_repo(rid)
    with pytest.raises(RepositoryNotFoundError):
        api.model_info(rid)
    api.delete_repo(rid, missing_ok=True)


def test_read_token_cannot_write(hub, alice):
    rid = f"{alice.name}/{_name()}"
    HfApi(endpoint=hub, token=alice.token).create_repo(rid)
    reader = HfApi(endpoint=hub, token=alice.read_token)
    assert reader.model_info(rid).id == rid
    with pytest.raises(HfHubHTTPError) as caught:
        reader.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=rid)
    assert caught.value.response.status_code == 403


def test_others_cannot_write_to_public_repo(api, repo_id, hub, bob):
    with pytest.raises(HfHubHTTPError) as caught:
        HfApi(endpoint=hub, token=bob.token).upload_file(
            path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_id
        )
    assert caught.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError):
        HfApi(endpoint=hub, token=bob.token).delete_repo(repo_id)


def test_organizations_and_roles(hub, alice):
    org = "org" + uuid.uuid4().hex[:8]
    writer, reader = make_user(hub), make_user(hub)
    commons_cli("org", "create", org, "--owner", alice.name)
    commons_cli("org", "add-member", org, writer.name, "--role", "write")
    commons_cli("org", "add-member", org, reader.name, "--role", "read")
    rid = f"{org}/{_name()}"
    HfApi(endpoint=hub, token=writer.token).create_repo(rid, private=True)
    assert org in {o["name"] for o in HfApi(endpoint=hub, token=writer.token).whoami()["orgs"]}
    as_reader = HfApi(endpoint=hub, token=reader.token)
    assert as_reader.model_info(rid).private
    with pytest.raises(HfHubHTTPError) as caught:
        as_reader.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=rid)
    assert caught.value.response.status_code == 403
    # Deleting needs the admin role in the organization.
    with pytest.raises(HfHubHTTPError):
        HfApi(endpoint=hub, token=writer.token).delete_repo(rid)
    HfApi(endpoint=hub, token=alice.token).delete_repo(rid)


def test_likes_count_once_and_unlike_with_the_client(api, repo_id, hub, alice, bob):
    like = f"{hub}/api/models/{repo_id}/like"
    for _ in range(2):  # liking twice counts once
        response = httpx.post(like, headers={"authorization": f"Bearer {bob.token}"})
        assert response.status_code == 200
    assert api.model_info(repo_id).likes == 1
    bob_api = HfApi(endpoint=hub, token=bob.token)
    assert repo_id in bob_api.list_liked_repos(bob.name).models
    assert httpx.post(like).status_code == 401  # anonymous
    bob_api.unlike(repo_id)
    assert api.model_info(repo_id).likes == 0
    assert repo_id not in bob_api.list_liked_repos(bob.name).models


def test_search_matches_words_of_the_card_and_every_term(api, repo_id):
    word = "zebra" + uuid.uuid4().hex[:6]
    api.upload_file(
        path_or_fileobj=f"---\ntags: [fish]\n---\n# About {word} detection\n".encode(),
        path_in_repo="README.md",
        repo_id=repo_id,
    )
    assert [m.id for m in api.list_models(search=word)] == [repo_id]
    assert [m.id for m in api.list_models(search=f"{word} fish")] == [repo_id]
    assert [m.id for m in api.list_models(search=f"{word} unrelated-term")] == []
