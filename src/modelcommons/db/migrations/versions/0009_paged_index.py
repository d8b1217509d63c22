"""the paged, content-addressed file index replaces the per-commit `files` table

Every commit's rows of `files` become folders (`index_folders`) made of pages of entries
(`index_entries`), each keyed by a sha256 over its repo id and its content, so a folder or
page that several commits share is stored once; `commits.index_root` names each commit's root
folder. The conversion is self-contained (a migration must not import the app, whose code
moves on): the app never recomputes these ids, it only follows them. It goes one commit at a
time, so memory holds one commit's rows whatever the database's size.

`xet_hash` is not carried over: it is `objects.location` of the entry's `lfs_sha256` when that
object's kind is 'xet' (the old code wrote both from the same row). Downgrade rebuilds `files`
from the index (with `xet_hash` joined back from `objects`).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 15:00:00.000000
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# How pages are cut, as hub/index.py cut them when this was written (a copy: the app may
# change its rule later, which must not change what this migration wrote). With the same rule
# and the same ids, a page the app writes later for the same entries is the migrated page.
PAGE_TARGET = 128  # entries per page, on average
PAGE_MAX = 512  # a page is cut here even without a boundary
CHUNK = 500  # ids per IN (...) query, rows per INSERT batch

files = sa.table(
    "files",
    *(sa.column(c) for c in ("repo_id", "commit_sha", "path", "dir", "kind", "oid")),
    *(sa.column(c) for c in ("size", "lfs_sha256", "pointer_size", "xet_hash")),
    sa.column("last_commit_sha"),
)
commits = sa.table(
    "commits", sa.column("repo_id"), sa.column("sha"), sa.column("index_root"),
    sa.column("created_at"),
)  # fmt: skip
repos = sa.table("repos", sa.column("id"))
objects = sa.table("objects", sa.column("sha256"), sa.column("kind"), sa.column("location"))
folders = sa.table(
    "index_folders", sa.column("id"), sa.column("repo_id"), sa.column("pages", sa.JSON),
    sa.column("file_count"), sa.column("total_bytes"), sa.column("created_at"),
)  # fmt: skip
# An entry's columns in the order its page's id hashes them.
COLUMNS = (
    "name", "kind", "oid", "size", "lfs_sha256", "pointer_size", "folder_id", "last_commit_sha",
)  # fmt: skip
entries = sa.table(
    "index_entries", sa.column("page_id"), sa.column("repo_id"), *(sa.column(c) for c in COLUMNS)
)


def upgrade() -> None:
    _create_index_tables()
    with op.batch_alter_table("commits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("index_root", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    for repo_id in connection.scalars(sa.select(repos.c.id).order_by(repos.c.id)).all():
        _convert_repo(connection, repo_id)
    with op.batch_alter_table("commits", schema=None) as batch_op:
        batch_op.alter_column("index_root", existing_type=sa.String(length=64), nullable=False)
    _drop_files()


def _create_index_tables() -> None:
    op.create_table(
        "index_folders",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("pages", sa.JSON(), nullable=False),
        sa.Column("file_count", sa.Integer(), nullable=False),
        sa.Column("total_bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["repo_id"], ["repos.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("index_folders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_index_folders_repo_id"), ["repo_id"], unique=False)
    op.create_table(
        "index_entries",
        sa.Column("page_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=1000), nullable=False),
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=9), nullable=False),
        sa.Column("oid", sa.String(length=40), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("lfs_sha256", sa.String(length=64), nullable=True),
        sa.Column("pointer_size", sa.Integer(), nullable=True),
        sa.Column("folder_id", sa.String(length=64), nullable=True),
        sa.Column("last_commit_sha", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["repo_id"], ["repos.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("page_id", "name"),
    )
    with op.batch_alter_table("index_entries", schema=None) as batch_op:
        batch_op.create_index("ix_index_entries_oid", ["repo_id", "oid"], unique=False)
        batch_op.create_index("ix_index_entries_lfs", ["lfs_sha256", "repo_id"], unique=False)


def _drop_files() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        for name in ("ix_files_dir", "ix_files_oid", "ix_files_xet", "ix_files_lfs"):
            batch_op.drop_index(name)
    op.drop_table("files")


# -- the conversion -------------------------------------------------------------------------


def _digest(repo_id: int, content: Any) -> str:
    """The id of a page or folder: a sha256 over its repo id and its content."""
    text = json.dumps([repo_id, content], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


Item = tuple[tuple[Any, ...], int, int]  # an entry's columns, files and bytes below it


def _pages(items: list[Item]) -> Iterator[list[Item]]:
    """Items in name order, cut after each name that hashes to a boundary (or at PAGE_MAX), so
    adding or removing a name moves the cuts of one page only, not of every page after it."""
    page: list[Item] = []
    for item in items:
        page.append(item)
        digest = hashlib.sha1(item[0][0].encode(), usedforsecurity=False).digest()
        if len(page) >= PAGE_MAX or int.from_bytes(digest[:4], "big") % PAGE_TARGET == 0:
            yield page
            page = []
    if page:
        yield page


def _convert_repo(connection: sa.Connection, repo_id: int) -> None:
    # Oldest first, so a folder or page many commits share is dated by the first of them.
    shas = connection.execute(
        sa.select(commits.c.sha, commits.c.created_at)
        .where(commits.c.repo_id == repo_id)
        .order_by(commits.c.created_at, commits.c.sha)
    ).all()
    for sha, created_at in shas:
        rows = connection.execute(
            sa.select(files).where(files.c.repo_id == repo_id, files.c.commit_sha == sha)
        ).all()
        built_folders, built_pages, root = _build(repo_id, sha, rows, created_at)
        _insert_new(connection, built_folders, built_pages)
        connection.execute(
            sa.update(commits)
            .where(commits.c.repo_id == repo_id, commits.c.sha == sha)
            .values(index_root=root)
        )


def _build(
    repo_id: int, sha: str, rows: Iterable[sa.Row[Any]], created_at: datetime
) -> tuple[dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]], str]:
    """One commit's folders and pages by id, and its root folder's id. Deepest folders first,
    so that each directory entry can name its folder's id and counts."""
    children: dict[str, list[sa.Row[Any]]] = defaultdict(list)
    dirs = {""}
    for row in rows:
        children[row.dir].append(row)
        if row.kind == "directory":
            dirs.add(row.path)
    stray = set(children) - dirs
    if stray:
        raise RuntimeError(
            f"files of repo {repo_id} at commit {sha} sit in folders that have no row of "
            f"their own ({sorted(stray)[:5]}): the index cannot be converted."
        )
    built_folders: dict[str, dict[str, Any]] = {}
    built_pages: dict[str, list[dict[str, Any]]] = {}
    done: dict[str, tuple[str, int, int]] = {}  # folder path -> (id, files, bytes) below it
    for path in sorted(dirs, key=lambda p: p.count("/") + bool(p), reverse=True):
        items = sorted(_item(row, done, sha) for row in children.get(path, ()))
        pages = []
        for page in _pages(items):
            page_id = _digest(repo_id, [entry for entry, _, _ in page])
            built_pages[page_id] = [
                {"page_id": page_id, "repo_id": repo_id, **dict(zip(COLUMNS, entry, strict=True))}
                for entry, _, _ in page
            ]
            count, size = sum(item[1] for item in page), sum(item[2] for item in page)
            pages.append([page[0][0][0], page_id, len(page), count, size])
        folder_id = _digest(repo_id, pages)
        done[path] = (folder_id, sum(p[3] for p in pages), sum(p[4] for p in pages))
        built_folders[folder_id] = {
            "id": folder_id, "repo_id": repo_id, "pages": pages, "file_count": done[path][1],
            "total_bytes": done[path][2], "created_at": created_at,
        }  # fmt: skip
    return built_folders, built_pages, done[""][0]


