"""Migration 0009 on a database the previous code wrote (tests/fixtures/schema_0008, made by
tests/fixtures/make_schema_0008.py): a server started on a copy migrates it at start-up and
answers every tree, paths-info, download, history and refs question as that code did, then
takes new commits. On PostgreSQL the same rows migrate to the same index, id for id."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    HfApi,
    constants,
    hf_hub_download,
)
from huggingface_hub.errors import EntryNotFoundError

from modelcommons.db.engine import make_engine
from modelcommons.db.migrate import alembic_config
from modelcommons.db.models import Base
from tests.cluster import free_port, serve
from tests.integration import pg

pytestmark = pytest.mark.large

FIXTURE = Path(__file__).parents[1] / "fixtures" / "schema_0008"
EXPECTED: dict[str, Any] = json.loads((FIXTURE / "expected.json").read_text())
MODEL, DATASET = "fixture/model", "fixture/data"
REPOS = [
    (MODEL, "model", EXPECTED["models"][MODEL]),
    (DATASET, "dataset", EXPECTED["datasets"][DATASET]),
]


def _home(folder: Path) -> Path:
    shutil.copy(FIXTURE / "commons.db", folder / "commons.db")
    shutil.copytree(FIXTURE / "store", folder / "store")
    return folder


def _env(home: Path) -> dict[str, str]:
    """This hub's own settings only: none of the session hub's (database, store, queue)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMONS_")}
    return {**env, "COMMONS_HOME": str(home), "COMMONS_RUN_WORKER": "0"}


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """A hub on a copy of the fixture (it migrates at start-up), and a token of its user."""
    home = _home(tmp_path_factory.mktemp("schema-0008"))
    env = _env(home)
    with serve(free_port(), env, home / "server.log") as url:
        token = subprocess.run(
            [sys.executable, "-m", "modelcommons.cli.main", "token", "create", "fixture"],
            env=env, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        yield url, token


def _entry(e: Any) -> dict[str, Any]:
    """An entry as make_schema_0008.py recorded it."""
    if not hasattr(e, "size"):
        return {"path": e.path, "type": "directory", "oid": e.tree_id}
    lfs = {"sha256": e.lfs.sha256, "size": e.lfs.size} if e.lfs else None
    return {
        "path": e.path, "type": "file", "size": e.size, "oid": e.blob_id,
        "xet_hash": e.xet_hash, "lfs": lfs,
    }  # fmt: skip


@pytest.mark.parametrize(("repo_id", "repo_type", "expected"), REPOS, ids=["model", "dataset"])
def test_every_commit_lists_as_before(migrated, repo_id, repo_type, expected):
    url, token = migrated
    api = HfApi(endpoint=url, token=token)
    for sha, recorded in expected["commits"].items():
        tree = api.list_repo_tree(repo_id, repo_type=repo_type, revision=sha, recursive=True)
        assert [_entry(e) for e in tree] == recorded["tree"], sha
        paths = [e["path"] for e in recorded["tree"]]
        info = api.get_paths_info(repo_id, paths, repo_type=repo_type, revision=sha, expand=True)
        assert {i.path: i.last_commit.oid for i in info} == recorded["last_commit"], sha
    for branch, history in expected["history"].items():
        commits = api.list_repo_commits(repo_id, repo_type=repo_type, revision=branch)
        assert [c.commit_id for c in commits] == history
    refs = api.list_repo_refs(repo_id, repo_type=repo_type)
    assert {b.name: b.target_commit for b in refs.branches} == expected["branches"]
    assert {t.name: t.target_commit for t in refs.tags} == expected["tags"]


def _git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def test_downloads_regular_lfs_and_xet_files(migrated, tmp_path, monkeypatch):
    url, token = migrated
    model = EXPECTED["models"][MODEL]
    main = {e["path"]: e for e in model["commits"][model["branches"]["main"]]["tree"]}

    caches = itertools.count()

    def download(path: str, revision: str = "main") -> bytes:
        """The bytes of one file through the client, from an empty cache each time."""
        cache = tmp_path / f"cache-{next(caches)}"
        got = hf_hub_download(
            MODEL, path, revision=revision, endpoint=url, token=token, cache_dir=cache
        )
        return Path(got).read_bytes()

    assert _git_blob_id(download("a/b/c.txt")) == main["a/b/c.txt"]["oid"]
    for path in ("weights.bin", "xet/blob.bin"):
        assert hashlib.sha256(download(path)).hexdigest() == main[path]["lfs"]["sha256"]
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", False)
    xet = download("xet/blob.bin")
    assert hashlib.sha256(xet).hexdigest() == main["xet/blob.bin"]["lfs"]["sha256"]
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)

    # tmp.txt was deleted in the third commit, old/ in the fifth: gone at main, there before.
    first = model["history"]["main"][-2]
    assert download("tmp.txt", first) == b"temporary\n"
    assert download("old/deep/y.txt", first) == b"y\n"
    for gone in ("tmp.txt", "old/deep/y.txt"):
        with pytest.raises(EntryNotFoundError):
            download(gone)


