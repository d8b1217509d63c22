"""The paged file index: how a commit's files are kept so that a commit costs what it changes.

A commit names its root folder (`Commit.index_root`). A folder (`IndexFolder`) lists its
entries in pages of `IndexEntry` rows, in name order; a sub-folder's entry names the folder
below. Ids are sha256s over the repo id and the content, so a commit writes rows only for the
pages it changed and the folders above them, and shares every other page and folder with its
parent. A page is cut after an entry whose name hashes to a boundary (about every PAGE_TARGET
entries, at most PAGE_MAX), so adding or removing a name moves no other page's boundaries: a
one-file change in a flat folder of 100,000 files rewrites one page and the folder's page
list, not 100,000 rows.

Each entry keeps the commit that last changed its path (`lastCommit`). It is part of the
page's id, so pages are shared along one history, never between unrelated ones.

The git trees are written alongside, folder by folder, from the parent's trees: git itself
rewrites a changed folder's whole tree, and so do we (its cost is the folder's, not the repo's).
"""

from __future__ import annotations

import hashlib
import json
import stat
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from threading import Lock
from typing import Any, NamedTuple

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from modelcommons.db.engine import in_batches
from modelcommons.db.models import Commit, IndexEntry, IndexFolder
from modelcommons.db.vocabulary import EntryKind
from modelcommons.errors import ConflictError, EntryNotFoundError
from modelcommons.storage.git import GitObjects, TreeLeaf

PAGE_TARGET = 128  # entries per page, on average
PAGE_MAX = 512  # a page is cut here even without a boundary
LOAD_BATCH = 512  # entries read per query when walking a folder
FILE_MODE, FOLDER_MODE = stat.S_IFREG | 0o644, stat.S_IFDIR


class Row(NamedTuple):
    """One entry of a page, as stored."""

    name: str
    kind: EntryKind
    oid: str
    size: int
    lfs_sha256: str | None
    pointer_size: int | None
    folder_id: str | None
    last_commit_sha: str


_COLUMNS = [getattr(IndexEntry, name) for name in Row._fields]


class PageRef(NamedTuple):
    """A page as its folder lists it: where it starts, its id, and what it holds."""

    first: str
    page_id: str
    entries: int
    files: int
    bytes: int


@dataclass(frozen=True)
class Folder:
    id: str
    pages: list[PageRef]
    file_count: int
    total_bytes: int

    @cached_property
    def firsts(self) -> list[str]:
        """Each page's first name, for bisecting (kept: folders are looked up per request)."""
        return [page.first for page in self.pages]


class _FolderCache:
    """Folders by id. A folder never changes (its id is its content), so any process may keep
    one as long as it likes; access checks happen before anything is looked up here. Bounded
    by the pages it lists (a flat folder of 100,000 files lists about 800)."""

    def __init__(self, max_pages: int = 200_000) -> None:
        self.max_pages = max_pages
        self.pages = 0
        self.folders: OrderedDict[str, Folder] = OrderedDict()
        self.lock = Lock()

    def get(self, folder_id: str) -> Folder | None:
        with self.lock:
            folder = self.folders.get(folder_id)
            if folder is not None:
                self.folders.move_to_end(folder_id)
            return folder

    def put(self, folder: Folder) -> None:
        with self.lock:
            if folder.id in self.folders:
                return
            self.folders[folder.id] = folder
            self.pages += len(folder.pages) + 1
            while self.pages > self.max_pages and len(self.folders) > 1:
                _, evicted = self.folders.popitem(last=False)
                self.pages -= len(evicted.pages) + 1


_cache = _FolderCache()


def get_folder(session: Session, folder_id: str) -> Folder:
    folder = _cache.get(folder_id)
    if folder is None:
        row = session.get(IndexFolder, folder_id)
        if row is None:
            raise EntryNotFoundError(f"Index folder {folder_id} is missing.")
        folder = Folder(row.id, [PageRef(*p) for p in row.pages], row.file_count, row.total_bytes)
        _cache.put(folder)
    return folder


def root_of(session: Session, repo_id: int, sha: str) -> str:
    root = session.scalar(
        select(Commit.index_root).where(Commit.repo_id == repo_id, Commit.sha == sha)
    )
    if root is None:
        raise EntryNotFoundError(f"No commit {sha} in this repository.", commit=sha)
    return root


# ---------------------------------------------------------------------------------------
# Reading