def _item(row: sa.Row[Any], done: dict[str, tuple[str, int, int]], sha: str) -> Item:
    """An entry's columns (in COLUMNS order, name first) and the files and bytes it holds."""
    name = row.path.rpartition("/")[2]
    last = row.last_commit_sha or sha  # as the old code read a missing one
    if row.kind == "directory":
        folder_id, count, size = done[row.path]
        return (name, row.kind, row.oid, 0, None, None, folder_id, last), count, size
    entry = (name, row.kind, row.oid, row.size, row.lfs_sha256, row.pointer_size, None, last)
    return entry, 1, row.size


def _insert_new(
    connection: sa.Connection,
    built_folders: dict[str, dict[str, Any]],
    built_pages: dict[str, list[dict[str, Any]]],
) -> None:
    """Insert the folders and pages not yet stored (most are, from an earlier commit)."""
    new_folders = _missing(connection, folders.c.id, list(built_folders))
    new_pages = _missing(connection, entries.c.page_id, list(built_pages))
    _insert(connection, folders, [built_folders[i] for i in new_folders])
    _insert(connection, entries, [row for i in new_pages for row in built_pages[i]])


def _missing(connection: sa.Connection, column: sa.ColumnClause[Any], ids: list[str]) -> list[str]:
    known: set[str] = set()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        known.update(connection.scalars(sa.select(column).where(column.in_(chunk)).distinct()))
    return [i for i in ids if i not in known]


