import pytest

from modelcommons.errors import InvalidInputError
from modelcommons.hub.names import split_repo_id, validate_path, validate_ref_name


@pytest.mark.parametrize("path", ["a.txt", "dir/sub/file.bin", ".gitattributes", "a b/c.d"])
def test_valid_paths(path):
    assert validate_path(path) == path


@pytest.mark.parametrize(
    "path",
    ["", "/etc/passwd", "../x", "a/../../b", "a//b", "./a", "a/.", ".git/HEAD", "a\\b", "a\0b"],
)
def test_invalid_paths(path):
    with pytest.raises(InvalidInputError):
        validate_path(path)


def test_repo_ids():
    assert split_repo_id("alice/my-model.v2") == ("alice", "my-model.v2")
    for bad in ("alice", "a/b/c", "api/x", "alice/a--b", "alice/.hidden", "datasets/x"):
        with pytest.raises(InvalidInputError):
            split_repo_id(bad)


@pytest.mark.parametrize("name", ["main", "feature/one", "v1.0"])
def test_valid_ref_names(name):
    assert validate_ref_name(name) == name


@pytest.mark.parametrize("name", ["", "a..b", "-x", "x.lock", "refs/heads/x", "a b", "0" * 40])
def test_invalid_ref_names(name):
    with pytest.raises(InvalidInputError):
        validate_ref_name(name)