def page_rows(
    session: Session, page_ids: list[str], *, names: list[str] | None = None
) -> list[Row]:
    """The rows of some pages of one folder, in name order (pages hold disjoint name ranges).

    Sorted here, not by ORDER BY: pages are cut in code-point order, and a database's
    collation (en_US on most PostgreSQL installs) orders '_x', 'a', 'B' otherwise, which made
    a listing resumed after a name skip some names and repeat others."""
    if not page_ids:
        return []
    stmt = select(*_COLUMNS).where(IndexEntry.page_id.in_(page_ids))
    if names is not None:
        stmt = stmt.where(IndexEntry.name.in_(names))
    return sorted((Row(*r) for r in session.execute(stmt)), key=lambda row: row.name)


def folder_rows(session: Session, folder: Folder, *, start: str | None = None) -> Iterator[Row]:
    """A folder's entries in name order, from the first named `start` or after it, read a
    few pages at a time: a listing of one page reads about one page."""
    pages = folder.pages
    index = max(bisect_right(folder.firsts, start) - 1, 0) if start is not None else 0
    while index < len(pages):
        end, count = index, 0
        while end < len(pages) and (end == index or count + pages[end].entries <= LOAD_BATCH):
            count += pages[end].entries
            end += 1
        for row in page_rows(session, [p.page_id for p in pages[index:end]]):
            if start is None or row.name >= start:
                yield row
        index = end


def find(session: Session, root: str, path: str) -> Row | None:
    """The entry at `path` (no leading or trailing slash) below the root folder, or None."""
    if not storable(path):
        return None
    folder_id: str | None = root
    parts = path.split("/")
    row: Row | None = None
    for depth, name in enumerate(parts):
        if folder_id is None:
            return None
        row = _find_in(session, get_folder(session, folder_id), name)
        if row is None or (depth < len(parts) - 1 and row.kind != "directory"):
            return None
        folder_id = row.folder_id
    return row


def storable(path: str) -> bool:
    """Whether a path could name an entry at all: no commit stores a NUL (names.validate_path
    refuses it), and PostgreSQL refuses to even compare text holding one."""
    return "\x00" not in path


def _find_in(session: Session, folder: Folder, name: str) -> Row | None:
    index = bisect_right(folder.firsts, name) - 1
    if index < 0:
        return None
    rows = page_rows(session, [folder.pages[index].page_id], names=[name])
    return rows[0] if rows else None


def find_many(session: Session, root: str, paths: Iterable[str]) -> dict[str, Row]:
    """Entries for many paths at once: each folder is walked to once, each page read once."""
    by_folder: dict[str, list[str]] = {}
    for path in filter(storable, paths):
        holder_path, _, name = path.rpartition("/")
        by_folder.setdefault(holder_path, []).append(name)
    found: dict[str, Row] = {}
    for folder_path, names in by_folder.items():
        if folder_path:
            holder = find(session, root, folder_path)
            if holder is None or holder.folder_id is None:
                continue
            folder = get_folder(session, holder.folder_id)
        else:
            folder = get_folder(session, root)
        firsts = folder.firsts
        by_page: dict[int, list[str]] = {}
        for name in names:
            index = bisect_right(firsts, name) - 1
            if index >= 0:
                by_page.setdefault(index, []).append(name)
        prefix = folder_path + "/" if folder_path else ""
        for index, wanted in by_page.items():
            for chunk in in_batches(wanted):
                for row in page_rows(session, [folder.pages[index].page_id], names=chunk):
                    found[prefix + row.name] = row
    return found


def walk(
    session: Session,
    folder_id: str,
    prefix: str,
    *,
    recursive: bool,
    after: list[str] | None = None,
) -> Iterator[tuple[str, Row]]:
    """(path, entry) below a folder: each folder's entries in name order, a sub-folder's
    contents right after it when recursive. `after` (a path split in parts, relative to
    `prefix`) resumes right after that entry."""
    first = after[0] if after else None
    for row in folder_rows(session, get_folder(session, folder_id), start=first):
        path = prefix + row.name
        if after is not None and row.name == first:  # the previous page's last entry, or above
            if recursive and row.kind == "directory" and row.folder_id is not None:
                yield from walk(
                    session, row.folder_id, path + "/", recursive=True, after=after[1:] or None
                )
            continue
        yield path, row
        if recursive and row.kind == "directory" and row.folder_id is not None:
            yield from walk(session, row.folder_id, path + "/", recursive=True)