def _insert(connection: sa.Connection, table: sa.TableClause, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        connection.execute(table.insert(), rows[start : start + CHUNK])


# -- back to `files` ------------------------------------------------------------------------


def downgrade() -> None:
    """Rebuilds `files` from each commit's index (rows, not ids, are what 0008 reads)."""
    _create_files()
    connection = op.get_bind()
    for repo_id, sha, root in connection.execute(
        sa.select(commits.c.repo_id, commits.c.sha, commits.c.index_root)
    ).all():
        rows = [
            {"repo_id": repo_id, "commit_sha": sha, **row} for row in _walk(connection, root, "")
        ]
        _insert(connection, files, rows)
    with op.batch_alter_table("commits", schema=None) as batch_op:
        batch_op.drop_column("index_root")
    with op.batch_alter_table("index_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_index_entries_lfs")
        batch_op.drop_index("ix_index_entries_oid")
    op.drop_table("index_entries")
    with op.batch_alter_table("index_folders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_index_folders_repo_id"))
    op.drop_table("index_folders")


def _walk(connection: sa.Connection, folder_id: str, prefix: str) -> Iterator[dict[str, Any]]:
    """The rows of `files` for one folder and everything below it, as 0008 wrote them."""
    pages = connection.scalar(sa.select(folders.c.pages).where(folders.c.id == folder_id))
    for _, page_id, *_ in pages or []:
        xet = objects.c.sha256 == entries.c.lfs_sha256, objects.c.kind == "xet"
        listed = connection.execute(
            sa.select(*(entries.c[c] for c in COLUMNS), objects.c.location)
            .select_from(entries.outerjoin(objects, sa.and_(*xet)))
            .where(entries.c.page_id == page_id)
        ).all()
        for entry in listed:
            path = prefix + entry.name
            yield {
                "path": path, "dir": prefix.removesuffix("/"), "kind": entry.kind,
                "oid": entry.oid, "size": entry.size, "lfs_sha256": entry.lfs_sha256,
                "pointer_size": entry.pointer_size, "last_commit_sha": entry.last_commit_sha,
                "xet_hash": entry.location,
            }  # fmt: skip
            if entry.folder_id:
                yield from _walk(connection, entry.folder_id, path + "/")


def _create_files() -> None:
    op.create_table(
        "files",
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("commit_sha", sa.String(length=40), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("dir", sa.String(length=1000), nullable=False),
        sa.Column("kind", sa.String(length=9), nullable=False),
        sa.Column("oid", sa.String(length=40), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("lfs_sha256", sa.String(length=64), nullable=True),
        sa.Column("pointer_size", sa.Integer(), nullable=True),
        sa.Column("last_commit_sha", sa.String(length=40), nullable=True),
        sa.Column("xet_hash", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["repo_id"], ["repos.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("repo_id", "commit_sha", "path"),
    )
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.create_index("ix_files_dir", ["repo_id", "commit_sha", "dir"], unique=False)
        batch_op.create_index("ix_files_oid", ["repo_id", "oid"], unique=False)
        batch_op.create_index("ix_files_xet", ["repo_id", "xet_hash"], unique=False)
        batch_op.create_index("ix_files_lfs", ["lfs_sha256", "repo_id"], unique=False)
