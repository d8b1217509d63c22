"""SQLAlchemy models: the database is the source of truth for names, refs and indexes.

Git objects and large-file bytes live in the content store; everything a request needs to
find them (refs, the paged file index, the objects table) lives here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from modelcommons.db.vocabulary import (
    AccountKind,
    EntryKind,
    JobKind,
    JobStatus,
    ObjectKind,
    RepoType,
    Role,
    Scope,
)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON, list[Any]: JSON}


class Account(Base):
    """A user or an organization: they share one namespace of names."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[AccountKind] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(96), unique=True)
    fullname: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Membership(Base):
    __tablename__ = "memberships"
    org_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[Role] = mapped_column(String(8))


class Token(Base):
    """An access token; only its sha256 is kept, the secret is shown once."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("accounts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Scope] = mapped_column(String(8))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)


class Repo(Base):
    __tablename__ = "repos"
    __table_args__ = (UniqueConstraint("type", "namespace", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[RepoType] = mapped_column(String(8))
    namespace: Mapped[str] = mapped_column(String(96))
    name: Mapped[str] = mapped_column(String(96))
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_modified: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    downloads: Mapped[int] = mapped_column(BigInteger, default=0)
    likes: Mapped[int] = mapped_column(BigInteger, default=0)
    # Indexed from the README front matter at commit time (ARCHITECTURE.md principle 5).
    card_data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    card_error: Mapped[str | None] = mapped_column(Text)
    pipeline_tag: Mapped[str | None] = mapped_column(String(100))
    library_name: Mapped[str | None] = mapped_column(String(100))
    license: Mapped[str | None] = mapped_column(String(100))
    base_models: Mapped[list[str] | None] = mapped_column(JSON)
    base_model_relation: Mapped[str | None] = mapped_column(String(32))
    datasets: Mapped[list[str] | None] = mapped_column(JSON)
    # Lowercased words a search matches besides the id: tags and the card's text.
    search_text: Mapped[str | None] = mapped_column(Text)
    # The license verdict along the whole ancestry (licensing.compatibility.Verdict.as_json).
    license_check: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    @property
    def repo_id(self) -> str:
        return f"{self.namespace}/{self.name}"


class RepoTag(Base):
    """One row per tag of a repo (card tags, library, task, license:x, dataset:x, ...)."""

    __tablename__ = "repo_tags"
    repo_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)


class RepoRedirect(Base):
    """An old name of a moved repo; lookups of the old name reach the repo."""

    __tablename__ = "repo_redirects"
    type: Mapped[RepoType] = mapped_column(String(8), primary_key=True)
    old_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    repo_id: Mapped[int] = mapped_column(Integer, ForeignKey("repos.id", ondelete="CASCADE"))


class Ref(Base):
    """A branch (refs/heads/x) or tag (refs/tags/x), moved only by compare-and-swap."""

    __tablename__ = "refs"
    repo_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    target: Mapped[str] = mapped_column(String(40))


class Commit(Base):
    __tablename__ = "commits"
    repo_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True
    )
    sha: Mapped[str] = mapped_column(String(40), primary_key=True)
    parents: Mapped[str] = mapped_column(String(200), default="")  # space-separated shas
    tree_sha: Mapped[str] = mapped_column(String(40))  # root git tree
    index_root: Mapped[str] = mapped_column(String(64))  # root IndexFolder
    author: Mapped[str] = mapped_column(String(96))
    title: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class IndexFolder(Base):
    """One version of one folder of a repo: its entries as pages, in name order.

    The id is a sha256 over the repo id and the pages, so every commit that has this folder
    unchanged shares the row, and a commit writes rows only for the folders it changed.
    `pages` holds, per page, [first name, page id, entries, files below, bytes below].
    """

    __tablename__ = "index_folders"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    repo_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("repos.id", ondelete="CASCADE"), index=True
    )
    pages: Mapped[list[Any]] = mapped_column(JSON)
    file_count: Mapped[int] = mapped_column(Integer)  # files below, recursively
    total_bytes: Mapped[int] = mapped_column(BigInteger)  # their sizes, recursively
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class IndexEntry(Base):
    """One entry (file or folder) of a folder's page: what tree, paths-info and resolve read.

    A page (up to PAGE_MAX entries, cut where content-defined boundaries fall) is keyed by a
    sha256 over the repo id and its entries, so an unchanged page is shared by every folder
    version that holds it; a changed file rewrites one page per folder above it.
    """

    __tablename__ = "index_entries"
    __table_args__ = (
        Index("ix_index_entries_oid", "repo_id", "oid"),  # "does this repo hold this object?"
        Index("ix_index_entries_lfs", "lfs_sha256", "repo_id"),  # "which repos hold it?"
    )
    page_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(1000), primary_key=True)  # no "/" in it
    repo_id: Mapped[int] = mapped_column(Integer, ForeignKey("repos.id", ondelete="CASCADE"))
    kind: Mapped[EntryKind] = mapped_column(String(9))
    oid: Mapped[str] = mapped_column(String(40))  # git blob id (file) or tree id (directory)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    lfs_sha256: Mapped[str | None] = mapped_column(String(64))
    pointer_size: Mapped[int | None] = mapped_column(Integer)
    folder_id: Mapped[str | None] = mapped_column(String(64))  # a directory's IndexFolder
    # The commit that last changed this path (in this repo's history: it is part of the
    # page's id, so pages are shared along one history, not between unrelated ones).
    last_commit_sha: Mapped[str] = mapped_column(String(40))


class StoredObject(Base):
    """A large file's bytes by sha256: where they live and how (one blob, or Xet chunks)."""

    __tablename__ = "objects"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[ObjectKind] = mapped_column(String(8), default="blob")
    location: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ObjectUpload(Base):
    """A user sent an object's bytes through a repo's upload flow: until the grant expires,
    a commit by that user to that repo may name it (ARCHITECTURE.md, objects stay in their
    repos). Bytes already stored are not stored again; only this row is added."""

    __tablename__ = "object_uploads"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    repo_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class XetXorb(Base):
    """A xorb (up to 64 MiB of compressed chunks) in the content store, verified on upload.

    `chunk_table` packs, per chunk, its hash and where it lies (see hub.xet.format), so that
    reconstructions name byte ranges without a row per chunk.
    """

    __tablename__ = "xet_xorbs"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    chunk_count: Mapped[int] = mapped_column(Integer)
    chunk_table: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class XetDedupChunk(Base):
    """Chunks a client may ask global dedup about (a file's first, or hash ≡ 0 mod 1024)."""

    __tablename__ = "xet_dedup_chunks"
    chunk_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    xorb_hash: Mapped[str] = mapped_column(
        String(64), ForeignKey("xet_xorbs.hash", ondelete="CASCADE")
    )


