"""Git objects (dulwich) kept in the content store as loose objects, by their git id.

No repository folder is needed: refs live in the database, objects here.
"""

from __future__ import annotations

import io
import stat
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from dulwich.objects import Blob, Commit, ObjectID, ShaFile, Tree

from modelcommons.storage.base import ContentStore, git_key

# Objects written at once by add_blobs: enough to hide S3's latency, few enough for its
# connection pool (storage/s3.py keeps 32).
PARALLEL_PUTS = 16


@dataclass(frozen=True)
class TreeLeaf:
    """A file as the tree builder needs it: git blob id and mode."""

    blob_id: str
    mode: int = stat.S_IFREG | 0o644


# zlib level of loose objects, git's own default (core.looseCompression = 1): a folder of
# 100,000 files is a 2.4 MB tree, rewritten on every change to it.
LOOSE_COMPRESSION = 1


class GitObjects:
    def __init__(self, store: ContentStore) -> None:
        self.store = store

    def add(self, obj: ShaFile) -> str:
        sha = obj.id.decode()
        # An object stored before is touched, not skipped: it may be unreachable garbage this
        # commit is about to reach again, and the touch keeps the collector off it.
        if not self.store.touch(git_key(sha)):
            self.store.put_bytes(git_key(sha), obj.as_legacy_object(LOOSE_COMPRESSION))
        return sha

    def get(self, sha: str) -> ShaFile:
        return ShaFile.from_file(io.BytesIO(self.store.get_bytes(git_key(sha))))

    def add_blob(self, data: bytes) -> str:
        return self.add(Blob.from_string(data))

    def add_blobs(self, contents: Sequence[bytes]) -> list[str]:
        """Store many blobs, their ids in order. The store's round trips (two per object on
        S3) are the cost of a commit of many small files, so they run in parallel; each git
        object lives only while it is written."""
        if not self.store.remote:  # a local disk answers faster than threads hand over
            return [self.add_blob(data) for data in contents]
        with ThreadPoolExecutor(max_workers=PARALLEL_PUTS) as pool:
            return list(pool.map(self.add_blob, contents))

    def blob_data(self, sha: str) -> bytes:
        obj = self.get(sha)
        assert isinstance(obj, Blob)
        return obj.as_raw_string()

    def edit_tree(self, tree_id: str | None, edits: dict[str, TreeLeaf | None]) -> str | None:
        """Write the tree `tree_id` (None: an empty one) with entries set (a leaf; a folder's
        leaf has mode S_IFDIR) or removed (None). None, and nothing written, when no entry is
        left (git has no empty folders; `empty_tree` writes an empty root)."""
        tree = self.get(tree_id) if tree_id else Tree()
        assert isinstance(tree, Tree)
        for name, leaf in edits.items():
            if leaf is None:
                del tree[name.encode()]
            else:
                tree[name.encode()] = (leaf.mode, ObjectID(leaf.blob_id.encode()))
        return self.add(tree) if len(tree) else None

    def empty_tree(self) -> str:
        return self.add(Tree())

    def write_commit(
        self,
        *,
        tree_id: str,
        parents: list[str],
        author: str,
        message: str,
        timestamp: int,
    ) -> str:
        commit = Commit()
        commit.tree = ObjectID(tree_id.encode())
        commit.parents = [ObjectID(p.encode()) for p in parents]
        identity = f"{author} <{author}@users.noreply.modelcommons>".encode()
        commit.author = commit.committer = identity
        commit.author_time = commit.commit_time = timestamp
        commit.author_timezone = commit.commit_timezone = 0
        commit.message = message.encode()
        return self.add(commit)
