"""The paged index against a plain model of the repo: random commits of adds, replacements and
deletions (files and folders, in big and flat folders), and after each one every way of
reading agrees with the model and with the git trees the commit wrote."""

from __future__ import annotations

import random
import uuid

import pytest
from dulwich.objects import Tree
from sqlalchemy import func, select

from modelcommons.db.engine import get_engine, read_session, write_session
from modelcommons.db.migrate import upgrade
from modelcommons.db.models import Account, Commit, IndexEntry, Repo
from modelcommons.errors import ConflictError, EntryNotFoundError
from modelcommons.hub import commits, files, index, lifecycle
from modelcommons.hub.accounts import Principal
from modelcommons.storage import get_git


@pytest.fixture(scope="module")
def principal() -> Principal:
    upgrade(get_engine())
    with write_session() as session:
        user = Account(kind="user", name="i" + uuid.uuid4().hex[:10])
        session.add(user)
        session.flush()
    return Principal(user=user, token_role="write")


def _repo(principal: Principal) -> Repo:
    return lifecycle.create_repo(
        principal,
        repo_type="dataset",
        repo_id=f"{principal.name}/{uuid.uuid4().hex[:8]}",
        private=False,
    )


def _commit(principal: Principal, repo: Repo, operations: list[commits.Operation]) -> str:
    return commits.create_commit(
        repo.id, branch="main", author=str(principal.name), summary="c", operations=operations
    ).sha


def _git_files(tree_id: str, prefix: str = "") -> dict[str, str]:
    """path → blob id, walking the git trees the commit wrote."""
    tree = get_git().get(tree_id)
    assert isinstance(tree, Tree)
    found: dict[str, str] = {}
    for item in tree.items():
        path = prefix + item.path.decode()
        if item.mode & 0o040000:
            found.update(_git_files(item.sha.decode(), path + "/"))
        else:
            found[path] = item.sha.decode()
    return found


def _check(repo: Repo, sha: str, model: dict[str, bytes]) -> None:
    with read_session() as session:
        listed = {e.path: e for e in files.iter_files(session, repo, sha)}
        assert set(listed) == set(model)
        for path, content in model.items():
            assert listed[path].size == len(content)
        # Pages of 37 along a recursive listing: every entry once, folders before contents.
        seen: list[str] = []
        after = None
        while page := files.list_tree(session, repo, sha, recursive=True, after=after, limit=37):
            seen += [e.path for e in page]
            after = page[-1].path
        assert len(seen) == len(set(seen))
        assert {p for p in seen if p in model} == set(model)
        for path in seen:
            parent = path.rpartition("/")[0]
            assert not parent or seen.index(parent) < seen.index(path)
        sample = random.sample(sorted(model), min(20, len(model)))
        assert [
            e.path for e in files.paths_info(session, repo, sha, [*sample, "nope/x"])
        ] == sorted(sample)
        commit = session.get(Commit, (repo.id, sha))
        assert commit is not None
        git = _git_files(commit.tree_sha)
        assert git == {p: e.oid for p, e in listed.items()}
        assert files.folder_counts(session, repo, sha) == (
            len(model),
            sum(len(c) for c in model.values()),
        )


def test_random_commits_agree_with_a_model(principal):
    rng = random.Random(14)
    repo = _repo(principal)
    model: dict[str, bytes] = {".gitattributes": b""}
    with read_session() as session:
        head = files.get_file(session, repo, _head(session, repo), ".gitattributes")
    model[".gitattributes"] = get_git().blob_data(head.oid)
    folders = ["flat", "a", "a/b", "a/b/c", "z"]
    for step in range(12):
        operations: list[commits.Operation] = []
        written: dict[str, bytes] = {}
        for _ in range(rng.choice([1, 5, 300, 1500])):
            folder = rng.choice(folders)
            path = f"{folder}/f{rng.randrange(3000)}.txt"
            if path in written:
                continue
            content = f"{step}-{rng.random()}".encode()
            written[path] = content
            operations.append(commits.AddFile(path, content))
        existing = [p for p in model if p not in written and p != ".gitattributes"]
        deleted = rng.sample(existing, min(len(existing), rng.choice([0, 1, 50])))
        operations += [commits.Delete(p) for p in deleted]
        if step == 8:  # a whole folder goes, and one is replaced by new contents
            operations = [o for o in operations if not o.path.startswith(("z/", "a/b/"))]
            written = {p: c for p, c in written.items() if not p.startswith(("z/", "a/b/"))}
            deleted = [p for p in deleted if not p.startswith(("z/", "a/b/"))]
            operations += [commits.Delete("z", folder=True), commits.Delete("a/b", folder=True)]
            operations.append(commits.AddFile("a/b/new.txt", b"new"))
            written["a/b/new.txt"] = b"new"
            for path in [p for p in model if p.startswith(("z/", "a/b/"))]:
                del model[path]
        sha = _commit(principal, repo, operations)
        for path in deleted:
            del model[path]
        model.update(written)
        _check(repo, sha, model)


def test_a_one_file_change_writes_one_page_per_folder_above_it(principal):
    repo = _repo(principal)
    _commit(principal, repo, [commits.AddFile(f"flat/{i}.txt", b"%d" % i) for i in range(5000)])
    with read_session() as session:
        before = session.scalar(select(func.count()).select_from(IndexEntry))
    _commit(principal, repo, [commits.AddFile("flat/17.txt", b"changed")])
    with read_session() as session:
        written = session.scalar(select(func.count()).select_from(IndexEntry)) - before
    # One page of the flat folder and the root's page, not 5,000 rows.
    assert 0 < written <= index.PAGE_MAX + 10


def test_last_commit_follows_each_path(principal):
    repo = _repo(principal)
    first = _commit(
        principal, repo, [commits.AddFile("d/a.txt", b"a"), commits.AddFile("d/b.txt", b"b")]
    )
    second = _commit(principal, repo, [commits.AddFile("d/b.txt", b"B")])
    third = _commit(principal, repo, [commits.AddFile("d/b.txt", b"B")])  # the same bytes again
    with read_session() as session:
        info = {e.path: e for e in files.list_tree(session, repo, third, path="d")}
        assert info["d/a.txt"].last_commit_sha == first
        assert info["d/b.txt"].last_commit_sha == second
        assert files.get_entry(session, repo, third, "d").last_commit_sha == second


def test_refused_operations_change_nothing(principal):
    repo = _repo(principal)
    sha = _commit(principal, repo, [commits.AddFile("x/file.txt", b"1")])
    with pytest.raises(ConflictError, match="x/file.txt is a file"):
        _commit(principal, repo, [commits.AddFile("x/file.txt/inner", b"2")])
    with pytest.raises(ConflictError, match="a folder of that name exists"):
        _commit(principal, repo, [commits.AddFile("x", b"2")])
    with pytest.raises(EntryNotFoundError, match="folder with this name doesn't exist: nope/"):
        _commit(principal, repo, [commits.Delete("nope", folder=True)])
    with pytest.raises(EntryNotFoundError, match="file with this name doesn't exist: x/none"):
        _commit(principal, repo, [commits.Delete("x/none")])
    with read_session() as session:
        assert _head(session, repo) == sha


def _head(session, repo: Repo) -> str:
    from modelcommons.hub import refs

    return refs.branch_head(session, repo, "main")