class XetFile(Base):
    """A file as a Xet reconstruction: segments [xorb hash, first chunk, end chunk, bytes]."""

    __tablename__ = "xet_files"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    segments: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class XetFileXorb(Base):
    """Which xorbs a file uses: lets one dedup hit announce a whole earlier upload."""

    __tablename__ = "xet_file_xorbs"
    file_hash: Mapped[str] = mapped_column(
        String(64), ForeignKey("xet_files.hash", ondelete="CASCADE"), primary_key=True
    )
    xorb_hash: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class Scan(Base):
    """A pickle scan verdict, keyed by content (sha256 for LFS files, git blob id otherwise)."""

    __tablename__ = "scans"
    content_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(8), default="pending")  # pending|safe|unsafe
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    scanned_at: Mapped[datetime | None] = mapped_column(DateTime)


class Job(Base):
    """Background work; this row, not the queue, is the source of truth."""

    __tablename__ = "jobs"
    # "which jobs are queued (to sweep) or running (to reap)?"
    __table_args__ = (Index("ix_jobs_status", "status", "dispatched_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[JobKind] = mapped_column(String(32))
    args: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Who queued it (None for the hub's own work, such as scans); jobs act as this user.
    owner_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[JobStatus] = mapped_column(String(10), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    log: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    # When a process last handed it to the queue while queued (None: not since it was queued),
    # so the workers' sweep hands over only the jobs nobody did.
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Like(Base):
    """A user likes a repo; Repo.likes counts these rows."""

    __tablename__ = "likes"
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    repo_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class WebSession(Base):
    """A browser's login. Only the cookie's sha256 is kept, so a leaked table logs no one in;
    kept in the database so that any server process can answer any request."""

    __tablename__ = "web_sessions"
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class Invite(Base):
    """A one-time sign-up code for invite-only hubs; only its sha256 is kept."""

    __tablename__ = "invites"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_by: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("accounts.id", ondelete="SET NULL")
    )
    used_by: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("accounts.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class LineageEdge(Base):
    """One link of the lineage graph, from a card: a model's base model, or data it was
    trained on. Edges point at repo ids, so renames keep the graph; a parent not on this hub
    keeps only its name (parent_id NULL) until a repo of that name appears."""

    __tablename__ = "lineage_edges"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    child_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("repos.id", ondelete="CASCADE"), index=True
    )
    # "finetune" | "adapter" | "quantized" | "merge" | "base" (relation unstated) | "dataset"
    kind: Mapped[str] = mapped_column(String(16))
    parent_type: Mapped[RepoType] = mapped_column(String(8))
    parent_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("repos.id", ondelete="SET NULL"), index=True
    )
    parent_name: Mapped[str] = mapped_column(String(200))  # as the card wrote it


class Evaluation(Base):
    """A metric of a model on a dataset: self-reported (the card's model-index) or verified
    (measured by the hub's own worker, at the recorded commits of both)."""

    __tablename__ = "evaluations"
    __table_args__ = (Index("ix_evaluations_board", "task", "dataset_name", "metric"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("repos.id", ondelete="CASCADE"), index=True
    )
    dataset_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("repos.id", ondelete="SET NULL"), index=True
    )
    dataset_name: Mapped[str] = mapped_column(String(200))
    task: Mapped[str] = mapped_column(String(100))
    metric: Mapped[str] = mapped_column(String(100))
    value: Mapped[float] = mapped_column(Float)
    split: Mapped[str | None] = mapped_column(String(50))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    model_commit: Mapped[str | None] = mapped_column(String(40))
    dataset_commit: Mapped[str | None] = mapped_column(String(40))
    job_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RateCounter(Base):
    """Attempts counted per key (say, failed logins for one name) in a fixed window; in the
    database so that every server process counts the same attempts."""

    __tablename__ = "rate_counters"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime)
    count: Mapped[int] = mapped_column(Integer, default=0)