def diff(
    session: Session, before: str | None, after: str | None, prefix: str = ""
) -> Iterator[tuple[str, Row | None, Row | None]]:
    """(path, old, new) for every file that differs between two folders, reading only the
    pages and folders whose ids differ."""
    if before == after:
        return
    old = _differing_rows(session, before, after)
    new = _differing_rows(session, after, before)
    for name in sorted(old.keys() | new.keys()):
        a, b = old.get(name), new.get(name)
        if a == b:
            continue
        path = prefix + name
        a_file = a if a is not None and a.kind == "file" else None
        b_file = b if b is not None and b.kind == "file" else None
        if a_file != b_file and (a_file is None or b_file is None or a_file.oid != b_file.oid):
            yield path, a_file, b_file
        a_dir = a.folder_id if a is not None and a.kind == "directory" else None
        b_dir = b.folder_id if b is not None and b.kind == "directory" else None
        if a_dir != b_dir:
            yield from diff(session, a_dir, b_dir, path + "/")


def _differing_rows(
    session: Session, folder_id: str | None, other_id: str | None
) -> dict[str, Row]:
    """The rows of `folder_id`'s pages that `other_id` does not share."""
    if folder_id is None:
        return {}
    folder = get_folder(session, folder_id)
    shared = {p.page_id for p in get_folder(session, other_id).pages} if other_id else set()
    pages = [p.page_id for p in folder.pages if p.page_id not in shared]
    rows: dict[str, Row] = {}
    for start in range(0, len(pages), 100):
        rows.update((r.name, r) for r in page_rows(session, pages[start : start + 100]))
    return rows


# ---------------------------------------------------------------------------------------
# Writing


class Delete(NamedTuple):
    folder: bool


DELETE_FILE, DELETE_FOLDER = Delete(False), Delete(True)


@dataclass(frozen=True)
class NewFile:
    """A file a commit adds or replaces: its git blob and what its entry records."""

    blob_id: str
    size: int
    lfs_sha256: str | None = None
    pointer_size: int | None = None
    # The same commit deleted what stood at this path first (so a folder may become a file).
    replaces: Delete | None = None


Change = NewFile | Delete


# In a plan, the key under which a folder's changes say that what stood at its name is
# removed first ("delete folder a/, then add a/x" replaces the folder): no path part is "".
REPLACED = ""


def plan(changes: dict[str, Change]) -> dict[str, Any]:
    """Changes by path, in the order the commit lists them → a nested map: folder name → its
    changes, leaf name → its change. Later operations on a path win, as if applied in turn."""
    root: dict[str, Any] = {}
    for path, change in changes.items():
        *folders, name = path.split("/")
        node = root
        for folder in folders:
            child = node.setdefault(folder, {})
            if isinstance(child, NewFile):
                raise ConflictError(f"Cannot add file {path}: {folder} is a file.")
            if isinstance(child, Delete):  # deleted, then written into: replaced
                child = node[folder] = {REPLACED: child}
            node = child
        if isinstance(node.get(name), dict) and change != DELETE_FOLDER:
            if change == DELETE_FILE:
                raise EntryNotFoundError(f"A file with this name doesn't exist: {path}")
            raise ConflictError(f"Cannot add file {path}: a folder of that name exists.")
        node[name] = change
    return root


@dataclass
class _Pending:
    """A folder as the new commit has it, before its rows get ids (which need the commit's
    id, recorded as each changed entry's last commit)."""

    tree_id: str
    unchanged: str | None = None  # the folder id, when nothing in it changed
    pages: list[PageRef | list[_NewRow]] = field(default_factory=list)


@dataclass
class _NewRow:
    row: Row  # last_commit_sha "" until the commit is known, for changed entries
    child: _Pending | None = None


@dataclass
class Built:
    """What `build` made: the new root tree, and the rows to record once the commit exists."""

    tree_id: str
    root: _Pending


def build(
    session: Session,
    git: GitObjects,
    *,
    root: str | None,
    tree_id: str | None,
    changes: dict[str, Any],
) -> Built:
    """Apply a `plan` to the folder `root` (None: an empty repo) and write the git trees."""
    pending = _Builder(session, git).update("", root, tree_id, changes)
    assert pending is not None
    return Built(pending.tree_id, pending)