def test_a_new_commit_on_a_migrated_history(migrated):
    url, token = migrated
    api = HfApi(endpoint=url, token=token)
    model = EXPECTED["models"][MODEL]
    before = model["commits"][model["branches"]["main"]]["last_commit"]
    info = api.create_commit(
        MODEL,
        commit_message="after the migration",
        operations=[
            CommitOperationAdd("a/b/new.txt", b"new\n"),
            CommitOperationDelete("a/top.txt"),
        ],
    )
    tree = {e.path for e in api.list_repo_tree(MODEL, recursive=True)}
    assert "a/b/new.txt" in tree and "a/top.txt" not in tree
    assert tree == (set(before) | {"a/b/new.txt"}) - {"a/top.txt"}
    infos = api.get_paths_info(MODEL, sorted(tree), expand=True)
    last = {i.path: i.last_commit.oid for i in infos}
    for path in ("a/b/new.txt", "a/b", "a"):
        assert last[path] == info.oid
    for path in ("README.md", "weights.bin", "xet/blob.bin", "a/b/c.txt"):
        assert last[path] == before[path]
    history = [c.commit_id for c in api.list_repo_commits(MODEL)]
    assert history == [info.oid, *model["history"]["main"]]


# -- the same rows on PostgreSQL ------------------------------------------------------------


def _alembic(engine: sa.Engine, action: str, revision: str) -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)


