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


class GitObjects:
    def __init__(self, store: ContentStore) -> None:
        self.store = store

    def add(self, obj: ShaFile) -> str:
        sha = obj.id.decode()
        key = git_key(sha)
        if not self.store.exists(key):
            self.store.put_bytes(key, obj.as_legacy_object())
        return sha

    def get(self, sha: str) -> ShaFile:
        return ShaFile.from_file(io.BytesIO(self.store.get_bytes(git_key(sha))))

    def add_blob(self, data: bytes) -> str:
        return self.add(Blob.from_string(data))

    def add_blobs(self, contents: Sequence[bytes]) -> list[str]:
        """Store many blobs, their ids in order. The store's round trips (two per object on
        S3) are the cost of a commit of many small files, so they run in parallel."""
        blobs = [Blob.from_string(data) for data in contents]
        unique = list({blob.id: blob for blob in blobs}.values())
        with ThreadPoolExecutor(max_workers=PARALLEL_PUTS) as pool:
            list(pool.map(self.add, unique))
        return [blob.id.decode() for blob in blobs]

    def blob_data(self, sha: str) -> bytes:
        obj = self.get(sha)
        assert isinstance(obj, Blob)
        return obj.as_raw_string()

    def write_trees(self, files: dict[str, TreeLeaf]) -> dict[str, str]:
        """Write the trees for a flat path → leaf map. Returns folder path → tree id ("" = root)."""
        children: dict[str, dict[str, tuple[int, str]]] = {"": {}}
        for path, leaf in files.items():
            parts = path.split("/")
            for depth in range(1, len(parts)):
                children.setdefault("/".join(parts[:depth]), {})
            parent = "/".join(parts[:-1])
            children[parent][parts[-1]] = (leaf.mode, leaf.blob_id)
        tree_ids: dict[str, str] = {}
        # Deepest folders first, so each parent sees its children's ids.
        for folder in sorted(children, key=lambda p: p.count("/") + (p != ""), reverse=True):
            tree = Tree()
            for name, (mode, sha) in children[folder].items():
                tree.add(name.encode(), mode, ObjectID(sha.encode()))
            tree_ids[folder] = self.add(tree)
            if folder:
                parent, _, name = folder.rpartition("/")
                children[parent][name] = (stat.S_IFDIR, tree_ids[folder])
        return tree_ids

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