class _Builder:
    def __init__(self, session: Session, git: GitObjects) -> None:
        self.session, self.git = session, git

    def update(
        self, path: str, folder_id: str | None, tree_id: str | None, changes: dict[str, Any]
    ) -> _Pending | None:
        """The folder at `path` with `changes` applied; None when it ends up empty."""
        folder = get_folder(self.session, folder_id) if folder_id else None
        pages = folder.pages if folder else []
        firsts = folder.firsts if folder else []
        # Which page each changed name falls in, and those pages' rows.
        touched: dict[int, dict[str, Row]] = {}
        home: dict[str, int] = {}
        for name in changes:
            home[name] = max(bisect_right(firsts, name) - 1, 0)
            touched.setdefault(home[name], {})
        loaded = page_rows(self.session, [pages[i].page_id for i in touched if i < len(pages)])
        for row in loaded:
            touched[max(bisect_right(firsts, row.name) - 1, 0)][row.name] = row
        changed = False
        new_rows: dict[str, _NewRow | None] = {}
        edits: dict[str, TreeLeaf | None] = {}
        for name in sorted(changes):
            where = f"{path}/{name}" if path else name
            before = touched[home[name]].get(name)
            result = self._apply(where, before, changes[name])
            if result is not None and before is not None and result.child is None:
                if result.row == before:
                    continue  # the same file again: its entry (and last commit) stays
            if result is not None and result.child is not None and result.child.unchanged:
                continue
            changed = True
            new_rows[name] = result
            if result is None:
                edits[name] = None
            else:
                mode = FOLDER_MODE if result.row.kind == "directory" else FILE_MODE
                edits[name] = TreeLeaf(result.row.oid, mode)
        if not changed:
            assert folder_id is not None and tree_id is not None
            return _Pending(tree_id, unchanged=folder_id)
        new_tree_id = self.git.edit_tree(tree_id, edits)
        if new_tree_id is None:
            if path:
                return None  # git has no empty folders
            new_tree_id = self.git.empty_tree()
        return _Pending(new_tree_id, pages=self._repage(pages, touched, home, new_rows))

    def _apply(self, where: str, before: Row | None, change: Any) -> _NewRow | None:
        if isinstance(change, NewFile):
            if change.replaces is not None:
                self._require_kind(where, before, change.replaces)
            elif before is not None and before.kind == "directory":
                raise ConflictError(f"Cannot add file {where}: a folder of that name exists.")
            if before is not None and before.oid == change.blob_id:
                return _NewRow(before)
            row = Row(
                where.rpartition("/")[2],
                "file",
                change.blob_id,
                change.size,
                change.lfs_sha256,
                change.pointer_size,
                None,
                "",
            )
            return _NewRow(row)
        if isinstance(change, Delete):
            self._require_kind(where, before, change)
            return None
        # A sub-folder with changes below it.
        replaced = change.get(REPLACED)
        if replaced is not None:
            self._require_kind(where, before, replaced)
            change = {key: sub for key, sub in change.items() if key != REPLACED}
            before = None  # the new folder starts empty
            if not change:
                return None
        if before is not None and before.kind == "file":
            added = _first_added(change, where)
            if added is not None:
                raise ConflictError(f"Cannot add file {added}: {where} is a file.")
            raise EntryNotFoundError(
                f"A file with this name doesn't exist: {_first_path(change, where)}"
            )
        child = self.update(
            where,
            before.folder_id if before else None,
            before.oid if before else None,
            change,
        )
        if child is None:
            if before is None:
                raise EntryNotFoundError(
                    f"A file with this name doesn't exist: {_first_path(change, where)}"
                )
            return None
        if child.unchanged:
            assert before is not None
            return _NewRow(before, child)
        name = where.rpartition("/")[2]
        return _NewRow(Row(name, "directory", child.tree_id, 0, None, None, None, ""), child)

    @staticmethod
    def _require_kind(where: str, before: Row | None, deleted: Delete) -> None:
        """A deletion names a file (or, for a folder, a folder) that exists."""
        if before is None or before.kind != ("directory" if deleted.folder else "file"):
            what, suffix = ("folder", "/") if deleted.folder else ("file", "")
            raise EntryNotFoundError(f"A {what} with this name doesn't exist: {where}{suffix}")

    def _repage(
        self,
        pages: list[PageRef],
        touched: dict[int, dict[str, Row]],
        home: dict[str, int],
        new_rows: dict[str, _NewRow | None],
    ) -> list[PageRef | list[_NewRow]]:
        """The folder's pages: untouched ones as they were, each run of touched ones cut anew."""
        for name in new_rows:
            touched[home[name]].pop(name, None)
        kept: dict[int, dict[str, _NewRow]] = {
            i: {name: _NewRow(row) for name, row in rows.items()} for i, rows in touched.items()
        }
        for name, new in new_rows.items():
            if new is not None:
                kept[home[name]][name] = new
        result: list[PageRef | list[_NewRow]] = []
        run: list[_NewRow] = []
        for index in range(max(len(pages), 1)):
            if index in kept:
                run.extend(kept[index][name] for name in sorted(kept[index]))
                continue
            result.extend(_cut(run))
            run = []
            result.append(pages[index])
        result.extend(_cut(run))
        return result