def _index(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    """What the migration wrote, in a form that compares across databases."""
    folders = sa.text("SELECT id, repo_id, pages, file_count, total_bytes FROM index_folders")
    entries = sa.text("SELECT * FROM index_entries")
    roots = sa.text("SELECT repo_id, sha, index_root FROM commits")
    with engine.connect() as c:
        return {
            "folders": sorted((*f[:2], _json(f[2]), *f[3:]) for f in c.execute(folders)),
            "entries": sorted(tuple(e) for e in c.execute(entries)),
            "roots": sorted(tuple(r) for r in c.execute(roots)),
        }


def _json(value: Any) -> Any:
    """A JSON column read through text(): a string on SQLite, decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value


def _schema_differences(engine: sa.Engine) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def _copy_rows(source: sa.Engine, target: sa.Engine) -> None:
    """Every table's rows, parents first, as they are (ids included)."""
    tables = sa.MetaData()
    tables.reflect(source)
    into = sa.MetaData()
    into.reflect(target)
    with source.connect() as read, target.begin() as write:
        for table in tables.sorted_tables:
            if table.name != "alembic_version":
                rows = [dict(r._mapping) for r in read.execute(table.select())]
                if rows:
                    write.execute(into.tables[table.name].insert(), rows)


def test_postgresql_migrates_the_same_rows_to_the_same_index(tmp_path):
    (tmp_path / "migrated").mkdir(), (tmp_path / "original").mkdir()
    sqlite_engine = make_engine(f"sqlite:///{_home(tmp_path / 'migrated')}/commons.db")
    original = make_engine(f"sqlite:///{_home(tmp_path / 'original')}/commons.db")
    query = sa.text("SELECT * FROM files ORDER BY repo_id, commit_sha, path")
    with original.connect() as connection:
        rows = connection.execute(query).all()
    original.dispose()
    with pg.temporary_database() as url:
        pg_engine = make_engine(url)
        try:
            _alembic(pg_engine, "upgrade", "0008")
            _copy_rows(sqlite_engine, pg_engine)
            _alembic(pg_engine, "upgrade", "head")
            _alembic(sqlite_engine, "upgrade", "head")
            assert _schema_differences(pg_engine) == []
            assert _schema_differences(sqlite_engine) == []
            on_pg, on_sqlite = _index(pg_engine), _index(sqlite_engine)
            assert on_pg == on_sqlite
            # Ten commits of 85 rows in all: unchanged folders and pages are stored once.
            assert len(on_pg["roots"]) == 10 and len(rows) == 85
            assert len(on_pg["entries"]) < 85 and len(on_pg["folders"]) < 40
            # Down again rebuilds `files` as the old code wrote it, on both.
            _alembic(pg_engine, "downgrade", "0008")
            _alembic(sqlite_engine, "downgrade", "0008")
            with pg_engine.connect() as on_pg_, sqlite_engine.connect() as on_sqlite_:
                assert on_pg_.execute(query).all() == rows == on_sqlite_.execute(query).all()
        finally:
            pg_engine.dispose()
            sqlite_engine.dispose()


# -- wide folders: pages ------------------------------------------------------------------

WIDE_ID = 99


def _wide_repo(engine: sa.Engine, names: dict[str, list[str]]) -> None:
    """A repo whose commits (sha -> file names in its folder `w`) are only rows of `files`:
    enough for the migration, which reads rows, not git objects."""
    tables = sa.MetaData()
    tables.reflect(engine, only=["repos", "commits", "files"])
    repos, commits, files = (tables.tables[n] for n in ("repos", "commits", "files"))
    with engine.begin() as c:
        repo = c.execute(repos.select().where(repos.c.id == 1)).one()._asdict()
        c.execute(repos.insert().values({**repo, "id": WIDE_ID, "name": "wide"}))
        commit = c.execute(commits.select().limit(1)).one()._asdict()
        for sha, listed in names.items():
            c.execute(commits.insert().values({**commit, "repo_id": WIDE_ID, "sha": sha}))
            row = {"repo_id": WIDE_ID, "commit_sha": sha, "lfs_sha256": None, "pointer_size": None}
            folder = {"path": "w", "dir": "", "kind": "directory", "oid": "d" * 40, "size": 0}
            c.execute(files.insert(), [{**row, **folder, "last_commit_sha": sha}])
            c.execute(
                files.insert(),
                [
                    {**row, "path": f"w/{n}", "dir": "w", "kind": "file", "oid": "f" * 40,
                     "size": len(n), "last_commit_sha": "c" * 40}
                    for n in listed
                ],
            )  # fmt: skip


def _folder(c: sa.Connection, folder_id: str) -> tuple[list[Any], int, int]:
    query = sa.text("SELECT pages, file_count, total_bytes FROM index_folders WHERE id = :i")
    pages, count, size = c.execute(query, {"i": folder_id}).one()
    return _json(pages), count, size


def _page(c: sa.Connection, page_id: str) -> list[tuple[str, str | None]]:
    query = sa.text("SELECT name, folder_id FROM index_entries WHERE page_id = :p ORDER BY name")
    return [tuple(r) for r in c.execute(query, {"p": page_id})]


def _wide_pages(c: sa.Connection, sha: str, listed: list[str]) -> list[str]:
    """Check the index of one commit of the wide repo; returns the page ids of `w`."""
    query = sa.text("SELECT index_root FROM commits WHERE repo_id = :r AND sha = :s")
    root_pages, count, size = _folder(c, c.scalar(query, {"r": WIDE_ID, "s": sha}))
    assert (count, size) == (len(listed), sum(map(len, listed)))
    [[first, root_page, entries, _, _]] = root_pages
    [(name, folder_id)] = _page(c, root_page)
    assert first == name == "w" and entries == 1
    pages, count, size = _folder(c, folder_id)
    assert (count, size) == (len(listed), sum(map(len, listed)))
    got = [[name for name, _ in _page(c, page_id)] for _, page_id, _, _, _ in pages]
    assert [name for page in got for name in page] == listed
    assert [(p[0], p[2], p[3]) for p in pages] == [(g[0], len(g), len(g)) for g in got]
    assert all(len(page) <= 512 for page in got)
    assert 3000 // 512 < len(pages) < 3000 // 20  # cut at boundaries (~128), not only at 512
    return [page_id for _, page_id, _, _, _ in pages]


def test_a_wide_folder_is_cut_into_pages_that_later_commits_share(tmp_path):
    engine = make_engine(f"sqlite:///{_home(tmp_path)}/commons.db")
    before = sorted(f"file-{i:05}.txt" for i in range(3000))
    after = sorted([*before, "file-01500-new.txt"])
    _wide_repo(engine, {"1" * 40: before, "2" * 40: after})
    _alembic(engine, "upgrade", "head")
    with engine.connect() as c:
        old, new = _wide_pages(c, "1" * 40, before), _wide_pages(c, "2" * 40, after)
    # One name more rewrites the page it falls in, and no other.
    assert len(new) == len(old) and len(set(new) - set(old)) == 1
    engine.dispose()