def _first_added(change: dict[str, Any], where: str) -> str | None:
    for name, sub in sorted(change.items()):
        if isinstance(sub, NewFile):
            return f"{where}/{name}"
        if isinstance(sub, dict) and (found := _first_added(sub, f"{where}/{name}")):
            return found
    return None


def _first_path(change: dict[str, Any], where: str) -> str:
    name, sub = min(change.items())
    return _first_path(sub, f"{where}/{name}") if isinstance(sub, dict) else f"{where}/{name}"


def _boundary(name: str) -> bool:
    digest = hashlib.sha1(name.encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:4], "big") % PAGE_TARGET == 0


def _cut(rows: list[_NewRow]) -> list[list[_NewRow]]:
    """Rows in name order → pages, each ending at a boundary name or at PAGE_MAX rows."""
    pages: list[list[_NewRow]] = []
    page: list[_NewRow] = []
    for new in rows:
        page.append(new)
        if len(page) >= PAGE_MAX or _boundary(new.row.name):
            pages.append(page)
            page = []
    if page:
        pages.append(page)
    return pages


class _Recorder:
    """Gives the pending folders their ids and collects the rows not stored yet."""

    def __init__(self, session: Session, repo_id: int, sha: str) -> None:
        self.session, self.repo_id, self.sha = session, repo_id, sha
        self.entries: dict[str, list[dict[str, Any]]] = {}
        self.folders: dict[str, dict[str, Any]] = {}

    def folder(self, pending: _Pending) -> tuple[str, int, int]:
        """The folder's id, file count and bytes."""
        if pending.unchanged:
            folder = get_folder(self.session, pending.unchanged)
            return folder.id, folder.file_count, folder.total_bytes
        refs = [p if isinstance(p, PageRef) else self._page(p) for p in pending.pages]
        listing = [list(p) for p in refs]
        folder_id = _digest(self.repo_id, listing)
        files, size = sum(p.files for p in refs), sum(p.bytes for p in refs)
        self.folders[folder_id] = {
            "id": folder_id,
            "repo_id": self.repo_id,
            "pages": listing,
            "file_count": files,
            "total_bytes": size,
        }
        return folder_id, files, size

    def _page(self, rows: list[_NewRow]) -> PageRef:
        final: list[Row] = []
        files = size = 0
        for new in rows:
            row = new.row
            if new.child is not None and not new.child.unchanged:
                folder_id, child_files, child_bytes = self.folder(new.child)
                row = row._replace(folder_id=folder_id)
            elif row.kind == "directory":
                assert row.folder_id is not None
                folder = get_folder(self.session, row.folder_id)
                child_files, child_bytes = folder.file_count, folder.total_bytes
            else:
                child_files, child_bytes = 1, row.size
            if not row.last_commit_sha:
                row = row._replace(last_commit_sha=self.sha)
            final.append(row)
            files, size = files + child_files, size + child_bytes
        page_id = _digest(self.repo_id, [list(r) for r in final])
        self.entries[page_id] = [
            {**r._asdict(), "page_id": page_id, "repo_id": self.repo_id} for r in final
        ]
        return PageRef(final[0].name, page_id, len(final), files, size)

    def store(self) -> None:
        """Insert what is new (a page or folder seen before, say after a revert, is shared)."""
        self._insert(IndexFolder, IndexFolder.id, self.folders)
        self._insert(IndexEntry, IndexEntry.page_id, self.entries, many=True)

    def _insert(self, model: Any, key: Any, rows: dict[str, Any], *, many: bool = False) -> None:
        ids = list(rows)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for known in self.session.scalars(select(key).where(key.in_(chunk)).distinct()):
                rows.pop(known, None)
        values = [r for group in rows.values() for r in group] if many else list(rows.values())
        for start in range(0, len(values), 2000):
            self.session.execute(
                _insert_ignoring_duplicates(self.session, model), values[start : start + 2000]
            )


def _insert_ignoring_duplicates(session: Session, model: Any) -> Any:
    """A concurrent commit may have stored the same page a moment ago: ids are contents."""
    table = model.__table__  # a Core insert: one executemany, not the ORM's batches
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    return insert(table)


def record(session: Session, repo_id: int, built: Built, sha: str) -> str:
    """Store the new rows of a built commit `sha`; returns its root folder id."""
    recorder = _Recorder(session, repo_id, sha)
    root, _, _ = recorder.folder(built.root)
    recorder.store()
    return root


def _digest(repo_id: int, content: list[Any]) -> str:
    payload = json.dumps([repo_id, content], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()
